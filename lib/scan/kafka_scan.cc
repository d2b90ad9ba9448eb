#include "scan/kafka_scan.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <regex>
#include <stdexcept>
#include <unordered_map>

#include "kafka/consumer.h"
#include "util/error.h"
#include "util/rate_limit.h"
#include "util/text.h"

namespace model_auditor::scan {
namespace {

void Set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw LoadError(std::string("kafka property '") + name + "': " + err);
  }
}

void LogCb(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 4) {
    spdlog::warn("librdkafka {}: {}", fac, buf);
  } else {
    spdlog::debug("librdkafka {}: {}", fac, buf);
  }
}

std::string Where(const std::string& topic, std::int32_t partition) {
  return "topic '" + topic + "' partition " + std::to_string(partition);
}

util::RateLimiter& ErrorLog() {
  static util::RateLimiter limiter(std::chrono::seconds(10));
  return limiter;
}

}  // namespace

KafkaScan::KafkaScan(const config::Config& config, KafkaScanOptions options)
    : config_(config), options_(std::move(options)), group_id_(config.kafka.group_id + "-scan") {
  // The daemon's settings and passthrough properties (TLS, SASL, ...), then
  // what makes this a read-only scan: later settings win.
  rd_kafka_conf_t* conf = kafka::BuildConsumerConf(config.kafka);
  Set(conf, "group.id", group_id_);
  Set(conf, "enable.auto.commit", "false");
  Set(conf, "enable.auto.offset.store", "false");
  Set(conf, "enable.partition.eof", "true");
  Set(conf, "auto.offset.reset", "error");  // a range deleted under us is an error, not a jump
  Set(conf, "allow.auto.create.topics", "false");
  Set(conf, "client.id", "model-auditor-scan");
  rd_kafka_conf_set_log_cb(conf, &LogCb);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    throw LoadError(std::string("cannot create Kafka consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(rk_);
}

KafkaScan::~KafkaScan() {
  if (!rk_) return;
  // Assigned, never subscribed, auto-commit off: closing commits nothing.
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

void KafkaScan::Plan() {
  const int timeout_ms = static_cast<int>(options_.timeout.count());
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, timeout_ms);
  if (err) {
    throw std::runtime_error("cannot read topic metadata from " + config_.kafka.brokers + ": " +
                             rd_kafka_err2str(err));
  }
  std::unordered_map<std::string, const rd_kafka_metadata_topic_t*> by_name;
  for (int i = 0; i < md->topic_cnt; ++i) by_name.emplace(md->topics[i].topic, &md->topics[i]);
  topics_ = options_.topics;
  std::sort(topics_.begin(), topics_.end());
  topics_.erase(std::unique(topics_.begin(), topics_.end()), topics_.end());  // --topic a --topic a
  if (topics_.empty() && !options_.topic_regex.empty()) {
    const std::regex re(options_.topic_regex);
    for (const auto& [name, t] : by_name) {
      if (!name.starts_with("__") && std::regex_search(name, re)) topics_.push_back(name);
    }
    std::sort(topics_.begin(), topics_.end());
    if (topics_.empty()) {
      rd_kafka_metadata_destroy(md);
      throw LoadError("no topic on " + config_.kafka.brokers + " matches kafka.topic_regex '" +
                      options_.topic_regex + "'");
    }
  }
  if (topics_.empty()) {
    rd_kafka_metadata_destroy(md);
    throw LoadError("no topics to scan: give --topic or set kafka.topics in the config");
  }
  for (const std::string& topic : topics_) {
    auto it = by_name.find(topic);
    if (it == by_name.end() || it->second->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      rd_kafka_metadata_destroy(md);
      throw LoadError("topic '" + topic + "' does not exist on " + config_.kafka.brokers);
    }
    if (it->second->err) {
      const std::string e = rd_kafka_err2str(it->second->err);
      rd_kafka_metadata_destroy(md);
      throw std::runtime_error("topic '" + topic + "': " + e);
    }
    for (int p = 0; p < it->second->partition_cnt; ++p) {
      Part part;
      part.topic = topic;
      part.partition = it->second->partitions[p].id;
      parts_.push_back(part);
    }
  }
  rd_kafka_metadata_destroy(md);
  std::sort(parts_.begin(), parts_.end(), [](const Part& a, const Part& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  });

  for (Part& p : parts_) {
    err = rd_kafka_query_watermark_offsets(rk_, p.topic.c_str(), p.partition, &p.low, &p.high,
                                           timeout_ms);
    if (err) {
      throw std::runtime_error("cannot read the offsets of " + Where(p.topic, p.partition) + ": " +
                               rd_kafka_err2str(err));
    }
  }
  // The first offset whose timestamp is >= t, per partition; -1: none (past the end).
  auto offsets_for = [&](std::int64_t t) {
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(parts_.size()));
    for (const Part& p : parts_)
      rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset = t;
    const rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk_, list, timeout_ms);
    std::vector<std::int64_t> out;
    std::string error = e ? rd_kafka_err2str(e) : "";
    for (int i = 0; i < list->cnt && error.empty(); ++i) {
      if (list->elems[i].err) {
        error = Where(list->elems[i].topic, list->elems[i].partition) + ": " +
                rd_kafka_err2str(list->elems[i].err);
      }
      out.push_back(list->elems[i].offset);
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (!error.empty())
      throw std::runtime_error("cannot look up offsets for " + util::FormatRfc3339(t) + ": " +
                               error);
    return out;
  };
  std::vector<std::int64_t> from, to;
  if (options_.from_ms) from = offsets_for(*options_.from_ms);
  if (options_.to_ms) to = offsets_for(*options_.to_ms);
  remaining_ = 0;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    Part& p = parts_[i];
    p.start = p.low;
    if (options_.from_offset) {
      if (*options_.from_offset < p.low) {
        throw LoadError(Where(p.topic, p.partition) + ": --from-offset " +
                        std::to_string(*options_.from_offset) + " is below the log start " +
                        std::to_string(p.low) + ": that range was deleted or compacted away");
      }
      p.start = *options_.from_offset;
    } else if (options_.from_ms) {
      p.start = from[i] < 0 ? p.high : from[i];
      // The oldest retained message is already at or after --from, and older
      // ones were deleted: part of the window is gone; a partial audit would
      // read as a complete one.
      if (p.low > 0 && p.start == p.low && p.start < p.high) {
        throw LoadError(Where(p.topic, p.partition) + ": messages from " +
                        util::FormatRfc3339(*options_.from_ms) +
                        " on may have been deleted (the log starts at offset " +
                        std::to_string(p.low) +
                        " and its first message is at or after --from); give a later --from, "
                        "or none to scan what is retained");
      }
    }
    p.end = p.high;
    if (options_.to_offset) {
      p.end = std::min(*options_.to_offset, p.high);
    } else if (options_.to_ms) {
      p.end = to[i] < 0 ? p.high : to[i];
    }
    p.start = std::min(p.start, p.high);
    if (p.end < p.start) p.end = p.start;
    p.next = p.start;
    p.done = p.start >= p.end;
    if (!p.done) ++remaining_;
    spdlog::debug("scan plan {} low={} high={} start={} end={}", Where(p.topic, p.partition), p.low,
                  p.high, p.start, p.end);
  }
}

