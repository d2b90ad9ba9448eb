#pragma once
// Time values a batch scan reads: the --from/--to bounds of the audit window
// and the timestamp field of a call-log line. All functions are pure and
// thread-safe; times are Unix milliseconds (UTC).

#include <cstdint>
#include <optional>
#include <string_view>

namespace model_auditor::scan {

/// Parses RFC 3339 ("2026-01-31T23:59:59Z", "...T23:59:59.250+08:00"; a space
/// or a lower-case `t`/`z` is accepted too) or a bare date ("2026-01-31",
/// midnight UTC). Fractions below a millisecond are truncated.
std::optional<std::int64_t> ParseRfc3339(std::string_view s);

/// Parses a window bound: RFC 3339 or a date (see above), `now`, or
/// `now-<duration>` (e.g. `now-24h`, `now-7d`) relative to `now_ms`.
std::optional<std::int64_t> ParseTimeBound(std::string_view s, std::int64_t now_ms);

/// Interprets a number as a Unix time in seconds, milliseconds, microseconds or
/// nanoseconds, by magnitude (< 1e11 seconds, < 1e14 ms, < 1e17 us, else ns).
/// Non-positive or non-finite values yield nullopt.
std::optional<std::int64_t> EpochToMs(double value);

}  // namespace model_auditor::scan
