#include "metrics/process_collector.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>

namespace model_auditor::metrics {
namespace {

// /proc/stat grows with the CPU count; this bound is far above any real machine's.
constexpr std::size_t kMaxFileBytes = std::size_t{4} * 1024 * 1024;

// POSIX rather than iostreams: /proc files report size 0, and an error must be a value here.
std::optional<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string content;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || content.size() + static_cast<std::size_t>(n) > kMaxFileBytes) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

template <class T>
std::optional<T> ParseNumber(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The fields of /proc/<pid>/stat that we export (proc(5) numbering in comments).
struct ProcStat {
  std::uint64_t utime_ticks = 0;      // 14
  std::uint64_t stime_ticks = 0;      // 15
  std::int64_t threads = 0;           // 20
  std::uint64_t start_time_ticks = 0;  // 22, since boot
  std::uint64_t virtual_bytes = 0;    // 23
  std::int64_t resident_pages = 0;    // 24
};

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  // The command name (field 2) is in parentheses and may itself hold spaces and ')', so fields
  // are counted from the last ')'.
  const std::size_t paren = text.rfind(')');
  if (paren == std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::string_view rest = text.substr(paren + 1);
  while (!rest.empty()) {
    const std::size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  constexpr std::size_t kLastFieldUsed = 24;
  if (fields.size() < kLastFieldUsed - 2) return std::nullopt;
  const auto field = [&](std::size_t number) { return fields[number - 3]; };
  const auto utime = ParseNumber<std::uint64_t>(field(14));
  const auto stime = ParseNumber<std::uint64_t>(field(15));
  const auto threads = ParseNumber<std::int64_t>(field(20));
  const auto start_time = ParseNumber<std::uint64_t>(field(22));
  const auto virtual_bytes = ParseNumber<std::uint64_t>(field(23));
  const auto resident_pages = ParseNumber<std::int64_t>(field(24));
  if (!utime || !stime || !threads || !start_time || !virtual_bytes || !resident_pages) {
    return std::nullopt;
  }
  return ProcStat{*utime, *stime, *threads, *start_time, *virtual_bytes, *resident_pages};
}

std::optional<double> ReadBootTime(const std::string& proc_root) {
  const auto content = ReadFile(proc_root + "/stat");
  if (!content) return std::nullopt;
  std::string_view rest = *content;
  constexpr std::string_view kKey = "btime ";
  while (!rest.empty()) {
    const std::size_t end = std::min(rest.find('\n'), rest.size());
    const std::string_view line = rest.substr(0, end);
    if (line.starts_with(kKey)) {
      const auto value = ParseNumber<std::uint64_t>(line.substr(kKey.size()));
      if (!value) return std::nullopt;
      return static_cast<double>(*value);
    }
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  return std::nullopt;
}

std::optional<double> CountOpenFds(const std::string& proc_root) {
  // The error_code overloads, because a collector must not throw.
  std::error_code ec;
  std::filesystem::directory_iterator it(proc_root + "/self/fd", ec);
  if (ec) return std::nullopt;
  // The descriptor the iterator holds is counted too, as the Go and Python clients do.
  std::size_t count = 0;
  for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return std::nullopt;
    ++count;
  }
  if (ec) return std::nullopt;
  return static_cast<double>(count);
}

std::optional<double> MaxFds() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::nullopt;
  }
  return static_cast<double>(limit.rlim_cur);
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  family.metric.push_back(std::move(metric));
  return family;
}

}  // namespace

ProcessCollector::ProcessCollector(std::string proc_root)
    : proc_root_(std::move(proc_root)),
      ticks_per_second_(::sysconf(_SC_CLK_TCK)),
      page_size_(::sysconf(_SC_PAGESIZE)),
      boot_time_seconds_(ReadBootTime(proc_root_)) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  families.reserve(7);

  const auto content = ReadFile(proc_root_ + "/self/stat");
  const auto stat = content ? ParseProcStat(*content) : std::nullopt;
  if (stat && ticks_per_second_ > 0) {
    const double ticks = static_cast<double>(ticks_per_second_);
    families.push_back(Family("process_cpu_seconds_total",
                              "Total user and system CPU time spent in seconds.",
                              MetricType::Counter,
                              static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks));
  }
  if (const auto fds = CountOpenFds(proc_root_)) {
    families.push_back(Family("process_open_fds", "Number of open file descriptors.",
                              MetricType::Gauge, *fds));
  }
  if (const auto max_fds = MaxFds()) {
    families.push_back(Family("process_max_fds", "Maximum number of open file descriptors.",
                              MetricType::Gauge, *max_fds));
  }
  if (stat) {
    families.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                              MetricType::Gauge, static_cast<double>(stat->virtual_bytes)));
    if (page_size_ > 0) {
      families.push_back(Family("process_resident_memory_bytes", "Resident memory size in bytes.",
                                MetricType::Gauge,
                                static_cast<double>(stat->resident_pages) *
                                    static_cast<double>(page_size_)));
    }
    if (boot_time_seconds_ && ticks_per_second_ > 0) {
      families.push_back(Family("process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.",
                                MetricType::Gauge,
                                *boot_time_seconds_ +
                                    static_cast<double>(stat->start_time_ticks) /
                                        static_cast<double>(ticks_per_second_)));
    }
    families.push_back(Family("process_threads", "Number of OS threads in the process.",
                              MetricType::Gauge, static_cast<double>(stat->threads)));
  }
  return families;
}

}  // namespace model_auditor::metrics
