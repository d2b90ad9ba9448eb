#pragma once
// The kafka module owns the consumer group client (librdkafka C API: the C++
// wrapper allocates per message). At-least-once: an offset is stored only after
// its message is counted (offset + 1), committed by librdkafka on an interval,
// synchronously on revoke and on close. The poll thread is the only thread that
// consumes; the fetch waker's thread only asks brokers for offsets.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/auditor.h"
#include "config/config.h"
#include "kafka/fetch_waker.h"
#include "metrics/audit_metrics.h"

namespace model_auditor::kafka {

/// Builds the librdkafka configuration for `config` (our settings plus the
/// passthrough properties). Throws LoadError naming the bad property.
rd_kafka_conf_t* BuildConsumerConf(const config::KafkaConfig& config);

/// Checks every passthrough property against librdkafka without connecting.
/// Returns "" or the error text of the first bad one.
std::string ValidateProperties(const std::map<std::string, std::string>& properties);

/// librdkafka's runtime version string, e.g. "2.0.2".
std::string LibrdkafkaVersion();

/// A consumer group member feeding an Auditor. Not thread-safe: Run() on one
/// thread; RequestStop() may be called from any thread.
class Consumer {
 public:
  Consumer(const config::Config& config, audit::Auditor& auditor, metrics::AuditMetrics& metrics);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  /// Waits for a registry snapshot, subscribes, then polls until `stop` is
  /// set; then counts what it read, commits, closes and returns. `on_loop` is
  /// called at least once a second from the poll thread (liveness/watchdog).
  void Run(const std::atomic<bool>& stop, const std::function<void()>& on_loop);

  std::uint64_t messages() const { return messages_.load(std::memory_order_relaxed); }
  /// Time of the last completed poll-loop iteration (steady clock), for liveness.
  std::chrono::steady_clock::time_point last_loop() const;

 private:
  struct PartitionState {
    std::string topic;
    rd_kafka_topic_t* rkt = nullptr;  // from messages; identifies the topic cheaply
    std::int32_t partition = 0;
    std::int64_t next_offset = -1;    // offset + 1 of the last counted message
    std::int64_t stored_offset = -1;  // last offset handed to offsets_store
    std::int64_t last_ts_ms = 0;
  };
  static void RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void CommitCb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* offsets, void* opaque);
  static void ErrorCb(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void LogCb(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

  void OnAssign(rd_kafka_topic_partition_list_t* partitions);
  void OnRevoke(rd_kafka_topic_partition_list_t* partitions);
  void Process(rd_kafka_message_t* m, std::int64_t wall_ms);
  void ObserveQueue(bool empty);
  std::int64_t ConfInt(const char* name, std::int64_t fallback) const;
  void StoreOffsets();
  void UpdateLag();
  void Close();
  PartitionState* Partition(rd_kafka_topic_t* rkt, std::int32_t partition);

  const config::Config& config_;
  audit::Auditor& auditor_;
  metrics::AuditMetrics& metrics_;
  rd_kafka_t* rk_ = nullptr;
  // Fetch wake-up (librdkafka < 2.2.0, see fetch_waker.h): the consumer queue
  // handle whose length the poll thread watches, and the mean payload size
  // that turns a length into bytes.
  rd_kafka_queue_t* queue_ = nullptr;
  std::optional<PressureTracker> pressure_;
  std::unique_ptr<FetchWaker> waker_;
  double mean_payload_bytes_ = 0;
  std::vector<PartitionState> partitions_;  // current assignment
  std::size_t last_partition_ = 0;
  std::vector<std::pair<rd_kafka_topic_t*, audit::Auditor::TopicContext*>> topic_ctx_;
  std::atomic<std::uint64_t> messages_{0};
  std::atomic<std::int64_t> last_loop_ns_{0};
};

}  // namespace model_auditor::kafka
