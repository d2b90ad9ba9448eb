#include "metrics/audit_metrics.h"

#include <algorithm>

#include "util/text.h"
#include "util/version.h"

namespace model_auditor::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void AddSample(MetricFamily& f, std::vector<prometheus::ClientMetric::Label> labels, double v) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  f.metric.push_back(std::move(m));
}

std::string NameKey(std::string_view name, classify::Verdict v, std::string_view suggestion) {
  std::string key;
  key.reserve(name.size() + suggestion.size() + 2);
  key.append(name);
  key.push_back('\0');
  key.push_back(static_cast<char>('0' + static_cast<int>(v)));
  key.append(suggestion);
  return key;
}

}  // namespace

AuditMetrics::AuditMetrics(Options options) : options_(std::move(options)) {}

TopicStats* AuditMetrics::Topic(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = topic_by_name_.find(std::string(name));
  if (it != topic_by_name_.end()) return it->second;
  TopicStats& t = topics_.emplace_back();
  t.name = std::string(name);
  t.index = static_cast<std::uint32_t>(topics_.size() - 1);
  topic_by_name_.emplace(t.name, &t);
  return &t;
}

ModelStats* AuditMetrics::Model(const std::string& model, registry::Status status) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(model, status);
  auto it = model_by_key_.find(key);
  if (it != model_by_key_.end()) return it->second;
  ModelStats& m = models_.emplace_back();
  m.model = model;
  m.status = status;
  model_by_key_.emplace(std::move(key), &m);
  return &m;
}

NameStats* AuditMetrics::Name(std::string_view name, classify::Verdict verdict,
                              std::string_view suggestion, std::string_view family) {
  std::string key = NameKey(name, verdict, suggestion);
  std::lock_guard lock(mu_);
  auto it = name_by_key_.find(key);
  if (it != name_by_key_.end()) return it->second;
  if (names_.size() >= options_.max_unregistered_series) return nullptr;
  NameStats& n = names_.emplace_back();
  n.name = std::string(name);
  n.verdict = verdict;
  n.suggestion = std::string(suggestion);
  n.family = std::string(family);
  name_by_key_.emplace(std::move(key), &n);
  return &n;
}

void AuditMetrics::CountOverflow(std::string_view name, classify::Verdict verdict,
                                 std::string_view suggestion, std::string_view family,
                                 std::int64_t msg_ms) {
  overflow_total_.fetch_add(1, std::memory_order_relaxed);
  std::string key = NameKey(name, verdict, suggestion);
  std::lock_guard lock(mu_);
  auto it = overflow_index_.find(key);
  if (it != overflow_index_.end()) {
    OverflowName& o = overflow_names_[it->second];
    ++o.messages;
    o.last_seen_ms = std::max(o.last_seen_ms, msg_ms);
    if (msg_ms > 0 && (o.first_seen_ms <= 0 || msg_ms < o.first_seen_ms)) o.first_seen_ms = msg_ms;
    return;
  }
  const std::size_t capacity = std::max<std::size_t>(options_.max_unregistered_series, 1);
  OverflowName fresh{std::string(name), verdict, std::string(suggestion), std::string(family),
                     1, 0, msg_ms, msg_ms};
  if (overflow_names_.size() < capacity) {
    overflow_index_.emplace(std::move(key), overflow_names_.size());
    overflow_names_.push_back(std::move(fresh));
    return;
  }
  // Space-saving: the new name takes the slot of the lightest one and inherits
  // its count as error bound, so heavy names are never evicted by a flood of
  // light ones. O(capacity) only on this degraded path.
  auto victim = std::min_element(
      overflow_names_.begin(), overflow_names_.end(),
      [](const OverflowName& a, const OverflowName& b) { return a.messages < b.messages; });
  overflow_index_.erase(NameKey(victim->name, victim->verdict, victim->suggestion));
  fresh.error = victim->messages;
  fresh.messages = victim->messages + 1;
  *victim = std::move(fresh);
  overflow_index_.emplace(std::move(key),
                          static_cast<std::size_t>(victim - overflow_names_.begin()));
}

