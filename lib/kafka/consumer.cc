#include "kafka/consumer.h"

#include <spdlog/spdlog.h>

#include <future>
#include <thread>

#include "util/error.h"
#include "util/rate_limit.h"
#include "util/text.h"

namespace model_auditor::kafka {
namespace {

void Set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
         bool secret = false) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    // librdkafka's message may quote the value.
    throw LoadError("kafka property '" + name + "': " + (secret ? "invalid value (not shown)" : err));
  }
}

bool IsSecretProperty(std::string_view name) {
  return name.find("password") != std::string_view::npos ||
         name.find("secret") != std::string_view::npos ||
         name.find("key") != std::string_view::npos || name.find("token") != std::string_view::npos;
}

// One limiter for the consumer's run-time error logs (function-local: no
// static initialisation order or exception at load time).
util::RateLimiter& ErrorLog() {
  static util::RateLimiter limiter(std::chrono::seconds(10));
  return limiter;
}

}  // namespace

std::string LibrdkafkaVersion() { return rd_kafka_version_str(); }

rd_kafka_conf_t* BuildConsumerConf(const config::KafkaConfig& k) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Set(conf, "bootstrap.servers", k.brokers);
  Set(conf, "group.id", k.group_id);
  Set(conf, "enable.auto.offset.store", "false");
  Set(conf, "enable.auto.commit", "true");
  Set(conf, "auto.commit.interval.ms", std::to_string(k.commit_interval.count()));
  Set(conf, "auto.offset.reset", "earliest");
  // Cooperative-sticky has known bugs in 2.0.2 (see NOTES): eager assignors only.
  Set(conf, "partition.assignment.strategy", "range,roundrobin");
  // The pre-fetch queue is most of our memory (README "Performance" has the
  // formula). At 256 MiB a flood of never-seen names, which keeps the queue
  // full, peaked at 318 MB RSS; 64 MiB peaks at 124 MB. The price: when the
  // queue is full, 2.0.2 idles the fetcher for up to ~1 s (no
  // fetch.queue.backoff.ms before 2.2.0), so while we process slower than the
  // broker delivers, throughput drops towards 64 MiB per ~1 s plus drain time
  // (flood: 183k -> 60k msgs/s). A consumer that keeps up never fills it.
  // 50k messages per partition bounds the queue's per-message overhead when
  // messages are small; below ~5k the idle shows even at full speed.
  Set(conf, "queued.min.messages", "50000");
  Set(conf, "queued.max.messages.kbytes", "65536");
  Set(conf, "client.id", "model-auditor");
  for (const auto& [name, value] : k.properties) {
    Set(conf, name, value, k.secret_properties.count(name) > 0);
  }
  return conf;
}

std::string ValidateProperties(const std::map<std::string, std::string>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return err;
    }
  }
  rd_kafka_conf_destroy(conf);
  return "";
}

Consumer::Consumer(const config::Config& config, audit::Auditor& auditor,
                   metrics::AuditMetrics& metrics)
    : config_(config), auditor_(auditor), metrics_(metrics) {
  rd_kafka_conf_t* conf = BuildConsumerConf(config.kafka);
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, &Consumer::RebalanceCb);
  rd_kafka_conf_set_offset_commit_cb(conf, &Consumer::CommitCb);
  rd_kafka_conf_set_error_cb(conf, &Consumer::ErrorCb);
  rd_kafka_conf_set_log_cb(conf, &Consumer::LogCb);
  char err[512];
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    throw LoadError(std::string("cannot create Kafka consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(rk_);
  if (FetcherIdlesWhenQueueFull(rd_kafka_version())) {
    queue_ = rd_kafka_queue_get_consumer(rk_);
    pressure_.emplace(ConfInt("queued.min.messages", 100000),
                      ConfInt("queued.max.messages.kbytes", 65536) * 1024);
    waker_ = std::make_unique<FetchWaker>(rk_, [this] { metrics_.CountFetchWakeup(); });
  }
  for (const auto& [name, value] : config.kafka.properties) {
    const bool secret = IsSecretProperty(name) || config.kafka.secret_properties.count(name) > 0;
    spdlog::debug("kafka property {}={}", name, secret ? "<redacted>" : value);
  }
}

Consumer::~Consumer() {
  waker_.reset();
  if (queue_) rd_kafka_queue_destroy(queue_);
  if (rk_) rd_kafka_destroy(rk_);
}

std::int64_t Consumer::ConfInt(const char* name, std::int64_t fallback) const {
  char buf[64];
  std::size_t size = sizeof buf;
  if (rd_kafka_conf_get(rd_kafka_conf(rk_), name, buf, &size) != RD_KAFKA_CONF_OK) return fallback;
  try {
    return std::stoll(buf);
  } catch (const std::exception&) {
    return fallback;
  }
}

void Consumer::ObserveQueue(bool empty) {
  if (!pressure_) return;
  const bool due = empty ? pressure_->ObserveEmpty()
                         : pressure_->Observe(rd_kafka_queue_length(queue_), mean_payload_bytes_);
  if (due) waker_->Wake();
}

std::chrono::steady_clock::time_point Consumer::last_loop() const {
  return std::chrono::steady_clock::time_point(
      std::chrono::nanoseconds(last_loop_ns_.load(std::memory_order_relaxed)));
}

void Consumer::RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->OnAssign(partitions);
  } else {
    self->OnRevoke(partitions);
  }
  (void)rk;
}

