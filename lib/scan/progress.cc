#include "scan/progress.h"

#include <cstdio>

namespace model_auditor::scan {

std::string HumanBytes(double b) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, kUnits[u]);
  return buf;
}

void Progress::Begin(std::string label, std::int64_t total, const char* unit) {
  if (!enabled_) return;
  End();
  label_ = std::move(label);
  total_ = total;
  unit_ = unit;
  done_ = messages_ = bytes_ = 0;
  start_ = last_draw_ = std::chrono::steady_clock::now();
  active_ = true;
  Draw(false);
}

void Progress::Update(std::uint64_t done, std::uint64_t messages, std::uint64_t bytes) {
  if (!active_) return;
  done_ = done;
  messages_ = messages;
  bytes_ = bytes;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  Draw(false);
}

void Progress::End() {
  if (!active_) return;
  Draw(true);
  active_ = false;
}

void Progress::Draw(bool final) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate_bytes = secs > 0 ? static_cast<double>(bytes_) / secs : 0;
  const double rate_msgs = secs > 0 ? static_cast<double>(messages_) / secs : 0;
  std::string where;
  const bool bytes_unit = unit_[0] == 'B';
  auto amount = [&](double v) {
    return bytes_unit ? HumanBytes(v) : std::to_string(static_cast<std::uint64_t>(v)) + " " + unit_;
  };
  where = amount(static_cast<double>(done_));
  std::string eta;
  if (total_ > 0) {
    where += " of " + amount(static_cast<double>(total_));
    char pct[16];
    std::snprintf(pct, sizeof pct, " (%.0f%%)",
                  100.0 * static_cast<double>(done_) / static_cast<double>(total_));
    where += pct;
    if (!final && done_ > 0 && secs > 0.5) {
      const double left = secs * (static_cast<double>(total_) - static_cast<double>(done_)) /
                          static_cast<double>(done_);
      char buf[32];
      const long s = static_cast<long>(left > 0 ? left : 0);
      std::snprintf(buf, sizeof buf, ", ETA %ld:%02ld", s / 60, s % 60);
      eta = buf;
    }
  }
  char done_in[48] = "";
  if (final) std::snprintf(done_in, sizeof done_in, ", done in %.1f s\n", secs);
  char line[768];
  std::snprintf(line, sizeof line, "\r\033[Kscan %s: %s, %llu messages, %.0f msg/s, %s/s%s%s",
                label_.c_str(), where.c_str(), static_cast<unsigned long long>(messages_),
                rate_msgs, HumanBytes(rate_bytes).c_str(), eta.c_str(), done_in);
  std::fputs(line, stderr);
  std::fflush(stderr);
}

}  // namespace model_auditor::scan
