// The live registry with the real daemon and a real broker: reloads under load
// never tear a classification, every message is counted exactly once, and a
// restart with the registry source down uses the persisted last good snapshot.

#include <catch2/catch.hpp>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <filesystem>
#include <thread>

#include "http/server.h"
#include "support.h"

namespace mt = model_auditor::testing;

namespace {

// Under A, the header names the model and the body its alias; under B the
// other way round, with the model at another index. Classifying one message's
// header and body against different snapshots would resolve them to different
// models: a name conflict. So conflicts == 0 proves no torn read.
const char* kRegistryA = "models:\n  - name: model-h\n    aliases: [model-b]\n";
const char* kRegistryB =
    "models:\n  - name: filler-1\n  - name: model-b\n    aliases: [model-h]\n";

double Total(const mt::Samples& s, const std::string& topic) {
  double sum = 0;
  for (const char* v : {"malformed", "missing", "registered", "alias", "inactive", "variant", "typo", "unknown"}) {
    sum += mt::Value(s, "model_audit_messages_total{topic=\"" + topic + "\",verdict=\"" + v + "\"}", 0);
  }
  return sum;
}

}  // namespace

TEST_CASE("20 registry reloads under load: every message counted once against one snapshot",
          "[integration][kafka][registry]") {
  const std::string topic = mt::UniqueName("model-inference-reload");
  mt::CreateTopic(topic, 3);
  mt::TempDir dir;
  dir.Write("registry.yaml", kRegistryA);
  const std::string config = dir.Write(
      "config.yaml", "kafka:\n  brokers: " + mt::Bootstrap() + "\n  group_id: " +
                         mt::UniqueName("reload") + "\n  topics: [" + topic +
                         "]\nregistry:\n  file: registry.yaml\n  max_shrink: 0.9\n");
  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());
  REQUIRE(mt::Eventually([&] { return mt::HttpRequest(addr, "/-/ready").status == 200; },
                         std::chrono::seconds(30)));

  constexpr int kBatches = 40;
  constexpr int kPerBatch = 2'000;
  std::atomic<bool> producing{true};
  std::thread producer([&] {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<mt::Message> batch;
      for (int i = 0; i < kPerBatch; ++i) {
        mt::Message m;
        m.key = std::to_string(i);
        m.headers = {{"X-Model-Name", "model-h"}};
        m.value = R"({"model_name":"model-b","request_id":")" + std::to_string(b * kPerBatch + i) + "\"}";
        batch.push_back(std::move(m));
      }
      mt::Produce(topic, batch);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    producing = false;
  });
  // 20 reloads, alternating, while the stream flows (atomic renames, as a
  // config-management tool would write).
  for (int r = 0; r < 20; ++r) {
    const std::string tmp = dir.Write("registry.yaml.tmp", r % 2 == 0 ? kRegistryB : kRegistryA);
    std::filesystem::rename(tmp, dir.path() + "/registry.yaml");
    const auto res = mt::HttpRequest(addr, "/-/reload", "POST");
    INFO("reload " << r << ": " << res.body);
    CHECK(res.status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  producer.join();
  const double total = kBatches * kPerBatch;
  mt::Samples s;
  REQUIRE(mt::Eventually(
      [&] {
        s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
        return Total(s, topic) >= total;
      },
      std::chrono::seconds(60)));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
  const std::string t = "{topic=\"" + topic + "\"";
  const double registered = mt::Value(s, "model_audit_messages_total" + t + ",verdict=\"registered\"}");
  const double alias = mt::Value(s, "model_audit_messages_total" + t + ",verdict=\"alias\"}");
  std::cout << "reload test: " << registered << " messages classified under A, " << alias
            << " under B" << std::endl;
  CHECK(Total(s, topic) == total);
  CHECK(registered + alias == total);
  CHECK(registered > 0);
  CHECK(alias > 0);
  CHECK(mt::Value(s, "model_audit_name_conflicts_total" + t + "}") == 0);
  CHECK(mt::Value(s, "model_audit_registry_reloads_total{result=\"success\"}") == 21);
  CHECK(mt::Value(s, "model_audit_registry_reloads_total{result=\"failure\"}") == 0);
  daemon.Signal(SIGTERM);
  CHECK(daemon.Wait(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("a restart with the registry URL down uses the persisted last good snapshot",
          "[integration][kafka][registry]") {
  namespace ma = model_auditor;
  const std::string topic = mt::UniqueName("model-inference-persist");
  mt::CreateTopic(topic, 1);
  mt::TempDir dir;
  std::filesystem::create_directory(dir.path() + "/state");
  std::atomic<int> status{200};
  ma::http::ServerOptions so;
  so.listen_address = "127.0.0.1:0";
  auto server = std::make_unique<ma::http::Server>(so, [&](const ma::http::Request&) {
    return ma::http::Response{static_cast<unsigned>(status.load()), "application/json",
                              R"({"object":"list","data":[{"id":"qwen3_next_80b_optimized"},{"id":"qwen3_next_72b_cloud"}]})",
                              {}};
  });
  server->Start();
  const std::string url = "http://" + server->BoundAddress() + "/v1/models";
  const std::string config = dir.Write(
      "config.yaml", "kafka:\n  brokers: " + mt::Bootstrap() + "\n  group_id: " +
                         mt::UniqueName("persist") + "\n  topics: [" + topic +
                         "]\nregistry:\n  url: " + url +
                         "\n  state_dir: state\n  refresh_interval: 1s\n  timeout: 2s\n");
  {
    mt::Daemon first({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                     dir.path() + "/daemon1.log");
    const std::string addr = first.WaitListening();
    INFO("daemon log:\n" << first.Log());
    REQUIRE(mt::Eventually([&] { return mt::HttpRequest(addr, "/-/ready").status == 200; },
                           std::chrono::seconds(30)));
    first.Signal(SIGTERM);
    REQUIRE(first.Wait(std::chrono::seconds(10)) == std::optional<int>(0));
  }
  REQUIRE(std::filesystem::exists(dir.path() + "/state/registry.last-good"));

  status = 503;  // the registry is down for the restart
  mt::Daemon second({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon2.log");
  const std::string addr = second.WaitListening();
  INFO("daemon log:\n" << second.Log());
  REQUIRE(mt::Eventually([&] { return mt::HttpRequest(addr, "/-/ready").status == 200; },
                         std::chrono::seconds(30)));
  auto s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
  CHECK(mt::Value(s, "model_audit_registry_persisted_snapshot_in_use") == 1);
  CHECK(mt::Value(s, "model_audit_registry_loaded") == 1);
  CHECK(mt::Value(s, "model_audit_registry_models{status=\"online\"}") == 2);
  CHECK(mt::Value(s, "model_audit_registry_reloads_total{result=\"failure\"}") >= 1);
  CHECK_THAT(second.Log(), Catch::Contains("using the persisted last good snapshot"));
  // Traffic is classified against it, not called unknown.
  mt::Message m;
  m.value = R"({"model_name":"qwen3_next_80b_optimized"})";
  mt::Produce(topic, {m});
  CHECK(mt::Eventually(
      [&] {
        s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
        return mt::Value(s, "model_audit_messages_total{topic=\"" + topic + "\",verdict=\"registered\"}") == 1;
      },
      std::chrono::seconds(30)));
  // The source comes back: the daemon leaves the degraded state by itself.
  status = 200;
  CHECK(mt::Eventually(
      [&] {
        s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
        return mt::Value(s, "model_audit_registry_persisted_snapshot_in_use") == 0;
      },
      std::chrono::seconds(15)));
  second.Signal(SIGTERM);
  CHECK(second.Wait(std::chrono::seconds(10)) == std::optional<int>(0));
}
