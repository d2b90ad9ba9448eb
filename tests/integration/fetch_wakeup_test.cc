// The fetch wake-up (lib/kafka/fetch_waker.h) on a real broker: with a
// pre-fetch queue of 500 messages, librdkafka 2.0.2 stops fetching every few
// hundred messages and, left alone, looks again only after its 1 s timer. The
// daemon must wake it (the counter shows it did) and still count every
// message exactly once.
#include <catch2/catch.hpp>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "support.h"

namespace mt = model_auditor::testing;

TEST_CASE("a saturated pre-fetch queue is woken, not left idle, and nothing is lost",
          "[integration][kafka][waker]") {
  const std::string topic = mt::UniqueName("model-inference-wakeup");
  const std::string group = mt::UniqueName("model-auditor-wakeup");
  constexpr int kPartitions = 2;
  constexpr int kMessages = 40'000;
  mt::CreateTopic(topic, kPartitions);

  std::vector<mt::Message> messages;
  messages.reserve(kMessages);
  const std::string filler(900, 'x');  // ~1 KB requests, like the benchmark's
  for (int i = 0; i < kMessages; ++i) {
    mt::Message m;
    m.value = R"({"request_id":"r)" + std::to_string(i) +
              R"(","model":"Qwen3-Next-80B-Optimized","messages":[{"role":"user","content":")" +
              filler + R"("}],"stream":false})";
    m.partition = i % kPartitions;
    messages.push_back(std::move(m));
  }
  mt::Produce(topic, messages);

  mt::TempDir dir;
  dir.Write("registry.yaml", "models:\n  - {name: Qwen3-Next-80B-Optimized, status: online}\n");
  const std::string config = dir.Write(
      "config.yaml", "kafka:\n  brokers: " + mt::Bootstrap() + "\n  group_id: " + group +
                         "\n  topics: [" + topic +
                         "]\n  properties:\n    queued.min.messages: \"500\"\n"
                         "registry:\n  file: registry.yaml\n");
  const auto start = std::chrono::steady_clock::now();
  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  const std::string registered = "model_audit_messages_total{topic=\"" + topic +
                                 "\",verdict=\"registered\"}";
  mt::Samples s;
  const bool drained = mt::Eventually(
      [&] {
        s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
        return mt::Value(s, registered, 0) >= kMessages;
      },
      std::chrono::seconds(120), std::chrono::milliseconds(50));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("daemon log:\n" << daemon.Log());
  REQUIRE(drained);
  const double wakeups = mt::Value(s, "model_audit_kafka_fetch_wakeups_total");
  std::cout << "fetch wake-up: " << kMessages << " messages through a 500-message queue in "
            << seconds << " s, " << wakeups << " wake-ups" << std::endl;
  CHECK(mt::Value(s, registered) == kMessages);  // exactly once
  CHECK(wakeups > 0);

  daemon.Signal(SIGTERM);
  REQUIRE(daemon.Wait(std::chrono::seconds(20)) == 0);
  CHECK(mt::CommittedOffsets(group, topic, kPartitions) ==
        mt::HighWatermarks(topic, kPartitions));
}