void Consumer::OnAssign(rd_kafka_topic_partition_list_t* partitions) {
  rd_kafka_resp_err_t err = rd_kafka_assign(rk_, partitions);
  if (err) spdlog::error("kafka assign failed: {}", rd_kafka_err2str(err));
  partitions_.clear();
  last_partition_ = 0;
  std::string list;
  for (int i = 0; i < partitions->cnt; ++i) {
    PartitionState p;
    p.topic = partitions->elems[i].topic;
    p.partition = partitions->elems[i].partition;
    partitions_.push_back(std::move(p));
    auditor_.Topic(partitions->elems[i].topic);  // messages_total series exist from now on
    list += (list.empty() ? "" : ",") + std::string(partitions->elems[i].topic) + "/" +
            std::to_string(partitions->elems[i].partition);
  }
  if (waker_) {
    std::vector<std::pair<std::string, std::int32_t>> wake;
    for (const PartitionState& p : partitions_) wake.emplace_back(p.topic, p.partition);
    waker_->SetAssignment(std::move(wake));
  }
  metrics_.SetGroupJoined(true);
  spdlog::info("kafka partitions assigned count={} partitions={}", partitions->cnt, list);
  UpdateLag();
}

void Consumer::OnRevoke(rd_kafka_topic_partition_list_t* partitions) {
  // Everything polled so far was counted in Process(); store and commit it
  // before the partitions go to another member.
  StoreOffsets();
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, 0);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    spdlog::warn("kafka commit on revoke failed: {}", rd_kafka_err2str(err));
  }
  rd_kafka_assign(rk_, nullptr);
  if (waker_) waker_->SetAssignment({});
  partitions_.clear();
  topic_ctx_.clear();  // rd_kafka_topic_t handles may be released with the assignment
  metrics_.SetLag({});
  spdlog::info("kafka partitions revoked count={}", partitions->cnt);
}

void Consumer::CommitCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  self->metrics_.CountCommit(err == RD_KAFKA_RESP_ERR_NO_ERROR);
  if (err) {
    std::uint64_t suppressed = 0;
    if (ErrorLog().Allow(suppressed)) {
      spdlog::warn("kafka offset commit failed: {} (suppressed={})", rd_kafka_err2str(err),
                   suppressed);
    }
  }
  (void)rk;
  (void)offsets;
}

void Consumer::ErrorCb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  self->metrics_.CountKafkaError();
  std::uint64_t suppressed = 0;
  if (ErrorLog().Allow(suppressed)) {
    spdlog::warn("kafka error: {}: {} (suppressed={})",
                 rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason, suppressed);
  }
  (void)rk;
}

void Consumer::LogCb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  if (level <= 3) {
    spdlog::error("librdkafka {}: {}", fac, buf);
  } else if (level <= 4) {
    spdlog::warn("librdkafka {}: {}", fac, buf);
  } else if (level <= 6) {
    spdlog::info("librdkafka {}: {}", fac, buf);
  } else {
    spdlog::debug("librdkafka {}: {}", fac, buf);
  }
  (void)rk;
}

Consumer::PartitionState* Consumer::Partition(rd_kafka_topic_t* rkt, std::int32_t partition) {
  if (last_partition_ < partitions_.size()) {
    PartitionState& p = partitions_[last_partition_];
    if (p.rkt == rkt && p.partition == partition) return &p;
  }
  for (std::size_t i = 0; i < partitions_.size(); ++i) {
    PartitionState& p = partitions_[i];
    if (p.partition != partition) continue;
    if (p.rkt == nullptr && p.topic == rd_kafka_topic_name(rkt)) p.rkt = rkt;
    if (p.rkt == rkt) {
      last_partition_ = i;
      return &p;
    }
  }
  return nullptr;
}

