// Hostile input on the shared broker: poison messages of every kind are each
// counted `malformed` under their bounded reason while the stream goes on, and
// a flood of 1,000,000 distinct names leaves the series count, memory and
// scrape time bounded.

#include <catch2/catch.hpp>
#include <signal.h>

#include <iostream>
#include <sstream>
#include <thread>

#include "fault_support.h"

namespace mt = model_auditor::testing;
using namespace std::chrono_literals;

namespace {

mt::Message Value(std::string value) {
  mt::Message m;
  m.value = std::move(value);
  return m;
}

std::string Named(const std::string& name, const std::string& rest = "") {
  return "{\"model_name\":\"" + name + "\"" + rest + "}";
}

struct Poison {
  const char* what;
  mt::Message message;
  const char* verdict;
  const char* reason;  // malformed reason, or nullptr
};

}  // namespace

TEST_CASE("poison messages are each counted under their verdict and malformed reason, and the "
          "stream goes on",
          "[fault][input]") {
  constexpr int kPartitions = 1;  // one partition: the good messages really come after the poison
  const std::string topic = mt::UniqueName("fault-poison");
  const std::string group = mt::UniqueName("fault-poison-group");
  // Room for a value over the daemon's 8 MiB JSON limit (the broker's default
  // max.message.bytes is ~1 MB).
  mt::CreateTopic(topic, kPartitions, {{"max.message.bytes", "16777216"}});
  mt::TempDir dir;
  const std::string config = mt::WriteConfig(dir, group, topic, "  commit_interval: 1s\n");

  std::string deep_objects, deep_arrays;
  for (int i = 0; i < 10'000; ++i) deep_objects += "{\"a\":";
  deep_objects += "1";
  for (int i = 0; i < 10'000; ++i) deep_objects += "}";
  deep_arrays = std::string(10'000, '[') + std::string(10'000, ']');
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>((i * 131 + 7) % 256));
  mt::Message tombstone;
  tombstone.null_value = true;
  mt::Message bad_header = Value(Named("Qwen-Tiny"));
  bad_header.headers = {{"X-Model-Name", std::string("Qwen\xc3\x28Tiny")}};
  const std::string one_mb(1'000'000, 'x');

  const std::vector<Poison> poison = {
      {"invalid JSON", Value("{\"model_name\": \"Qwen-Tiny\", \"prompt\": "), "malformed", "invalid_json"},
      {"plain text", Value("model_name=Qwen-Tiny"), "malformed", "invalid_json"},
      {"invalid UTF-8 in the value", Value(Named("Qwen-Tiny", ",\"prompt\":\"caf\xe9\"")), "malformed", "invalid_utf8"},
      {"invalid UTF-8 in the name", Value(Named("Qwen\xff-Tiny")), "malformed", "invalid_utf8"},
      // Not JSON is what simdjson's first pass sees, before the byte 0x80.
      {"binary junk", Value(binary), "malformed", "invalid_json"},
      {"binary junk that is UTF-8", Value(std::string("\x01\x02\x03\x7f\x00\x05", 6)), "malformed", "invalid_json"},
      {"a tombstone (null value)", tombstone, "malformed", "no_value"},
      {"an empty value", Value(""), "malformed", "no_value"},
      {"a JSON scalar", Value("\"Qwen-Tiny\""), "malformed", "not_object"},
      {"a number as the name", Value("{\"model_name\":42}"), "malformed", "not_string"},
      {"a 300-byte name", Value(Named(std::string(300, 'q'))), "malformed", "too_long"},
      {"a header that is not UTF-8", bad_header, "malformed", "invalid_utf8"},
      // Valid JSON (RFC 8259 sets no depth limit) is judged by what the
      // pointers find; on-demand parsing skips nesting iteratively, so depth
      // costs no stack (tests/extract: "10,000-deep nesting is survived").
      {"10,000-deep objects", Value(deep_objects), "missing", nullptr},
      {"10,000-deep arrays", Value(deep_arrays), "missing", nullptr},
      {"10,000-deep nesting after the name", Value(Named("Qwen-Tiny", ",\"x\":" + deep_arrays)), "registered", nullptr},
      {"1 MB of text", Value(one_mb), "malformed", "invalid_json"},
      {"a 9 MB value", Value(Named("Qwen-Tiny", ",\"prompt\":\"" + std::string(9u << 20, 'x') + "\"")), "malformed", "too_large"},
      {"a 1 MB valid request", Value(Named("Qwen-Tiny", ",\"prompt\":\"" + one_mb + "\"")), "registered", nullptr},
  };

  constexpr int kGood = 500;
  std::vector<mt::Message> before, after, bad;
  for (int i = 0; i < kGood; ++i) before.push_back(Value(Named("Qwen-Tiny", ",\"seq\":" + std::to_string(i))));
  for (int i = 0; i < kGood; ++i) after.push_back(Value(Named("Qwen3-Next-80B-Optimized", ",\"seq\":" + std::to_string(i))));
  std::map<std::string, double> reasons, verdicts;
  for (const Poison& p : poison) {
    bad.push_back(p.message);
    if (p.reason) reasons[p.reason] += 1;
    verdicts[p.verdict] += 1;
  }
  verdicts["registered"] += 2 * kGood;
  const std::vector<std::pair<std::string, std::string>> big = {{"message.max.bytes", "16777216"}};
  mt::Produce(topic, before, big);
  mt::Produce(topic, bad, big);
  mt::Produce(topic, after, big);
  const auto hw = mt::HighWatermarks(topic, kPartitions);
  const double produced = static_cast<double>(mt::Sum(hw));
  REQUIRE(produced == static_cast<double>(2 * kGood + poison.size()));

  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());
  mt::Samples s;
  const bool drained = mt::Eventually(
      [&] {
        s = mt::TimedScrape(addr).samples;
        return mt::Total(s, topic) >= produced && mt::LagZero(s, topic, kPartitions);
      },
      60s);
  std::ostringstream seen;
  for (const auto& [series, value] : s) {
    if (series.find(topic) != std::string::npos) seen << series << " " << value << "\n";
  }
  INFO("series of the topic:\n" << seen.str());
  REQUIRE(drained);
  CHECK(mt::Total(s, topic) == produced);
  for (const char* v : {"malformed", "missing", "registered", "alias", "inactive", "variant",
                        "typo", "unknown"}) {
    INFO("verdict " << v);
    CHECK(mt::Value(s, "model_audit_messages_total{topic=\"" + topic + "\",verdict=\"" + v + "\"}") ==
          verdicts[v]);
  }
  for (const char* r : {"invalid_json", "not_object", "no_value", "too_large", "not_string",
                        "too_long", "invalid_utf8"}) {
    INFO("reason " << r);
    CHECK(mt::Value(s, "model_audit_malformed_messages_total{topic=\"" + topic + "\",reason=\"" + r + "\"}") ==
          reasons[r]);
  }
  // The good messages around the poison are all counted.
  CHECK(mt::Value(s, "model_audit_model_requests_total{model=\"Qwen-Tiny\",status=\"online\"}") ==
        kGood + 2);
  CHECK(mt::Value(s, "model_audit_model_requests_total{model=\"Qwen3-Next-80B-Optimized\",status=\"online\"}") ==
        kGood);
  daemon.Signal(SIGTERM);
  const auto status = daemon.Wait(10s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(mt::CommittedOffsets(group, topic, kPartitions) == hw);
  std::cout << "fault: " << poison.size() << " poison messages between " << 2 * kGood
            << " good ones: all counted, lag 0" << std::endl;
}

TEST_CASE("a flood of 1,000,000 distinct names: series capped, overflow counted, memory and "
          "scrape time bounded, promtool clean",
          "[fault][input]") {
  constexpr int kPartitions = 3;
  constexpr int kNames = 1'000'000;
  constexpr int kCap = 1000;  // audit.max_unregistered_series default
  const std::string topic = mt::UniqueName("fault-flood");
  const std::string group = mt::UniqueName("fault-flood-group");
  mt::CreateTopic(topic, kPartitions);
  mt::TempDir dir;
  const std::string config = mt::WriteConfig(dir, group, topic);

  // Baseline: the series a daemon exports for this topic with no name yet.
  mt::Produce(topic, {Value(Named("Qwen-Tiny"))});
  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());
  mt::Scrape base;
  REQUIRE(mt::Eventually(
      [&] {
        base = mt::TimedScrape(addr);
        return mt::Total(base.samples, topic) == 1 && mt::LagZero(base.samples, topic, kPartitions);
      },
      60s));
  const std::size_t base_series = base.samples.size();

  std::vector<mt::Message> flood;
  flood.reserve(kNames);
  for (int i = 0; i < kNames; ++i) {
    flood.push_back(Value("{\"model_name\":\"flood-" + std::to_string(i) + "\",\"n\":1}"));
  }
  const auto produce_start = std::chrono::steady_clock::now();
  mt::Produce(topic, flood);
  const double produce_s = mt::SecondsSince(produce_start);
  flood.clear();
  flood.shrink_to_fit();

  mt::Scrape s;
  const bool drained = mt::Eventually(
      [&] {
        s = mt::TimedScrape(addr);
        return mt::Total(s.samples, topic) >= kNames + 1;
      },
      120s, 500ms);
  const double drain_s = mt::SecondsSince(produce_start);
  REQUIRE(drained);
  std::this_thread::sleep_for(1s);
  s = mt::TimedScrape(addr);
  CHECK(mt::Total(s.samples, topic) == kNames + 1);
  CHECK(mt::Value(s.samples, "model_audit_messages_total{topic=\"" + topic + "\",verdict=\"unknown\"}") == kNames);
  CHECK(mt::Value(s.samples, "model_audit_unregistered_names_overflow_total") == kNames - kCap);
  std::size_t per_name = 0, unregistered = 0, active = 0;
  for (const auto& [series, value] : s.samples) {
    if (series.find("model_name=\"flood-") == std::string::npos) continue;
    ++per_name;
    if (series.starts_with("model_audit_unregistered_requests_total{")) ++unregistered;
    if (series.starts_with("model_audit_unknown_model_active{")) ++active;
  }
  CHECK(unregistered == kCap);
  CHECK(active <= kCap);
  // Every other series is one the daemon had before the flood.
  CHECK(s.samples.size() <= base_series + 2 * kCap);
  CHECK(s.samples.size() - per_name == base_series);
  const double rss = mt::Value(s.samples, "process_resident_memory_bytes");
  CHECK(rss > 0);
  CHECK(rss < 200.0 * 1024 * 1024);
  double slowest = 0;
  for (int i = 0; i < 5; ++i) slowest = std::max(slowest, mt::TimedScrape(addr).seconds);
  CHECK(slowest < 1.0);
  const std::string scrape_file = dir.Write("flood.prom", s.body);
  std::string lint;
  const int lint_status = mt::Run("promtool check metrics < " + scrape_file, &lint);
  INFO("promtool: " << lint);
  CHECK(lint_status == 0);
  CHECK(lint.empty());
  std::size_t lines = 0;
  for (char c : s.body) lines += c == '\n';
  std::cout << "fault: flood of " << kNames << " distinct names: produced in " << produce_s
            << " s, counted in " << drain_s << " s; " << s.samples.size() << " series (" << base_series
            << " before, " << unregistered << " + " << active << " per-name), " << lines
            << " lines; overflow " << mt::Value(s.samples, "model_audit_unregistered_names_overflow_total")
            << "; RSS " << rss / (1024 * 1024) << " MiB; slowest of 5 scrapes " << slowest * 1000
            << " ms; promtool clean" << std::endl;
  daemon.Signal(SIGTERM);
  const auto status = daemon.Wait(10s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
}