void AuditMetrics::SetRegistry(RegistryStatus status) {
  {
    std::lock_guard lock(registry_mu_);
    registry_ = std::move(status);
  }
}

void AuditMetrics::RegistryReloadSucceeded() {
  std::lock_guard lock(registry_mu_);
  ++reload_ok_;
  last_reload_ok_ = true;
  last_success_ms_ = util::NowUnixMs();
  registry_.last_error.clear();
}

void AuditMetrics::RegistryReloadFailed(const std::string& error) {
  std::lock_guard lock(registry_mu_);
  ++reload_failed_;
  last_reload_ok_ = false;
  registry_.last_error = error;
}

RegistryStatus AuditMetrics::Registry() const {
  std::lock_guard lock(registry_mu_);
  return registry_;
}

void AuditMetrics::SetLag(std::vector<PartitionLag> lag) {
  std::lock_guard lock(lag_mu_);
  lag_ = std::move(lag);
}

std::vector<PartitionLag> AuditMetrics::Lag() const {
  std::lock_guard lock(lag_mu_);
  return lag_;
}

std::vector<const NameStats*> AuditMetrics::Names() const {
  std::lock_guard lock(mu_);
  std::vector<const NameStats*> out;
  out.reserve(names_.size());
  for (const auto& n : names_) out.push_back(&n);
  return out;
}

std::vector<OverflowName> AuditMetrics::OverflowNames() const {
  std::lock_guard lock(mu_);
  return overflow_names_;
}

std::vector<const TopicStats*> AuditMetrics::Topics() const {
  std::lock_guard lock(mu_);
  std::vector<const TopicStats*> out;
  for (const auto& t : topics_) out.push_back(&t);
  return out;
}