void Consumer::Process(rd_kafka_message_t* m, std::int64_t wall_ms) {
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    metrics_.CountKafkaError();
    std::uint64_t suppressed = 0;
    if (ErrorLog().Allow(suppressed)) {
      spdlog::warn("kafka consume error: {} (suppressed={})", rd_kafka_message_errstr(m),
                   suppressed);
    }
    return;
  }
  audit::Auditor::TopicContext* ctx = nullptr;
  for (auto& [rkt, c] : topic_ctx_) {
    if (rkt == m->rkt) {
      ctx = c;
      break;
    }
  }
  if (!ctx) {
    ctx = &auditor_.Topic(rd_kafka_topic_name(m->rkt));
    topic_ctx_.emplace_back(m->rkt, ctx);
  }
  rd_kafka_timestamp_type_t tstype;
  std::int64_t ts = rd_kafka_message_timestamp(m, &tstype);
  if (ts <= 0) ts = wall_ms;
  auto header = [m](const std::string& name) -> std::optional<std::string_view> {
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
    const void* value = nullptr;
    std::size_t size = 0;
    if (rd_kafka_header_get_last(hdrs, name.c_str(), &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        value == nullptr) {
      return std::nullopt;
    }
    return std::string_view(static_cast<const char*>(value), size);
  };
  auditor_.Process(*ctx, header,
                   std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0),
                   m->payload != nullptr, ts, wall_ms);
  metrics::AddSingleWriter(messages_);  // only the poll thread writes it
  if (PartitionState* p = Partition(m->rkt, m->partition)) {
    p->next_offset = m->offset + 1;
    p->last_ts_ms = ts;
  }
}

void Consumer::StoreOffsets() {
  rd_kafka_topic_partition_list_t* list = nullptr;
  for (PartitionState& p : partitions_) {
    if (p.next_offset < 0 || p.next_offset == p.stored_offset) continue;
    if (!list) list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size()));
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset = p.next_offset;
    p.stored_offset = p.next_offset;
  }
  if (!list) return;
  rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk_, list);
  if (err && err != RD_KAFKA_RESP_ERR__STATE) {
    std::uint64_t suppressed = 0;
    if (ErrorLog().Allow(suppressed)) {
      spdlog::warn("kafka offsets_store failed: {} (suppressed={})", rd_kafka_err2str(err),
                   suppressed);
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
}

void Consumer::UpdateLag() {
  std::vector<metrics::PartitionLag> lag;
  if (partitions_.empty()) {
    metrics_.SetLag(std::move(lag));
    return;
  }
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size()));
  for (const PartitionState& p : partitions_) {
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition);
  }
  rd_kafka_position(rk_, list);
  const std::int64_t now_ms = util::NowUnixMs();
  for (int i = 0; i < list->cnt; ++i) {
    const PartitionState& p = partitions_[static_cast<std::size_t>(i)];
    std::int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(rk_, p.topic.c_str(), p.partition, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;  // not fetched yet: unknown, so no series rather than a wrong one
    }
    std::int64_t position = list->elems[i].offset;
    if (position < 0) position = p.next_offset >= 0 ? p.next_offset : low;
    if (position < 0) continue;
    metrics::PartitionLag l;
    l.topic = p.topic;
    l.partition = p.partition;
    l.lag_messages = std::max<std::int64_t>(0, high - position);
    // The oldest unconsumed message is newer than the last consumed one, so the
    // latter's age is an upper-bound estimate.
    if (l.lag_messages > 0 && p.last_ts_ms > 0) {
      l.lag_seconds = static_cast<double>(std::max<std::int64_t>(0, now_ms - p.last_ts_ms)) / 1000.0;
    }
    lag.push_back(std::move(l));
  }
  rd_kafka_topic_partition_list_destroy(list);
  metrics_.SetLag(std::move(lag));
}

