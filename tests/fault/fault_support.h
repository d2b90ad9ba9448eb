#pragma once
// Helpers for the fault tests (ctest label `fault`): a broker of the test's own
// (scripts/kafka.sh in a private state dir, so killing or hanging it disturbs
// no other test), a producer that keeps a steady load through faults, and the
// daemon's configuration and counters.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../integration/support.h"

namespace model_auditor::testing {

/// A single-node broker owned by one test. While it lives, KAFKA_BOOTSTRAP
/// names it (the previous value comes back at destruction), so the shared
/// helpers (CreateTopic, Produce, CommittedOffsets, ...) talk to it.
class OwnBroker {
 public:
  OwnBroker();   // scripts/kafka.sh start
  ~OwnBroker();  // resume if paused, stop, remove the state dir
  OwnBroker(const OwnBroker&) = delete;
  OwnBroker& operator=(const OwnBroker&) = delete;
  const std::string& bootstrap() const { return bootstrap_; }
  void Kill9();
  void Restart();  // same ports and data; waits until it answers
  void Pause();
  void Resume();

 private:
  void Script(const std::string& command);
  std::string bootstrap_;
  std::string state_dir_;
  std::string previous_bootstrap_;
  bool had_previous_ = false;
  bool paused_ = false;
};

/// Produces `rate` small messages a second to `topic` on its own thread
/// (acks=all, librdkafka retries through broker outages). Every message names
/// the registered model Qwen-Tiny, so the daemon counts it as `registered`.
class LoadProducer {
 public:
  LoadProducer(std::string topic, int rate);
  ~LoadProducer();  // Stop()
  /// Stops producing new messages (the ones queued are still delivered).
  void Hold();
  void Release();
  /// Stops, waits (<= 120 s) for every delivery report, returns the number of
  /// messages the broker acknowledged.
  std::uint64_t Stop();
  /// Messages handed to librdkafka / acknowledged / failed so far.
  std::uint64_t sent() const { return sent_.load(); }
  std::uint64_t delivered() const { return delivered_.load(); }
  std::uint64_t failed() const { return failed_.load(); }
  /// Waits until every message handed over so far is acknowledged.
  bool Flush(std::chrono::milliseconds timeout);

 private:
  static void DeliveryCb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
  void Loop();

  std::string topic_;
  int rate_;
  rd_kafka_t* rk_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<bool> hold_{false};
  std::atomic<bool> held_{false};  // the loop has seen hold_ and stopped sending
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::mutex mu_;  // serializes rd_kafka_poll/flush between the loop and Flush()
  std::thread thread_;
  bool stopped_ = false;
};

/// Writes config.yaml (and registry.yaml, a copy of config/registry.yaml) into
/// `dir` for the daemon under test; `extra` is appended to the kafka section.
std::string WriteConfig(const TempDir& dir, const std::string& group, const std::string& topic,
                        const std::string& extra_kafka = "", const std::string& extra = "");

/// Sum of model_audit_messages_total{topic} over every verdict.
double Total(const Samples& s, const std::string& topic);
/// Sum of a partition-indexed vector.
std::int64_t Sum(const std::vector<std::int64_t>& v);

/// One timed scrape of /metrics.
struct Scrape {
  int status = 0;
  double seconds = 0;
  Samples samples;
  std::string body;
};
Scrape TimedScrape(const std::string& address);

/// Parses the daemon's "kafka final commit done messages=N offsets=..." log
/// line: N, and the committed offset per "topic/partition". Returns false when
/// the line is absent.
bool FinalCommit(const std::string& log, std::uint64_t* messages,
                 std::map<std::string, std::int64_t>* offsets);

double SecondsSince(std::chrono::steady_clock::time_point t);

}  // namespace model_auditor::testing

namespace model_auditor::testing {
/// True when every partition 0..n-1 of `topic` has a lag series equal to 0.
bool LagZero(const Samples& s, const std::string& topic, int partitions);
}  // namespace model_auditor::testing
