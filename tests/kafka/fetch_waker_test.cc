#include "kafka/fetch_waker.h"

#include <catch2/catch.hpp>

namespace model_auditor::kafka {
namespace {

TEST_CASE("the fetcher idles on a full queue before librdkafka 2.2.0", "[kafka][waker]") {
  CHECK(FetcherIdlesWhenQueueFull(0x020002ff));  // 2.0.2 (Debian bookworm)
  CHECK(FetcherIdlesWhenQueueFull(0x020100ff));  // 2.1.0
  CHECK_FALSE(FetcherIdlesWhenQueueFull(0x020200ff));  // 2.2.0: fetch.queue.backoff.ms
  CHECK_FALSE(FetcherIdlesWhenQueueFull(0x020a00ff));
}

TEST_CASE("a wake-up is due once a saturated queue is drained to a quarter", "[kafka][waker]") {
  // 1,000 messages or 1,000,000 bytes, whichever comes first.
  PressureTracker t(1000, 1'000'000);
  SECTION("by message count") {
    CHECK_FALSE(t.Observe(200, 10));  // never saturated: nothing to wake
    CHECK_FALSE(t.Observe(499, 10));
    CHECK_FALSE(t.Observe(500, 10));  // half full: the fetcher may stop soon
    CHECK_FALSE(t.Observe(400, 10));  // draining, not yet a quarter
    CHECK(t.Observe(250, 10));        // a quarter: wake it now
    CHECK_FALSE(t.Observe(100, 10));  // once per saturation
    CHECK_FALSE(t.ObserveEmpty());
  }
  SECTION("by bytes: few messages, large payloads") {
    CHECK_FALSE(t.Observe(100, 6000));  // 600 KB of 1 MB
    CHECK(t.Observe(40, 6000));         // 240 KB
  }
  SECTION("an emptied queue wakes the fetcher if it was saturated") {
    CHECK_FALSE(t.ObserveEmpty());
    CHECK_FALSE(t.Observe(900, 10));
    CHECK(t.ObserveEmpty());
    CHECK_FALSE(t.ObserveEmpty());
  }
  SECTION("a batch that took half a queue marks it saturated (it may have filled unseen)") {
    CHECK_FALSE(t.Observe(100, 10));  // looked a tenth full at the batch's start
    t.ObserveBatch(400, 10);          // not enough
    CHECK_FALSE(t.ObserveEmpty());
    t.ObserveBatch(600, 10);          // the batch took 600: the queue filled meanwhile
    CHECK(t.ObserveEmpty());
    t.ObserveBatch(60, 9000);         // by bytes: 540 KB of 1 MB
    CHECK(t.Observe(20, 9000));
  }
  SECTION("pressure is the fill level of the nearer threshold") {
    CHECK(t.Pressure(500, 0) == Approx(0.5));
    CHECK(t.Pressure(100, 5000) == Approx(0.5));
    CHECK(t.Pressure(-3, 100) == Approx(0.0));
  }
}

}  // namespace
}  // namespace model_auditor::kafka