void Consumer::Run(const std::atomic<bool>& stop, const std::function<void()>& on_loop) {
  auto mark_loop = [&] {
    last_loop_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                        std::memory_order_relaxed);
    if (on_loop) on_loop();
  };
  // Not a message is classified against "no registry": wait for one.
  while (!stop.load() && !auditor_.RefreshRegistry()) {
    mark_loop();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (stop.load()) {
    Close();
    return;
  }
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  if (!config_.kafka.topic_regex.empty()) {
    rd_kafka_topic_partition_list_add(sub, config_.kafka.topic_regex.c_str(), RD_KAFKA_PARTITION_UA);
  } else {
    for (const auto& t : config_.kafka.topics) {
      rd_kafka_topic_partition_list_add(sub, t.c_str(), RD_KAFKA_PARTITION_UA);
      auditor_.Topic(t);  // export zeros for every subscribed topic from the start
    }
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (err) throw LoadError(std::string("cannot subscribe: ") + rd_kafka_err2str(err));
  spdlog::info("kafka subscribed brokers={} group={} topics={}", config_.kafka.brokers,
               config_.kafka.group_id,
               config_.kafka.topic_regex.empty()
                   ? [&] {
                       std::string s;
                       for (const auto& t : config_.kafka.topics) s += (s.empty() ? "" : ",") + t;
                       return s;
                     }()
                   : config_.kafka.topic_regex);

  constexpr int kMaxBatch = 10'000;
  auto last_lag = std::chrono::steady_clock::now();
  while (!stop.load(std::memory_order_relaxed)) {
    mark_loop();
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
    if (m) {
      ObserveQueue(false);  // how full the pre-fetch queue is, once per batch
      auditor_.RefreshRegistry();  // once per batch: a new snapshot applies from here
      // Processing time drives only the alert window (minutes): one clock read
      // per batch instead of per message (it was ~4% of the daemon's CPU).
      const std::int64_t wall_ms = util::NowUnixMs();
      int n = 0;
      std::size_t bytes = 0;
      do {
        bytes += m->len;
        Process(m, wall_ms);
        rd_kafka_message_destroy(m);
        if (++n >= kMaxBatch) break;
        m = rd_kafka_consumer_poll(rk_, 0);
      } while (m);
      StoreOffsets();
      const double mean = static_cast<double>(bytes) / n;
      mean_payload_bytes_ = mean_payload_bytes_ == 0 ? mean : 0.8 * mean_payload_bytes_ + 0.2 * mean;
      if (pressure_) pressure_->ObserveBatch(n, mean_payload_bytes_);
      if (!m) ObserveQueue(true);  // the batch emptied the queue
    } else {
      ObserveQueue(true);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_lag >= config_.kafka.lag_interval) {
      UpdateLag();
      last_lag = now;
    }
  }
  Close();
}

void Consumer::Close() {
  if (!rk_) return;
  waker_.reset();  // joins its thread (a request in flight ends within 500 ms)
  if (queue_) {
    rd_kafka_queue_destroy(queue_);  // before consumer_close: a live handle hangs destroy
    queue_ = nullptr;
  }
  StoreOffsets();
  const auto started = std::chrono::steady_clock::now();
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, 0);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    spdlog::warn("kafka final commit failed: {}", rd_kafka_err2str(err));
  } else {
    // Where each partition resumes: what an operator (and the fault tests)
    // compare with the group's committed offsets.
    std::string offsets;
    for (const PartitionState& p : partitions_) {
      if (p.stored_offset < 0) continue;
      offsets += (offsets.empty() ? "" : ",") + p.topic + "/" + std::to_string(p.partition) + ":" +
                 std::to_string(p.stored_offset);
    }
    spdlog::info("kafka final commit done messages={} offsets={}", messages(), offsets);
  }
  // consumer_close() leaves the group; on an unhealthy cluster it can block
  // for session.timeout.ms, so it gets a bounded budget. Past it the process
  // exits anyway: the offsets were committed above.
  rd_kafka_t* rk = rk_;
  auto closed = std::async(std::launch::async, [rk] { return rd_kafka_consumer_close(rk); });
  if (closed.wait_for(config_.kafka.close_timeout) == std::future_status::ready) {
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    spdlog::info("kafka consumer closed in {} ms",
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
  } else {
    spdlog::warn("kafka consumer close exceeded {}; exiting without waiting",
                 util::FormatDuration(config_.kafka.close_timeout));
    // Leak the handle deliberately: destroying it would block too. The future's
    // destructor would join, so move it to a detached thread.
    std::thread([f = std::move(closed)]() mutable { f.wait(); }).detach();
    rk_ = nullptr;
  }
  metrics_.SetLag({});
}

}  // namespace model_auditor::kafka
