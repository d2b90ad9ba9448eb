#include "kafka/fetch_waker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace model_auditor::kafka {

bool FetcherIdlesWhenQueueFull(int librdkafka_version) {
  // rd_kafka_version(): 0xMMmmrrxx. fetch.queue.backoff.ms arrived in 2.2.0.
  return librdkafka_version < 0x02020000;
}

PressureTracker::PressureTracker(std::int64_t max_messages, std::int64_t max_bytes)
    : max_messages_(std::max<std::int64_t>(1, max_messages)),
      max_bytes_(std::max<std::int64_t>(1, max_bytes)) {}

double PressureTracker::Pressure(std::int64_t queued_messages, double mean_payload_bytes) const {
  const double n = static_cast<double>(std::max<std::int64_t>(0, queued_messages));
  return std::max(n / static_cast<double>(max_messages_),
                  n * std::max(0.0, mean_payload_bytes) / static_cast<double>(max_bytes_));
}

bool PressureTracker::Observe(std::int64_t queued_messages, double mean_payload_bytes) {
  const double p = Pressure(queued_messages, mean_payload_bytes);
  if (p >= 0.5) {
    saturated_ = true;
    return false;
  }
  if (saturated_ && p <= 0.25) {
    saturated_ = false;
    return true;
  }
  return false;
}

void PressureTracker::ObserveBatch(std::int64_t messages, double mean_payload_bytes) {
  if (Pressure(messages, mean_payload_bytes) >= 0.5) saturated_ = true;
}

bool PressureTracker::ObserveEmpty() {
  const bool due = saturated_;
  saturated_ = false;
  return due;
}

FetchWaker::FetchWaker(rd_kafka_t* rk, std::function<void()> on_sent)
    : rk_(rk), on_sent_(std::move(on_sent)) {
  thread_ = std::thread([this] { Run(); });
}

FetchWaker::~FetchWaker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void FetchWaker::SetAssignment(std::vector<std::pair<std::string, std::int32_t>> partitions) {
  std::lock_guard<std::mutex> lock(mu_);
  partitions_ = std::move(partitions);
}

void FetchWaker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_) return;
    pending_ = true;
  }
  cv_.notify_one();
}

void FetchWaker::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || pending_; });
    if (stop_) return;
    // Cleared before sending: a Wake() that arrives while this request is in
    // flight sends another one afterwards instead of being lost.
    pending_ = false;
    if (partitions_.empty()) continue;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size()));
    for (const auto& [topic, partition] : partitions_) {
      // Offset -1 asks for the latest offset: the cheapest ListOffsets there is.
      rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = -1;
    }
    lock.unlock();
    // One ListOffsets request per leader broker; its arrival wakes that
    // broker's thread, which then fetches if the queue has room.
    const rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk_, list, kTimeoutMs);
    rd_kafka_topic_partition_list_destroy(list);
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    if (on_sent_) on_sent_();
    if (err) spdlog::debug("kafka fetch wake-up: offsets request failed: {}", rd_kafka_err2str(err));
    lock.lock();
  }
}

}  // namespace model_auditor::kafka
