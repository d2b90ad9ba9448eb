#pragma once
// Small text utilities shared by every module: UTF-8 validation and decoding,
// duration parsing and time formatting. All functions are pure and thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace model_auditor::util {

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

/// Decodes one code point of well-formed UTF-8 at `s[i]`, advancing `i`.
/// Precondition: IsValidUtf8(s) and i < s.size().
char32_t DecodeUtf8(std::string_view s, std::size_t& i);

/// Appends the UTF-8 encoding of `cp` to `out`.
void AppendUtf8(std::string& out, char32_t cp);

/// Parses a Go/Prometheus style duration ("500ms", "30s", "5m", "1h30m", "2d").
/// Returns nullopt on anything else (including negative or empty).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view s);

/// Formats a duration the way ParseDuration reads it ("5m", "1h30m", "250ms").
std::string FormatDuration(std::chrono::milliseconds d);

/// RFC 3339 UTC with millisecond precision, e.g. "2026-11-29T06:30:00.123Z".
/// `unix_ms` <= 0 yields "" (unknown time).
std::string FormatRfc3339(std::int64_t unix_ms);

/// Milliseconds since the Unix epoch (system clock).
std::int64_t NowUnixMs();

/// ASCII lower-casing of the whole string.
std::string AsciiLower(std::string_view s);

/// Simple glob matching with '*' (any run) and '?' (one byte).
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace model_auditor::util
