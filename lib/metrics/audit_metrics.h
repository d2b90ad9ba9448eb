#pragma once
// The metrics module owns every number the auditor exports. The data plane
// bumps plain relaxed atomics in stable, pre-resolved structs (TopicStats,
// ModelStats, NameStats); the scrape path reads them in Collect(). Structure
// changes (a new topic, model or name) take a mutex, which happens once per
// distinct key, never per message. Series that must disappear (names past the
// alert window, partitions no longer assigned) are simply not emitted, so
// nothing stale is left behind.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "classify/verdict.h"
#include "extract/extractor.h"
#include "registry/registry.h"

namespace model_auditor::metrics {

/// Adds `n` to a counter that only one thread writes (the consumer's; scrapes
/// only read): a relaxed load and store instead of a locked read-modify-write,
/// which is ~3x cheaper on the hot path. Readers still see whole values.
inline void AddSingleWriter(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

/// Counters of one topic. Written by one consumer thread, read by scrapes.
struct TopicStats {
  std::string name;
  std::uint32_t index = 0;  // position in the topic table (bit in NameStats::topic_mask)
  std::array<std::atomic<std::uint64_t>, classify::kVerdictCount> verdicts{};
  std::array<std::atomic<std::uint64_t>, extract::kMalformedCount> malformed{};
  std::atomic<std::uint64_t> conflicts{0};
  std::atomic<std::int64_t> last_message_ms{0};
};

/// Requests naming one registry entry exactly, per (canonical name, status).
/// Written by one consumer thread, read by scrapes.
struct ModelStats {
  std::string model;
  registry::Status status;
  std::atomic<std::uint64_t> requests{0};
};

/// One unregistered name with its own series: (name as sent, verdict, suggestion).
struct NameStats {
  std::string name;
  classify::Verdict verdict;
  std::string suggestion;
  std::string family;  // normalized, decorations stripped
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::int64_t> first_seen_ms{0};  // message timestamps
  std::atomic<std::int64_t> last_seen_ms{0};
  std::atomic<std::int64_t> last_seen_wall_ms{0};  // processing time: drives the alert window
  std::atomic<std::uint64_t> topic_mask{0};        // bit i: seen on topic with index i (< 64)

  /// Counts one message. Called only by the thread that owns the name's cache.
  void Touch(const TopicStats& topic, std::int64_t msg_ms, std::int64_t wall_ms) {
    AddSingleWriter(messages);
    // msg_ms <= 0: no timestamp (a call-log line without one); it must not
    // become the first-seen time.
    if (msg_ms > 0 && (first_seen_ms.load(std::memory_order_relaxed) == 0 ||
        msg_ms < first_seen_ms.load(std::memory_order_relaxed))) {
      first_seen_ms.store(msg_ms, std::memory_order_relaxed);
    }
    if (msg_ms > last_seen_ms.load(std::memory_order_relaxed)) {
      last_seen_ms.store(msg_ms, std::memory_order_relaxed);
    }
    last_seen_wall_ms.store(wall_ms, std::memory_order_relaxed);
    if (topic.index < 64) {
      const std::uint64_t bit = std::uint64_t{1} << topic.index;
      if (!(topic_mask.load(std::memory_order_relaxed) & bit)) {
        topic_mask.fetch_or(bit, std::memory_order_relaxed);
      }
    }
  }
};

/// An approximate heavy hitter among the names beyond the series cap
/// (space-saving: `messages` over-counts by at most `error`).
struct OverflowName {
  std::string name;
  classify::Verdict verdict;
  std::string suggestion;
  std::string family;
  std::uint64_t messages = 0;
  std::uint64_t error = 0;
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
};

/// Lag of one assigned partition.
struct PartitionLag {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t lag_messages = 0;
  double lag_seconds = 0;
};

/// Registry facts for the registry_* metrics and the report.
struct RegistryStatus {
  bool loaded = false;
  std::string source;
  std::string digest;
  std::string format;
  std::int64_t loaded_at_ms = 0;
  std::size_t models = 0;
  std::array<std::size_t, registry::kStatusCount> by_status{};
  std::vector<std::pair<std::string, std::string>> naming_violations;  // (model, rule)
  std::string last_error;
  bool persisted = false;  // in force from the state directory, source unavailable
};

/// All exported audit state. The class is thread-safe: no concurrent call to
/// any of its methods causes a data race.
class AuditMetrics : public prometheus::Collectable {
 public:
  struct Options {
    std::size_t max_unregistered_series = 1000;
    std::chrono::milliseconds alert_window{5 * 60 * 1000};
    std::string librdkafka_version;
  };
  explicit AuditMetrics(Options options);

  /// Get-or-create. Pointers stay valid for the lifetime of this object.
  TopicStats* Topic(std::string_view name);
  ModelStats* Model(const std::string& model, registry::Status status);
  /// Get-or-create a name series; nullptr once the cap is reached (the caller
  /// then uses CountOverflow).
  NameStats* Name(std::string_view name, classify::Verdict verdict, std::string_view suggestion,
                  std::string_view family);
  /// Counts a message whose name got no series of its own.
  void CountOverflow(std::string_view name, classify::Verdict verdict,
                     std::string_view suggestion, std::string_view family, std::int64_t msg_ms);

  void SetRegistry(RegistryStatus status);
  void RegistryReloadFailed(const std::string& error);
  void RegistryReloadSucceeded();
  RegistryStatus Registry() const;

  /// Replaces the whole lag table (partitions no longer assigned disappear).
  void SetLag(std::vector<PartitionLag> lag);
  void SetGroupJoined(bool joined) { group_joined_.store(joined); }
  bool group_joined() const { return group_joined_.load(); }
  void CountCommit(bool ok) { (ok ? commits_ok_ : commits_failed_).fetch_add(1); }
  void CountPersistFailure() { persist_failures_.fetch_add(1, std::memory_order_relaxed); }
  void CountKafkaError() { kafka_errors_.fetch_add(1, std::memory_order_relaxed); }
  void CountFetchWakeup() { fetch_wakeups_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t fetch_wakeups() const { return fetch_wakeups_.load(std::memory_order_relaxed); }
  void SetCacheEntries(std::size_t n) { cache_entries_.store(n, std::memory_order_relaxed); }

  /// Read-only views for the report and tests.
  std::vector<const NameStats*> Names() const;
  std::vector<OverflowName> OverflowNames() const;
  std::uint64_t overflow_messages() const { return overflow_total_.load(); }
  std::vector<const TopicStats*> Topics() const;
  std::vector<PartitionLag> Lag() const;
  std::chrono::milliseconds alert_window() const { return options_.alert_window; }

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Options options_;
  mutable std::mutex mu_;  // guards the tables' structure, not the counters
  std::deque<TopicStats> topics_;
  std::unordered_map<std::string, TopicStats*> topic_by_name_;
  std::deque<ModelStats> models_;
  std::map<std::pair<std::string, registry::Status>, ModelStats*> model_by_key_;
  std::deque<NameStats> names_;
  std::unordered_map<std::string, NameStats*> name_by_key_;
  std::atomic<std::uint64_t> overflow_total_{0};
  std::vector<OverflowName> overflow_names_;  // space-saving table, capacity = series cap
  std::unordered_map<std::string, std::size_t> overflow_index_;

  mutable std::mutex registry_mu_;
  RegistryStatus registry_;
  std::uint64_t reload_ok_ = 0;
  std::uint64_t reload_failed_ = 0;
  bool last_reload_ok_ = false;
  std::int64_t last_success_ms_ = 0;

  mutable std::mutex lag_mu_;
  std::vector<PartitionLag> lag_;

  std::atomic<bool> group_joined_{false};
  std::atomic<std::uint64_t> commits_ok_{0};
  std::atomic<std::uint64_t> commits_failed_{0};
  std::atomic<std::uint64_t> kafka_errors_{0};
  std::atomic<std::uint64_t> fetch_wakeups_{0};
  std::atomic<std::uint64_t> persist_failures_{0};
  std::atomic<std::size_t> cache_entries_{0};
};

}  // namespace model_auditor::metrics