std::int64_t KafkaScan::planned_messages() const {
  std::int64_t n = 0;
  for (const Part& p : parts_) n += p.end - p.start;
  return n;
}

KafkaScan::Part* KafkaScan::Find(rd_kafka_topic_t* rkt, std::int32_t partition) {
  const char* topic = rd_kafka_topic_name(rkt);
  for (Part& p : parts_) {
    if (p.partition == partition && p.topic == topic) return &p;
  }
  return nullptr;
}

void KafkaScan::Finish(Part& p) {
  if (p.done) return;
  p.done = true;
  --remaining_;
  // Stop fetching what lies past the end.
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition);
  rd_kafka_pause_partitions(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
}

std::vector<report::ScanInput> KafkaScan::Run(Session& session) {
  std::string error;
  rd_kafka_topic_partition_list_t* assignment =
      rd_kafka_topic_partition_list_new(static_cast<int>(parts_.size()));
  for (const Part& p : parts_) {
    if (!p.done)
      rd_kafka_topic_partition_list_add(assignment, p.topic.c_str(), p.partition)->offset = p.start;
  }
  for (const std::string& t : topics_) session.auditor.Topic(t);
  if (assignment->cnt > 0) {
    const rd_kafka_resp_err_t err = rd_kafka_assign(rk_, assignment);
    if (err) error = std::string("cannot assign partitions: ") + rd_kafka_err2str(err);
  }
  rd_kafka_topic_partition_list_destroy(assignment);

  const std::int64_t planned = planned_messages();
  std::string label = topics_.size() == 1 ? topics_[0] : std::to_string(topics_.size()) + " topics";
  session.progress.Begin("kafka " + label + " (" + std::to_string(parts_.size()) + " partitions)",
                         planned, "msgs");
  std::uint64_t read = 0, bytes = 0;
  // A cache of the last topic handle seen: messages come in per-partition runs.
  rd_kafka_topic_t* last_rkt = nullptr;
  audit::Auditor::TopicContext* last_ctx = nullptr;
  Part* last_part = nullptr;
  auto last_progress = std::chrono::steady_clock::now();

  auto handle = [&](rd_kafka_message_t* m) {
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        Part* p = Find(m->rkt, m->partition);
        if (p && m->offset >= p->end) Finish(*p);
        return;
      }
      const std::string what = rd_kafka_message_errstr(m);
      if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
          m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
          m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        error = (m->rkt ? Where(rd_kafka_topic_name(m->rkt), m->partition) + ": " : std::string()) +
                what;
        return;
      }
      std::uint64_t suppressed = 0;
      if (ErrorLog().Allow(suppressed)) {
        spdlog::warn("kafka consume error: {} (suppressed={})", what, suppressed);
      }
      return;
    }
    if (m->rkt != last_rkt || !last_part || last_part->partition != m->partition) {
      last_part = Find(m->rkt, m->partition);
      if (m->rkt != last_rkt) {
        last_ctx = &session.auditor.Topic(rd_kafka_topic_name(m->rkt));
        last_rkt = m->rkt;
      }
    }
    Part* p = last_part;
    if (!p || p->done) return;
    if (m->offset >= p->end) {
      Finish(*p);
      return;
    }
    rd_kafka_timestamp_type_t tstype;
    std::int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    if (ts < 0) ts = 0;
    auto header = [m](const std::string& name) -> std::optional<std::string_view> {
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
      const void* value = nullptr;
      std::size_t size = 0;
      if (rd_kafka_header_get_last(hdrs, name.c_str(), &value, &size) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          value == nullptr) {
        return std::nullopt;
      }
      return std::string_view(static_cast<const char*>(value), size);
    };
    session.Observe(ts);
    const classify::Verdict v = session.auditor.Process(
        *last_ctx, header,
        std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0),
        m->payload != nullptr, ts, ts);
    if (v == classify::Verdict::kMalformed) {
      session.Malformed({p->topic, 0, p->partition, m->offset,
                         std::string(extract::MalformedName(session.auditor.last_malformed()))});
    }
    ++p->messages;
    p->bytes += m->len;
    ++read;
    bytes += m->len;
    p->next = m->offset + 1;
    if (p->next >= p->end) Finish(*p);
  };

  constexpr int kMaxBatch = 10'000;
  while (remaining_ > 0 && error.empty()) {
    if (session.stop.load(std::memory_order_relaxed)) {
      error = "interrupted";
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
    const auto now = std::chrono::steady_clock::now();
    if (!m) {
      if (now - last_progress > options_.timeout) {
        error = "no progress for " + util::FormatDuration(options_.timeout) + " with " +
                std::to_string(remaining_) + " partition(s) unfinished (is the cluster reachable?)";
      }
      continue;
    }
    last_progress = now;
    session.auditor.RefreshRegistry();
    int n = 0;
    do {
      handle(m);
      rd_kafka_message_destroy(m);
      if (++n >= kMaxBatch || remaining_ == 0) break;
      m = rd_kafka_consumer_poll(rk_, 0);
    } while (m);
    session.progress.Update(read, read, bytes);
  }
  session.progress.End();
  rd_kafka_assign(rk_, nullptr);

  std::vector<report::ScanInput> out;
  for (const std::string& t : topics_) {
    report::ScanInput in;
    in.name = t;
    in.kind = "kafka";
    std::size_t partitions = 0;
    std::int64_t offsets = 0;
    for (const Part& p : parts_) {
      if (p.topic != t) continue;
      ++partitions;
      offsets += p.end - p.start;
      in.messages += p.messages;
      in.bytes += p.bytes;
      if (!error.empty() && !p.done && in.error.empty()) in.error = error;
    }
    in.detail = std::to_string(partitions) + (partitions == 1 ? " partition, " : " partitions, ") +
                std::to_string(offsets) + " offsets in range";
    out.push_back(std::move(in));
  }
  if (!error.empty() && std::all_of(out.begin(), out.end(),
                                    [](const report::ScanInput& in) { return in.error.empty(); })) {
    for (auto& in : out) in.error = error;
  }
  return out;
}

}  // namespace model_auditor::scan
