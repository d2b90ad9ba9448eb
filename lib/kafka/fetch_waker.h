#pragma once
// Fetch wake-up for librdkafka < 2.2.0 (Debian bookworm ships 2.0.2).
//
// When the pre-fetch queue reaches `queued.min.messages` or
// `queued.max.messages.kbytes`, librdkafka's broker threads stop fetching and
// look at the queue again only when something wakes them: a request or
// response on their connection, or their 1 s timer. Nothing wakes them when the
// application drains the queue (2.2.0 added `fetch.queue.backoff.ms` for that).
// So whenever the daemon processes slower than the broker delivers (draining a
// backlog), the queue fills and the fetcher then idles for most of every
// second (bench/run.sh: 0.3-0.6M msgs/s instead of ~1M).
//
// The poll thread tracks how full the queue is (PressureTracker). Once a
// saturated queue has been drained to a quarter, it calls Wake(); a helper
// thread then asks every leader of the assignment for its latest offsets
// (rd_kafka_offsets_for_times, one ListOffsets request per leader broker). Any
// request wakes the leader's broker thread, which re-checks the thresholds and
// fetches at once. Cost: one small request per leader per fill-and-drain
// cycle, only while the queue is saturated.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace model_auditor::kafka {

/// True when this librdkafka lacks `fetch.queue.backoff.ms` (< 2.2.0), i.e.
/// when a saturated pre-fetch queue idles the fetcher for up to a second.
bool FetcherIdlesWhenQueueFull(int librdkafka_version);

/// Decides, from the poll thread's view of the consumer queue, when a wake-up
/// is due. Pure logic (no librdkafka calls), so it is unit-tested on its own.
class PressureTracker {
 public:
  /// `max_messages` and `max_bytes`: the queue thresholds in force
  /// (queued.min.messages, queued.max.messages.kbytes * 1024).
  PressureTracker(std::int64_t max_messages, std::int64_t max_bytes);

  /// Called with the queue length seen at the start of a poll batch, and the
  /// mean payload size of the messages processed so far. Returns true when a
  /// wake-up is due: the queue was at least half full (by either threshold)
  /// since the last wake-up and is now at most a quarter full.
  bool Observe(std::int64_t queued_messages, double mean_payload_bytes);
  /// Called after a poll batch with the number of messages it took: the queue
  /// held at least that many, perhaps between two observations (a batch can
  /// see the queue fill and drain). Marks the queue saturated if that is at
  /// least half a threshold; never due by itself.
  void ObserveBatch(std::int64_t messages, double mean_payload_bytes);
  /// Called when a poll found the queue empty. Returns true when the queue
  /// had been saturated since the last wake-up.
  bool ObserveEmpty();

  /// Fill level as a fraction of the nearer threshold (for tests and logs).
  double Pressure(std::int64_t queued_messages, double mean_payload_bytes) const;

 private:
  std::int64_t max_messages_;
  std::int64_t max_bytes_;
  bool saturated_ = false;
};

/// Sends the wake-up requests from its own thread, so that the poll thread
/// never blocks on the network. Wake() calls coalesce: at most one request waits
/// while another is in flight.
class FetchWaker {
 public:
  /// `on_sent` runs on the waker's thread after each request (a metric).
  FetchWaker(rd_kafka_t* rk, std::function<void()> on_sent);
  ~FetchWaker();  // stops and joins (a request in flight is bounded by kTimeoutMs)
  FetchWaker(const FetchWaker&) = delete;
  FetchWaker& operator=(const FetchWaker&) = delete;

  /// Replaces the partitions to wake (the current assignment). Any thread.
  void SetAssignment(std::vector<std::pair<std::string, std::int32_t>> partitions);
  /// Requests a wake-up; returns at once.
  void Wake();
  /// Wake-ups sent (one offsets request each, covering every leader).
  std::uint64_t wakeups() const { return wakeups_.load(std::memory_order_relaxed); }

  static constexpr int kTimeoutMs = 500;

 private:
  void Run();

  rd_kafka_t* rk_;
  std::function<void()> on_sent_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  std::vector<std::pair<std::string, std::int32_t>> partitions_;
  std::atomic<std::uint64_t> wakeups_{0};
  std::thread thread_;
};

}  // namespace model_auditor::kafka
