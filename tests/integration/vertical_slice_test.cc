// The vertical slice on a real Apache Kafka broker: a realistic stream of
// 123,000 messages over 3 partitions is counted exactly (every verdict, model
// and name), the scrape is promtool-clean, SIGTERM commits exactly what was
// counted, and a restart neither misses nor recounts anything.

#include <catch2/catch.hpp>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "support.h"

namespace mt = model_auditor::testing;

namespace {

struct Case {
  int weight;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  bool null_value;
  const char* verdict;
  const char* model;   // model_requests_total{model,status}, or nullptr
  const char* status;
  const char* unreg_name;  // unregistered_requests_total{model_name,verdict,suggestion}, or nullptr
  const char* suggestion;
  bool conflict;
  const char* malformed_reason;  // or nullptr
};

std::string Body(const std::string& name_field, int i) {
  // ~400 bytes, shaped like a gateway's call log record.
  return "{\"request_id\":\"req-" + std::to_string(i) + "\"," + name_field +
         "\"caller\":\"svc-" + std::to_string(i % 23) +
         "\",\"source_ip\":\"10.0." + std::to_string(i % 250) + "." + std::to_string(i % 199) +
         "\",\"prompt_tokens\":" + std::to_string(100 + i % 900) +
         ",\"max_tokens\":512,\"temperature\":0.7,\"stream\":false,\"prompt\":\"Summarize the "
         "quarterly GPU utilization report for the inference cluster and list anomalies by data "
         "center, with the model that served each request.\",\"meta\":{\"region\":\"cn-hangzhou\","
         "\"tenant\":\"t-" + std::to_string(i % 7) + "\"}}";
}

std::vector<Case> Cases() {
  auto named = [](const std::string& n) { return "\"model_name\":\"" + n + "\","; };
  return {
      {30, named("Qwen3-Next-80B-Optimized"), {}, false, "registered", "Qwen3-Next-80B-Optimized", "online", nullptr, nullptr, false, nullptr},
      {10, "\"model\":\"Qwen3-Next-72B-Cloud\",", {}, false, "registered", "Qwen3-Next-72B-Cloud", "online", nullptr, nullptr, false, nullptr},
      {5, "\"request\":{\"model\":\"Qwen-Tiny\"},", {}, false, "registered", "Qwen-Tiny", "online", nullptr, nullptr, false, nullptr},
      {8, named("qwen3_next_80b_optimized"), {}, false, "alias", "Qwen3-Next-80B-Optimized", "online", nullptr, nullptr, false, nullptr},
      {3, named("Qwen2-7B"), {}, false, "inactive", "Qwen2-7B", "retired", "Qwen2-7B", "Qwen3-Next-72B-Cloud", false, nullptr},
      {5, named("qwen3_next_72b_cloud"), {}, false, "variant", nullptr, nullptr, "qwen3_next_72b_cloud", "Qwen3-Next-72B-Cloud", false, nullptr},
      {2, named("Qwen3-Next-80B-Optimzed"), {}, false, "typo", nullptr, nullptr, "Qwen3-Next-80B-Optimzed", "Qwen3-Next-80B-Optimized", false, nullptr},
      {4, named("Qwen3-Next-80B-Local"), {}, false, "unknown", nullptr, nullptr, "Qwen3-Next-80B-Local", "", false, nullptr},
      {5, named("Qwen-Tiny"), {{"X-Model-Name", "Qwen-Tiny"}}, false, "registered", "Qwen-Tiny", "online", nullptr, nullptr, false, nullptr},
      {2, named("Qwen3-Next-80B-Optimized"), {{"X-Model-Name", "Qwen3-Next-80B-Local"}}, false, "unknown", nullptr, nullptr, "Qwen3-Next-80B-Local", "", true, nullptr},
      {2, "@plain", {{"X-Model-Name", "StableDiffusionXL"}}, false, "registered", "StableDiffusionXL", "testing", nullptr, nullptr, false, nullptr},
      {1, "@{\"model_name\": \"Qwen-Tiny\", \"prompt\": \"unterminated", {}, false, "malformed", nullptr, nullptr, nullptr, nullptr, false, "invalid_json"},
      {1, "\"model_name\":42,", {}, false, "malformed", nullptr, nullptr, nullptr, nullptr, false, "not_string"},
      {2, "", {}, false, "missing", nullptr, nullptr, nullptr, nullptr, false, nullptr},
      {1, "", {}, true, "malformed", nullptr, nullptr, nullptr, nullptr, false, "no_value"},
      {1, named("<script>alert(1)</script>"), {}, false, "unknown", nullptr, nullptr, "<script>alert(1)</script>", "", false, nullptr},
  };
}

// Builds `rounds` rounds of the weighted cases and the exact expected series.
std::vector<mt::Message> Build(const std::string& topic, int rounds, int seq0,
                               std::map<std::string, double>& expect) {
  const auto cases = Cases();
  std::vector<mt::Message> out;
  int seq = seq0;
  for (int r = 0; r < rounds; ++r) {
    for (const Case& c : cases) {
      for (int w = 0; w < c.weight; ++w, ++seq) {
        mt::Message m;
        m.key = "caller-" + std::to_string(seq % 50);
        m.headers = c.headers;
        m.null_value = c.null_value;
        if (c.value.starts_with("@")) {
          m.value = c.value == "@plain" ? "plain text, not JSON" : c.value.substr(1);
        } else if (!c.null_value) {
          m.value = Body(c.value, seq);
        }
        out.push_back(std::move(m));
        expect["model_audit_messages_total{topic=\"" + topic + "\",verdict=\"" + c.verdict + "\"}"] += 1;
        if (c.model) {
          expect["model_audit_model_requests_total{model=\"" + std::string(c.model) +
                 "\",status=\"" + c.status + "\"}"] += 1;
        }
        if (c.unreg_name) {
          expect["model_audit_unregistered_requests_total{model_name=\"" + std::string(c.unreg_name) +
                 "\",verdict=\"" + c.verdict + "\",suggestion=\"" + c.suggestion + "\"}"] += 1;
        }
        expect["model_audit_name_conflicts_total{topic=\"" + topic + "\"}"] += c.conflict ? 1 : 0;
        if (c.malformed_reason) {
          expect["model_audit_malformed_messages_total{topic=\"" + topic + "\",reason=\"" +
                 c.malformed_reason + "\"}"] += 1;
        }
      }
    }
  }
  for (const char* v : {"malformed", "missing", "registered", "alias", "inactive", "variant", "typo", "unknown"}) {
    expect.try_emplace("model_audit_messages_total{topic=\"" + topic + "\",verdict=\"" + v + "\"}", 0);
  }
  return out;
}

double Total(const mt::Samples& s, const std::string& topic) {
  double sum = 0;
  for (const char* v : {"malformed", "missing", "registered", "alias", "inactive", "variant", "typo", "unknown"}) {
    sum += mt::Value(s, "model_audit_messages_total{topic=\"" + topic + "\",verdict=\"" + v + "\"}", 0);
  }
  return sum;
}

long RssBytes(const mt::Samples& s) {
  return static_cast<long>(mt::Value(s, "process_resident_memory_bytes", 0));
}

}  // namespace

