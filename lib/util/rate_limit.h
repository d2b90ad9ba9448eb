#pragma once
// A tiny rate limiter for run-time error logs: "counted, logged at a rate limit,
// and survived". Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace model_auditor::util {

/// Allows at most one event per `interval`; reports how many were suppressed.
class RateLimiter {
 public:
  explicit RateLimiter(std::chrono::milliseconds interval) : interval_ns_(interval.count() * 1'000'000) {}
  /// True if the caller may log now; `suppressed` gets the count skipped since.
  bool Allow(std::uint64_t& suppressed) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = last_ns_.load(std::memory_order_relaxed);
    if (last != 0 && now - last < interval_ns_) {
      skipped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (!last_ns_.compare_exchange_strong(last, now)) {
      skipped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    suppressed = skipped_.exchange(0);
    return true;
  }

 private:
  std::int64_t interval_ns_;
  std::atomic<std::int64_t> last_ns_{0};
  std::atomic<std::uint64_t> skipped_{0};
};

}  // namespace model_auditor::util
