#pragma once
// The audit module owns the per-message pipeline shared by the live consumer
// and the batch scan: extract the name, classify it (cached per name), count.
// It knows neither Kafka nor HTTP.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "audit/registry_holder.h"
#include "classify/classifier.h"
#include "config/config.h"
#include "extract/extractor.h"
#include "metrics/audit_metrics.h"
#include "util/string_table.h"

namespace model_auditor::audit {

/// Runs extract -> classify -> count for one stream of messages. Holds a
/// verdict cache and a JSON parser, so it is NOT thread-safe: one per consumer
/// thread. Everything it writes into AuditMetrics is safe to scrape concurrently.
class Auditor {
 public:
  /// Per-topic context, resolved once per topic.
  struct TopicContext {
    metrics::TopicStats* stats = nullptr;
    const config::ExtractionRule* rule = nullptr;
  };

  Auditor(const config::Config& config, metrics::AuditMetrics& metrics, RegistryHolder& registry);

  TopicContext& Topic(std::string_view topic);

  /// Picks up a new registry snapshot if one was published (clears the verdict
  /// cache). Returns false while no snapshot has ever been loaded.
  bool RefreshRegistry();

  /// Processes one message; returns its verdict. Precondition: RefreshRegistry()
  /// returned true. `header(name)` returns optional<string_view>.
  template <typename HeaderFn>
  classify::Verdict Process(TopicContext& topic, HeaderFn&& header, std::string_view value,
                            bool has_value, std::int64_t msg_ms, std::int64_t wall_ms);

  /// Classification only (cached), for tests and the scan summary.
  classify::Classification ClassifyName(std::string_view name) { return Lookup(name).c; }
  std::size_t cache_size() const { return cache_.size(); }
  /// Why the last message that Process() found malformed was malformed (the
  /// batch scan lists bad lines with their reason).
  extract::Malformed last_malformed() const { return last_malformed_; }
  const classify::NameIndex* index() const { return index_.get(); }

 private:
  struct Entry {
    classify::Classification c;
    metrics::ModelStats* model = nullptr;  // verdicts naming a registry entry
    metrics::NameStats* name = nullptr;    // unregistered verdicts with a series
    std::string suggestion;
    std::string family;
    std::uint64_t family_hash = 0;
  };
  const Entry& Lookup(std::string_view name);
  Entry Build(std::string_view name);
  void Count(TopicContext& topic, const Entry& e, std::string_view name, std::int64_t msg_ms,
             std::int64_t wall_ms);

  const config::Config& config_;
  metrics::AuditMetrics& metrics_;
  RegistryHolder& registry_;
  std::shared_ptr<const classify::NameIndex> index_;
  std::uint64_t generation_ = 0;
  extract::Extractor extractor_;
  util::StringTable<Entry> cache_;  // references stay valid until it is cleared
  std::uint64_t cache_clears_ = 0;
  std::unordered_map<std::string, TopicContext> topics_;
  extract::Malformed last_malformed_ = extract::Malformed::kNone;
};

template <typename HeaderFn>
classify::Verdict Auditor::Process(TopicContext& topic, HeaderFn&& header, std::string_view value,
                                   bool has_value, std::int64_t msg_ms, std::int64_t wall_ms) {
  using classify::Verdict;
  metrics::TopicStats& ts = *topic.stats;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  if (msg_ms > ts.last_message_ms.load(kRelaxed)) ts.last_message_ms.store(msg_ms, kRelaxed);
  const extract::Extraction x =
      extractor_.Extract(*topic.rule, std::forward<HeaderFn>(header), value, has_value);
  if (x.outcome == extract::Extraction::Outcome::kMalformed) {
    metrics::AddSingleWriter(ts.verdicts[static_cast<std::size_t>(Verdict::kMalformed)]);
    metrics::AddSingleWriter(ts.malformed[static_cast<std::size_t>(x.reason)]);
    last_malformed_ = x.reason;
    return Verdict::kMalformed;
  }
  if (x.outcome == extract::Extraction::Outcome::kMissing) {
    metrics::AddSingleWriter(ts.verdicts[static_cast<std::size_t>(Verdict::kMissing)]);
    return Verdict::kMissing;
  }
  const Entry& e = Lookup(x.name);
  const Verdict v = e.c.verdict;
  if (!x.other.empty()) {
    // Compare after resolving aliases, variants and typos: the same registry
    // model, or (both unresolved) the same family, is no conflict.
    const std::int32_t model = e.c.model;
    const std::uint64_t family = e.family_hash;
    const std::uint64_t clears = cache_clears_;
    const Entry& o = Lookup(x.other);  // may clear the cache (when full)
    const bool same = (model >= 0 || o.c.model >= 0) ? model == o.c.model : family == o.family_hash;
    if (!same) metrics::AddSingleWriter(ts.conflicts);
    Count(topic, clears == cache_clears_ ? e : Lookup(x.name), x.name, msg_ms, wall_ms);
    return v;
  }
  Count(topic, e, x.name, msg_ms, wall_ms);
  return v;
}

}  // namespace model_auditor::audit