TEST_CASE("a realistic stream on a real broker is counted exactly, committed on SIGTERM, and "
          "neither missed nor recounted after a restart",
          "[integration][kafka]") {
  const std::string topic = mt::UniqueName("model-inference-requests");
  const std::string group = mt::UniqueName("model-auditor-it");
  constexpr int kPartitions = 3;
  mt::CreateTopic(topic, kPartitions);

  mt::TempDir dir;
  std::ifstream reg(mt::SourceDir() + "/config/registry.yaml");
  std::stringstream registry;
  registry << reg.rdbuf();
  dir.Write("registry.yaml", registry.str());
  const std::string config = dir.Write("config.yaml",
      "kafka:\n  brokers: " + mt::Bootstrap() + "\n  group_id: " + group + "\n  topics: [" + topic +
      "]\n  commit_interval: 1s\n"
      "extraction:\n  - topics: \"*\"\n    sources:\n      - header: X-Model-Name\n"
      "      - json_pointer: /model_name\n      - json_pointer: /model\n"
      "      - json_pointer: /request/model\n"
      "registry:\n  file: registry.yaml\n");

  std::map<std::string, double> expect;
  const auto first = Build(topic, 1500, 0, expect);
  REQUIRE(first.size() == 123'000);
  const auto produce_start = std::chrono::steady_clock::now();
  mt::Produce(topic, first);
  const double produce_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - produce_start).count();

  const auto start = std::chrono::steady_clock::now();
  auto daemon = std::make_unique<mt::Daemon>(
      std::vector<std::string>{"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
      dir.path() + "/daemon1.log");
  const std::string addr = daemon->WaitListening();
  mt::Samples s;
  const bool drained = mt::Eventually(
      [&] {
        s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
        return Total(s, topic) >= 123'000;
      },
      std::chrono::seconds(120));
  const double drain_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("daemon log:\n" << daemon->Log());
  REQUIRE(drained);
  // Lag reaches 0 on every partition once the fetcher has seen the end.
  REQUIRE(mt::Eventually(
      [&] {
        s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
        for (int p = 0; p < kPartitions; ++p) {
          if (mt::Value(s, "model_audit_kafka_consumer_lag_messages{topic=\"" + topic +
                               "\",partition=\"" + std::to_string(p) + "\"}") != 0) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(30)));
  std::cout << "integration: produced 123000 messages in " << produce_s << " s; daemon counted all "
            << "(lag 0) " << drain_s << " s after start; RSS " << RssBytes(s) / (1024 * 1024)
            << " MiB" << std::endl;

  {
    for (const auto& [series, value] : expect) {
      INFO(series);
      CHECK(mt::Value(s, series) == value);
    }
    CHECK(Total(s, topic) == 123'000);
    CHECK(mt::Value(s, "model_audit_unknown_model_active{model_name=\"Qwen3-Next-80B-Local\","
                       "verdict=\"unknown\",suggestion=\"\"}") == 1);
    CHECK(mt::Value(s, "model_audit_registry_models{status=\"online\"}") == 4);
    CHECK(mt::Value(s, "model_audit_registry_reloads_total{result=\"success\"}") == 1);
    CHECK(mt::Value(s, "model_audit_kafka_group_joined") == 1);
    CHECK(mt::Value(s, "model_audit_build_info{version=\"0.1.0\",librdkafka_version=\"2.0.2\"}") == 1);
    CHECK(mt::Value(s, "process_resident_memory_bytes") > 0);
  }

  // The scrape passes promtool's linter with no complaint.
  const std::string scrape = mt::HttpRequest(addr, "/metrics").body;
  const std::string scrape_file = dir.Write("scrape.prom", scrape);
  std::string lint;
  const int lint_status = mt::Run("promtool check metrics < " + scrape_file, &lint);
  INFO("promtool: " << lint);
  CHECK(lint_status == 0);
  CHECK(lint.empty());

  CHECK(mt::HttpRequest(addr, "/-/ready").status == 200);
  CHECK(mt::HttpRequest(addr, "/-/healthy").status == 200);
  const auto page = mt::HttpRequest(addr, "/");
  CHECK(page.status == 200);
  CHECK_THAT(page.body, Catch::Contains("Qwen3-Next-80B-Local"));
  CHECK_THAT(page.body, Catch::Contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK_THAT(page.body, !Catch::Contains("<script>"));
  const auto report = mt::HttpRequest(addr, "/api/v1/report");
  CHECK(report.status == 200);
  CHECK(report.content_type == "application/json");
  CHECK_THAT(report.body, Catch::Contains("\"normalized\":\"qwen3next80blocal\""));
  CHECK_THAT(report.body, Catch::Contains("\"messages\":123000"));

  // SIGTERM: exit 0 within 10 s, and the group's committed offsets are exactly
  // the end of what was counted.
  const auto term = std::chrono::steady_clock::now();
  daemon->Signal(SIGTERM);
  const auto status = daemon->Wait(std::chrono::seconds(10));
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  std::cout << "integration: SIGTERM to exit "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - term).count() << " s"
            << std::endl;
  CHECK(mt::CommittedOffsets(group, topic, kPartitions) == mt::HighWatermarks(topic, kPartitions));

  // Restart and produce more: the new process counts exactly the new messages.
  std::map<std::string, double> expect2;
  const auto second = Build(topic, 100, 1'000'000, expect2);
  REQUIRE(second.size() == 8'200);
  mt::Produce(topic, second);
  daemon = std::make_unique<mt::Daemon>(
      std::vector<std::string>{"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
      dir.path() + "/daemon2.log");
  const std::string addr2 = daemon->WaitListening();
  INFO("daemon log:\n" << daemon->Log());
  REQUIRE(mt::Eventually(
      [&] {
        s = mt::ParseMetrics(mt::HttpRequest(addr2, "/metrics").body);
        return Total(s, topic) >= 8'200;
      },
      std::chrono::seconds(60)));
  // Give a recount the chance to show before asserting there was none.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  s = mt::ParseMetrics(mt::HttpRequest(addr2, "/metrics").body);
  CHECK(Total(s, topic) == 8'200);
  for (const auto& [series, value] : expect2) {
    INFO(series);
    CHECK(mt::Value(s, series) == value);
  }
  daemon->Signal(SIGTERM);
  const auto status2 = daemon->Wait(std::chrono::seconds(10));
  REQUIRE(status2.has_value());
  CHECK(*status2 == 0);
  CHECK(mt::CommittedOffsets(group, topic, kPartitions) == mt::HighWatermarks(topic, kPartitions));
}
