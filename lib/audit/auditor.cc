#include "audit/auditor.h"

#include <spdlog/spdlog.h>

namespace model_auditor::audit {

Auditor::Auditor(const config::Config& config, metrics::AuditMetrics& metrics,
                 RegistryHolder& registry)
    : config_(config), metrics_(metrics), registry_(registry) {}

Auditor::TopicContext& Auditor::Topic(std::string_view topic) {
  auto it = topics_.find(std::string(topic));
  if (it != topics_.end()) return it->second;
  TopicContext ctx;
  ctx.stats = metrics_.Topic(topic);
  ctx.rule = &config_.RuleFor(std::string(topic));
  return topics_.emplace(std::string(topic), ctx).first->second;
}

bool Auditor::RefreshRegistry() {
  const std::uint64_t gen = registry_.generation();
  if (gen != generation_ || !index_) {
    auto next = registry_.Get();
    generation_ = gen;
    if (next && next != index_) {
      index_ = std::move(next);
      cache_.Clear();
      ++cache_clears_;
      metrics_.SetCacheEntries(0);
    }
  }
  return index_ != nullptr;
}

Auditor::Entry Auditor::Build(std::string_view name) {
  Entry e;
  const registry::Snapshot& snap = index_->snapshot();
  e.c = classify::Classify(name, *index_);
  e.suggestion = std::string(classify::SuggestionName(e.c, snap));
  e.family = index_->decorations().FamilyKey(classify::Normalize(name));
  e.family_hash = std::hash<std::string>{}(e.family);
  if (classify::NamesRegistryEntry(e.c.verdict)) {
    const registry::Model& m = snap.models()[static_cast<std::size_t>(e.c.model)];
    e.model = metrics_.Model(m.name, m.status);
  }
  if (classify::IsUnregistered(e.c.verdict)) {
    e.name = metrics_.Name(name, e.c.verdict, e.suggestion, e.family);
  }
  return e;
}

const Auditor::Entry& Auditor::Lookup(std::string_view name) {
  if (Entry* hit = cache_.Find(name)) return *hit;
  if (cache_.size() >= config_.audit.verdict_cache_size) {  // bounded
    cache_.Clear();
    ++cache_clears_;
  }
  Entry& slot = cache_.Insert(name, Build(name));
  metrics_.SetCacheEntries(cache_.size());
  return slot;
}

void Auditor::Count(TopicContext& topic, const Entry& e, std::string_view name,
                    std::int64_t msg_ms, std::int64_t wall_ms) {
  metrics::AddSingleWriter(topic.stats->verdicts[static_cast<std::size_t>(e.c.verdict)]);
  if (e.model) metrics::AddSingleWriter(e.model->requests);
  if (classify::IsUnregistered(e.c.verdict)) {
    if (e.name) {
      e.name->Touch(*topic.stats, msg_ms, wall_ms);
    } else {
      metrics_.CountOverflow(name, e.c.verdict, e.suggestion, e.family, msg_ms);
    }
  }
}

}  // namespace model_auditor::audit
