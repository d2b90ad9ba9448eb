// Window bounds and call-log timestamps: RFC 3339, dates, now-relative bounds,
// and epoch numbers in any of the usual units.

#include <catch2/catch.hpp>

#include "scan/timestamp.h"

namespace ms = model_auditor::scan;

TEST_CASE("RFC 3339 times parse to Unix milliseconds", "[scan][time]") {
  CHECK(ms::ParseRfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(ms::ParseRfc3339("2026-01-01T00:00:00Z") == 1767225600000);
  CHECK(ms::ParseRfc3339("2026-01-01T00:00:00.250Z") == 1767225600250);
  CHECK(ms::ParseRfc3339("2026-01-01T00:00:00.123456789Z") == 1767225600123);
  CHECK(ms::ParseRfc3339("2026-01-01T08:00:00+08:00") == 1767225600000);
  CHECK(ms::ParseRfc3339("2025-12-31T19:30:00-04:30") == 1767225600000);
  CHECK(ms::ParseRfc3339("2026-01-01 00:00:00z") == 1767225600000);
  CHECK(ms::ParseRfc3339("2024-02-29T12:00:00Z") == 1709208000000);
  SECTION("a bare date is midnight UTC") { CHECK(ms::ParseRfc3339("2026-01-01") == 1767225600000); }
  SECTION("anything else is rejected") {
    for (const char* bad :
         {"", "2026", "2026-13-01", "2026-02-29", "2025-02-29T00:00:00Z", "2026-01-01T24:00:00Z",
          "2026-01-01T00:00:00", "2026-01-01T00:00Z", "2026-01-01T00:00:00.Z",
          "2026-01-01T00:00:00Zjunk", "2026-01-01T00:00:00+0800", "yesterday"}) {
      INFO(bad);
      CHECK_FALSE(ms::ParseRfc3339(bad));
    }
  }
}

TEST_CASE("window bounds accept now and now-<duration>", "[scan][time]") {
  const std::int64_t now = 1767225600000;
  CHECK(ms::ParseTimeBound("now", now) == now);
  CHECK(ms::ParseTimeBound("now-24h", now) == now - 86'400'000);
  CHECK(ms::ParseTimeBound("now-7d", now) == now - 7 * 86'400'000LL);
  CHECK(ms::ParseTimeBound("2026-01-01", now) == now);
  CHECK_FALSE(ms::ParseTimeBound("now-", now));
  CHECK_FALSE(ms::ParseTimeBound("now+1h", now));
}

TEST_CASE("epoch numbers are read by magnitude", "[scan][time]") {
  CHECK(ms::EpochToMs(1767225600) == 1767225600000);             // seconds
  CHECK(ms::EpochToMs(1767225600.5) == 1767225600500);           // fractional seconds
  CHECK(ms::EpochToMs(1767225600123.0) == 1767225600123);        // milliseconds
  CHECK(ms::EpochToMs(1767225600123456.0) == 1767225600123);     // microseconds
  CHECK(ms::EpochToMs(1767225600123456789.0) == 1767225600123);  // nanoseconds
  CHECK_FALSE(ms::EpochToMs(0));
  CHECK_FALSE(ms::EpochToMs(-5));
}