std::vector<MetricFamily> AuditMetrics::Collect() const {
  using classify::VerdictName;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  std::vector<MetricFamily> out;
  const std::int64_t now_ms = util::NowUnixMs();

  auto build = Family("model_audit_build_info",
                      "A metric with a constant '1' value labeled by version and librdkafka version.",
                      MetricType::Gauge);
  AddSample(build, {{"version", kVersion}, {"librdkafka_version", options_.librdkafka_version}}, 1);
  out.push_back(std::move(build));

  auto messages = Family("model_audit_messages_total",
                         "Messages consumed and classified, by topic and verdict.",
                         MetricType::Counter);
  auto malformed = Family("model_audit_malformed_messages_total",
                          "Messages with the verdict malformed, by topic and reason.",
                          MetricType::Counter);
  auto conflicts = Family("model_audit_name_conflicts_total",
                          "Messages whose header and JSON body name different models.",
                          MetricType::Counter);
  auto last_msg = Family("model_audit_last_message_timestamp_seconds",
                         "Timestamp of the newest message consumed, by topic.", MetricType::Gauge);
  auto model_req = Family("model_audit_model_requests_total",
                          "Messages naming a registry entry exactly (registered, alias, inactive).",
                          MetricType::Counter);
  auto unreg = Family("model_audit_unregistered_requests_total",
                      "Messages whose name is not a serving registry name or alias.",
                      MetricType::Counter);
  auto active = Family("model_audit_unknown_model_active",
                       "1 while an unregistered name was seen within the alert window.",
                       MetricType::Gauge);
  auto overflow = Family("model_audit_unregistered_names_overflow_total",
                         "Messages whose name got no series of its own because the cap was reached.",
                         MetricType::Counter);
  auto series = Family("model_audit_unregistered_names",
                       "Distinct unregistered names with their own series (bounded by the cap).",
                       MetricType::Gauge);
  auto series_cap = Family("model_audit_unregistered_names_limit",
                           "The cap on unregistered names with their own series.",
                           MetricType::Gauge);
  {
    std::lock_guard lock(mu_);
    for (const TopicStats& t : topics_) {
      for (classify::Verdict v : classify::kAllVerdicts) {
        AddSample(messages, {{"topic", t.name}, {"verdict", std::string(VerdictName(v))}},
                  static_cast<double>(t.verdicts[static_cast<std::size_t>(v)].load(kRelaxed)));
      }
      for (std::size_t r = 1; r < extract::kMalformedCount; ++r) {
        AddSample(malformed,
                  {{"topic", t.name},
                   {"reason", std::string(extract::MalformedName(static_cast<extract::Malformed>(r)))}},
                  static_cast<double>(t.malformed[r].load(kRelaxed)));
      }
      AddSample(conflicts, {{"topic", t.name}}, static_cast<double>(t.conflicts.load(kRelaxed)));
      const std::int64_t ts = t.last_message_ms.load(kRelaxed);
      if (ts > 0) AddSample(last_msg, {{"topic", t.name}}, static_cast<double>(ts) / 1000.0);
    }
    for (const ModelStats& m : models_) {
      AddSample(model_req, {{"model", m.model}, {"status", std::string(registry::StatusName(m.status))}},
                static_cast<double>(m.requests.load(kRelaxed)));
    }
    const std::int64_t window = options_.alert_window.count();
    for (const NameStats& n : names_) {
      std::vector<prometheus::ClientMetric::Label> labels = {
          {"model_name", n.name},
          {"verdict", std::string(VerdictName(n.verdict))},
          {"suggestion", n.suggestion}};
      AddSample(unreg, labels, static_cast<double>(n.messages.load(kRelaxed)));
      if (now_ms - n.last_seen_wall_ms.load(kRelaxed) < window) AddSample(active, labels, 1);
    }
    AddSample(series, {}, static_cast<double>(names_.size()));
  }
  AddSample(overflow, {}, static_cast<double>(overflow_total_.load(kRelaxed)));
  AddSample(series_cap, {}, static_cast<double>(options_.max_unregistered_series));
  out.push_back(std::move(messages));
  out.push_back(std::move(malformed));
  out.push_back(std::move(conflicts));
  out.push_back(std::move(last_msg));
  out.push_back(std::move(model_req));
  out.push_back(std::move(unreg));
  out.push_back(std::move(active));
  out.push_back(std::move(overflow));
  out.push_back(std::move(series));
  out.push_back(std::move(series_cap));

  {
    std::lock_guard lock(registry_mu_);
    auto models = Family("model_audit_registry_models", "Models in the registry snapshot in force, by status.",
                         MetricType::Gauge);
    for (registry::Status s : registry::kAllStatuses) {
      AddSample(models, {{"status", std::string(registry::StatusName(s))}},
                static_cast<double>(registry_.by_status[static_cast<std::size_t>(s)]));
    }
    out.push_back(std::move(models));
    auto reloads = Family("model_audit_registry_reloads_total",
                          "Registry loads attempted, by result.", MetricType::Counter);
    AddSample(reloads, {{"result", "success"}}, static_cast<double>(reload_ok_));
    AddSample(reloads, {{"result", "failure"}}, static_cast<double>(reload_failed_));
    out.push_back(std::move(reloads));
    auto last_ok = Family("model_audit_registry_last_reload_successful",
                          "1 if the last registry load succeeded, 0 if it failed.", MetricType::Gauge);
    AddSample(last_ok, {}, last_reload_ok_ ? 1 : 0);
    out.push_back(std::move(last_ok));
    auto last_success = Family("model_audit_registry_last_success_timestamp_seconds",
                               "Time of the last successful registry load.", MetricType::Gauge);
    AddSample(last_success, {}, static_cast<double>(last_success_ms_) / 1000.0);
    out.push_back(std::move(last_success));
    auto loaded = Family("model_audit_registry_loaded",
                         "1 once a registry snapshot is in force.", MetricType::Gauge);
    AddSample(loaded, {}, registry_.loaded ? 1 : 0);
    out.push_back(std::move(loaded));
    auto persisted = Family("model_audit_registry_persisted_snapshot_in_use",
                            "1 while the snapshot in force was restored from the state directory "
                            "because the source is unavailable.",
                            MetricType::Gauge);
    AddSample(persisted, {}, registry_.persisted ? 1 : 0);
    out.push_back(std::move(persisted));
    auto persist_fail = Family("model_audit_registry_persist_failures_total",
                               "Failures to persist the last good snapshot to the state directory.",
                               MetricType::Counter);
    AddSample(persist_fail, {}, static_cast<double>(persist_failures_.load()));
    out.push_back(std::move(persist_fail));
    if (registry_.loaded) {
      auto info = Family("model_audit_registry_info",
                         "The registry snapshot in force: source, format and content digest.",
                         MetricType::Gauge);
      AddSample(info, {{"source", registry_.source}, {"format", registry_.format}, {"digest", registry_.digest}}, 1);
      out.push_back(std::move(info));
    }
    auto naming = Family("model_audit_registry_naming_violations",
                         "Registry models whose canonical name breaks the naming policy, by rule.",
                         MetricType::Gauge);
    for (const auto& [model, rule] : registry_.naming_violations) {
      AddSample(naming, {{"model", model}, {"rule", rule}}, 1);
    }
    out.push_back(std::move(naming));
  }

  {
    std::lock_guard lock(lag_mu_);
    auto lag_msgs = Family("model_audit_kafka_consumer_lag_messages",
                           "Messages between the consumer position and the high watermark.",
                           MetricType::Gauge);
    auto lag_secs = Family("model_audit_kafka_consumer_lag_seconds",
                           "Estimated age of the oldest unconsumed message.", MetricType::Gauge);
    for (const PartitionLag& p : lag_) {
      std::vector<prometheus::ClientMetric::Label> labels = {{"topic", p.topic},
                                                             {"partition", std::to_string(p.partition)}};
      AddSample(lag_msgs, labels, static_cast<double>(p.lag_messages));
      AddSample(lag_secs, labels, p.lag_seconds);
    }
    out.push_back(std::move(lag_msgs));
    out.push_back(std::move(lag_secs));
  }
  auto joined = Family("model_audit_kafka_group_joined",
                       "1 once the consumer has joined its group and received an assignment.",
                       MetricType::Gauge);
  AddSample(joined, {}, group_joined_.load() ? 1 : 0);
  out.push_back(std::move(joined));
  auto commits = Family("model_audit_kafka_commits_total", "Offset commits, by result.",
                        MetricType::Counter);
  AddSample(commits, {{"result", "success"}}, static_cast<double>(commits_ok_.load()));
  AddSample(commits, {{"result", "failure"}}, static_cast<double>(commits_failed_.load()));
  out.push_back(std::move(commits));
  auto errors = Family("model_audit_kafka_errors_total",
                       "Errors reported by the Kafka client (transport, broker, consume).",
                       MetricType::Counter);
  AddSample(errors, {}, static_cast<double>(kafka_errors_.load()));
  out.push_back(std::move(errors));
  auto wakeups = Family("model_audit_kafka_fetch_wakeups_total",
                        "Requests sent to wake librdkafka's fetcher after the pre-fetch queue was "
                        "saturated (librdkafka < 2.2.0 otherwise idles it for up to 1 s).",
                        MetricType::Counter);
  AddSample(wakeups, {}, static_cast<double>(fetch_wakeups_.load()));
  out.push_back(std::move(wakeups));
  auto cache = Family("model_audit_verdict_cache_entries",
                      "Names whose verdict is cached by the consumer.", MetricType::Gauge);
  AddSample(cache, {}, static_cast<double>(cache_entries_.load()));
  out.push_back(std::move(cache));
  return out;
}

}  // namespace model_auditor::metrics
