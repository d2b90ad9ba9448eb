#include "scan/timestamp.h"

#include <cmath>

#include "util/text.h"

namespace model_auditor::scan {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Reads exactly `n` digits at s[i]; advances i.
bool Digits(std::string_view s, std::size_t& i, int n, int& out) {
  if (i + static_cast<std::size_t>(n) > s.size()) return false;
  out = 0;
  for (int k = 0; k < n; ++k, ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

}  // namespace

std::optional<std::int64_t> ParseRfc3339(std::string_view s) {
  std::size_t i = 0;
  int year, month, day;
  if (!Digits(s, i, 4, year) || i >= s.size() || s[i++] != '-' || !Digits(s, i, 2, month) ||
      i >= s.size() || s[i++] != '-' || !Digits(s, i, 2, day)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 ||
      day > kDays[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0)) {
    return std::nullopt;
  }
  const std::int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  if (i == s.size()) return days * 86'400'000;  // a bare date
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return std::nullopt;
  ++i;
  int hour, minute, second;
  if (!Digits(s, i, 2, hour) || i >= s.size() || s[i++] != ':' || !Digits(s, i, 2, minute) ||
      i >= s.size() || s[i++] != ':' || !Digits(s, i, 2, second)) {
    return std::nullopt;
  }
  // 60 is a leap second; it is read as the next second's start.
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    int scale = 100;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ms += static_cast<std::int64_t>(s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  if (i >= s.size()) return std::nullopt;  // RFC 3339 requires an offset
  std::int64_t offset_min = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    const int sign = s[i++] == '-' ? -1 : 1;
    int oh, om;
    if (!Digits(s, i, 2, oh) || i >= s.size() || s[i++] != ':' || !Digits(s, i, 2, om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    offset_min = static_cast<std::int64_t>(sign) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const std::int64_t secs = days * 86'400 + static_cast<std::int64_t>(hour) * 3600 +
                            static_cast<std::int64_t>(minute) * 60 + second - offset_min * 60;
  return secs * 1000 + ms;
}

std::optional<std::int64_t> ParseTimeBound(std::string_view s, std::int64_t now_ms) {
  if (s == "now") return now_ms;
  if (s.starts_with("now-")) {
    const auto d = util::ParseDuration(s.substr(4));
    if (!d) return std::nullopt;
    return now_ms - d->count();
  }
  return ParseRfc3339(s);
}

std::optional<std::int64_t> EpochToMs(double v) {
  if (!std::isfinite(v) || v <= 0) return std::nullopt;
  double ms;
  if (v < 1e11) {
    ms = v * 1e3;
  } else if (v < 1e14) {
    ms = v;
  } else if (v < 1e17) {
    ms = v / 1e3;
  } else {
    ms = v / 1e6;
  }
  if (ms > 9.2e15) return std::nullopt;  // past year 290,000: not a timestamp
  return static_cast<std::int64_t>(ms);
}

}  // namespace model_auditor::scan
