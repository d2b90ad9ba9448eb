#include "metrics/process_collector.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <prometheus/text_serializer.h>

namespace model_auditor::metrics {
namespace {

struct Sample {
  prometheus::MetricType type;
  std::string help;
  double value;
};

std::map<std::string, Sample> CollectByName(const ProcessCollector& collector) {
  std::map<std::string, Sample> samples;
  for (const auto& family : collector.Collect()) {
    REQUIRE(family.metric.size() == 1);
    const auto& metric = family.metric.front();
    CHECK(metric.label.empty());
    CHECK(metric.timestamp_ms == 0);
    const double value = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                        : metric.gauge.value;
    samples.emplace(family.name, Sample{family.type, family.help, value});
  }
  return samples;
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A throwaway directory shaped like /proc, removed on scope exit.
class FakeProc {
 public:
  FakeProc() {
    std::random_device random;
    root_ = std::filesystem::temp_directory_path() /
            ("process_collector_test_" + std::to_string(random()));
    std::filesystem::create_directories(root_ / "self" / "fd");
  }
  ~FakeProc() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  FakeProc(const FakeProc&) = delete;
  FakeProc& operator=(const FakeProc&) = delete;

  void Write(const std::string& relative, const std::string& content) const {
    std::ofstream(root_ / relative) << content;
  }
  std::string root() const { return root_.string(); }

 private:
  std::filesystem::path root_;
};

}  // namespace

TEST_CASE("process metrics of this process are plausible", "[metrics]") {
  const ProcessCollector collector;
  const auto samples = CollectByName(collector);

  REQUIRE(samples.count("process_cpu_seconds_total") == 1);
  CHECK(samples.at("process_cpu_seconds_total").type == prometheus::MetricType::Counter);
  CHECK(samples.at("process_cpu_seconds_total").value >= 0);

  REQUIRE(samples.count("process_resident_memory_bytes") == 1);
  CHECK(samples.at("process_resident_memory_bytes").value > 0);
  REQUIRE(samples.count("process_virtual_memory_bytes") == 1);
  CHECK(samples.at("process_virtual_memory_bytes").value >=
        samples.at("process_resident_memory_bytes").value);

  REQUIRE(samples.count("process_start_time_seconds") == 1);
  const double start = samples.at("process_start_time_seconds").value;
  CHECK(start <= NowSeconds() + 1);  // btime has whole-second resolution
  CHECK(start > NowSeconds() - 3600);

  REQUIRE(samples.count("process_max_fds") == 1);
  CHECK(samples.at("process_max_fds").value >= samples.at("process_open_fds").value);
  REQUIRE(samples.count("process_threads") == 1);
  CHECK(samples.at("process_threads").value >= 1);

  for (const auto& [name, sample] : samples) {
    INFO(name);
    CHECK_FALSE(sample.help.empty());
    if (name != "process_cpu_seconds_total") CHECK(sample.type == prometheus::MetricType::Gauge);
  }
}

TEST_CASE("process_open_fds follows files being opened", "[metrics]") {
  const ProcessCollector collector;
  const double before = CollectByName(collector).at("process_open_fds").value;
  const int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const double during = CollectByName(collector).at("process_open_fds").value;
  ::close(fd);
  CHECK(during >= before + 1);
}

TEST_CASE("process metrics serialize as Prometheus text", "[metrics]") {
  const ProcessCollector collector;
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector.Collect());
  const std::string text = out.str();
  CHECK_THAT(text, Catch::Contains("# HELP process_cpu_seconds_total Total user and system CPU"));
  CHECK_THAT(text, Catch::Contains("# TYPE process_cpu_seconds_total counter\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE process_resident_memory_bytes gauge\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE process_start_time_seconds gauge\n"));
  // A sample line is "name value": no labels, no timestamp.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("#")) continue;
    INFO(line);
    CHECK(std::count(line.begin(), line.end(), ' ') == 1);
  }
}

TEST_CASE("process stat parsing copes with awkward command names", "[metrics]") {
  FakeProc proc;
  proc.Write("stat", "cpu  1 2 3\nbtime 1700000000\nprocesses 42\n");
  // Field 2 holds spaces and a ')' of its own; the numbers after it are what counts.
  proc.Write("self/stat",
             "1234 (evil) name (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 "
             "250 150 0 0 20 0 7 0 500 123456789 1000 18446744073709551615\n");
  proc.Write("self/fd/0", "");
  proc.Write("self/fd/1", "");
  const ProcessCollector collector(proc.root());
  const auto samples = CollectByName(collector);
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  CHECK(samples.at("process_cpu_seconds_total").value == Approx(400 / ticks));
  CHECK(samples.at("process_threads").value == 7);
  CHECK(samples.at("process_start_time_seconds").value == Approx(1700000000 + 500 / ticks));
  CHECK(samples.at("process_virtual_memory_bytes").value == 123456789);
  CHECK(samples.at("process_resident_memory_bytes").value ==
        1000.0 * static_cast<double>(::sysconf(_SC_PAGESIZE)));
  CHECK(samples.at("process_open_fds").value == 2);
}

TEST_CASE("unreadable process files leave their metrics out instead of throwing", "[metrics]") {
  FakeProc proc;
  std::filesystem::remove(std::filesystem::path(proc.root()) / "self" / "fd");

  SECTION("nothing readable") {
    const auto samples = CollectByName(ProcessCollector(proc.root()));
    CHECK(samples.count("process_cpu_seconds_total") == 0);
    CHECK(samples.count("process_open_fds") == 0);
    CHECK(samples.count("process_start_time_seconds") == 0);
    CHECK(samples.count("process_max_fds") == 1);  // from getrlimit, not /proc
  }
  SECTION("truncated stat") {
    proc.Write("stat", "btime 1700000000\n");
    proc.Write("self/stat", "1234 (short) S 1 2 3\n");
    CHECK(CollectByName(ProcessCollector(proc.root())).count("process_threads") == 0);
  }
  SECTION("non-numeric stat fields") {
    proc.Write("self/stat",
               "1 (x) S 1 1 1 0 -1 0 0 0 0 0 lots 150 0 0 20 0 7 0 500 1 1 1\n");
    CHECK(CollectByName(ProcessCollector(proc.root())).count("process_cpu_seconds_total") == 0);
  }
  SECTION("stat without btime loses only the start time") {
    proc.Write("stat", "cpu 1 2 3\n");
    proc.Write("self/stat",
               "1 (x) S 1 1 1 0 -1 0 0 0 0 0 250 150 0 0 20 0 7 0 500 1 1 1\n");
    const auto samples = CollectByName(ProcessCollector(proc.root()));
    CHECK(samples.count("process_start_time_seconds") == 0);
    CHECK(samples.count("process_cpu_seconds_total") == 1);
  }
}

}  // namespace model_auditor::metrics
