#pragma once
// Audits what Kafka topics hold between two points: every partition is
// assigned directly (no group join, enable.auto.commit=false, nothing ever
// committed), starts at the first offset whose timestamp is >= --from
// (offsets_for_times) and stops before the first offset whose timestamp is
// >= --to, or at the high watermark read when the scan started. All
// partitions are read in parallel by one consumer; each stops at its own end.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "report/report.h"
#include "scan/session.h"

namespace model_auditor::scan {

struct KafkaScanOptions {
  std::vector<std::string> topics;  // explicit names; or
  std::string topic_regex;  // the config's topic_regex, matched against the cluster's topics
  std::optional<std::int64_t> from_ms;      // inclusive
  std::optional<std::int64_t> to_ms;        // exclusive
  std::optional<std::int64_t> from_offset;  // inclusive, every partition
  std::optional<std::int64_t> to_offset;    // exclusive, every partition
  std::chrono::milliseconds timeout{
      30'000};  // metadata/offset requests; and no progress for this long fails the scan
};

/// One batch scan of Kafka. Not thread-safe.
class KafkaScan {
 public:
  /// Creates the client (config.kafka.brokers and properties, TLS/SASL included).
  KafkaScan(const config::Config& config, KafkaScanOptions options);
  ~KafkaScan();
  KafkaScan(const KafkaScan&) = delete;
  KafkaScan& operator=(const KafkaScan&) = delete;

  /// Resolves topics, partitions and the offset range of each. Throws
  /// LoadError for a missing topic, or a range that starts below the log
  /// start (deleted or compacted away), and std::runtime_error when the
  /// cluster does not answer.
  void Plan();
  std::size_t topic_count() const { return topics_.size(); }
  /// Messages the plan covers (sum of the ranges).
  std::int64_t planned_messages() const;
  /// The group id the client carries (librdkafka needs one to assign; it
  /// never joins and never commits).
  const std::string& group_id() const { return group_id_; }

  /// Reads every range; one ScanInput per topic. A stalled or failed read
  /// ends the scan and is reported in ScanInput::error.
  std::vector<report::ScanInput> Run(Session& session);

 private:
  struct Part {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t low = 0, high = 0;   // watermarks at plan time
    std::int64_t start = 0, end = 0;  // [start, end)
    std::int64_t next = 0;
    bool done = false;
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
  };
  Part* Find(rd_kafka_topic_t* rkt, std::int32_t partition);
  void Finish(Part& p);

  const config::Config& config_;
  KafkaScanOptions options_;
  std::string group_id_;
  rd_kafka_t* rk_ = nullptr;
  std::vector<std::string> topics_;
  std::vector<Part> parts_;
  std::size_t remaining_ = 0;
};

}  // namespace model_auditor::scan
