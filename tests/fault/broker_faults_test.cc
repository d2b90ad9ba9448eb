// Broker faults on a broker of the test's own (scripts/kafka.sh): down at
// start-up, kill -9 mid-stream and restarted, hung by SIGSTOP and resumed. The
// daemon never restarts, so the contract is exact: every message in the log is
// counted once, /metrics answers quickly throughout, and consumption resumes.
//
// Scaled for a 2-core CI machine (issue 8's figures are illustrative): the
// broker comes back 10 s after kill -9 (issue: 20 s) and stays hung 15 s
// (issue: 30 s). Both are far below session.timeout.ms (45 s), as the issue's
// were, so the substance — an outage the group survives — is unchanged.

#include <catch2/catch.hpp>
#include <signal.h>

#include <iostream>
#include <thread>

#include "fault_support.h"

namespace mt = model_auditor::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitions = 3;
constexpr int kRate = 1000;  // messages/s through every fault

// Scrapes every 250 ms for `duration`: each must answer 200 in under a second.
// Returns the slowest scrape in seconds.
double ScrapeThroughout(const std::string& addr, std::chrono::seconds duration, int* scrapes) {
  double slowest = 0;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < duration) {
    const mt::Scrape s = mt::TimedScrape(addr);
    INFO("scrape " << *scrapes << " during the outage");
    REQUIRE(s.status == 200);
    CHECK(s.seconds < 1.0);
    CHECK(mt::HttpRequest(addr, "/-/healthy").status == 200);
    slowest = std::max(slowest, s.seconds);
    ++*scrapes;
    std::this_thread::sleep_for(250ms);
  }
  return slowest;
}

// Seconds from now until the daemon counts past `from`.
double TimeToResume(const std::string& addr, const std::string& topic, double from) {
  const auto t = std::chrono::steady_clock::now();
  const bool resumed = mt::Eventually(
      [&] { return mt::Total(mt::TimedScrape(addr).samples, topic) > from; }, 90s, 50ms);
  REQUIRE(resumed);
  return mt::SecondsSince(t);
}

// Stops the load, then requires the daemon's count to equal the log's length
// exactly (no loss, no duplicate), lag 0, SIGTERM exit 0, committed == end.
void RequireExactEnd(mt::LoadProducer& load, mt::Daemon& daemon, const std::string& addr,
                     const std::string& group, const std::string& topic) {
  const std::uint64_t delivered = load.Stop();
  CHECK(load.failed() == 0);
  const auto hw = mt::HighWatermarks(topic, kPartitions);
  const std::int64_t produced = mt::Sum(hw);
  // Without idempotence a retry after a lost ack may write a message twice:
  // the log (high watermarks) is the truth the daemon must match.
  CHECK(static_cast<std::int64_t>(delivered) <= produced);
  mt::Samples s;
  INFO("daemon log:\n" << daemon.Log());
  REQUIRE(mt::Eventually(
      [&] {
        s = mt::TimedScrape(addr).samples;
        return mt::Total(s, topic) >= static_cast<double>(produced) && mt::LagZero(s, topic, kPartitions);
      },
      60s));
  std::this_thread::sleep_for(2s);  // a late recount would show now
  s = mt::TimedScrape(addr).samples;
  CHECK(mt::Total(s, topic) == static_cast<double>(produced));
  CHECK(mt::Value(s, "model_audit_messages_total{topic=\"" + topic + "\",verdict=\"registered\"}") ==
        static_cast<double>(produced));
  std::cout << "fault: produced " << produced << " (acknowledged " << delivered
            << "), counted " << mt::Total(s, topic) << std::endl;
  daemon.Signal(SIGTERM);
  const auto status = daemon.Wait(10s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(mt::CommittedOffsets(group, topic, kPartitions) == hw);
}

}  // namespace

TEST_CASE("broker down at start-up, then kill -9 mid-stream and restarted 10 s later: the daemon "
          "keeps serving and counts every message exactly once",
          "[fault][broker]") {
  mt::OwnBroker broker;
  const std::string topic = mt::UniqueName("fault-kill9");
  const std::string group = mt::UniqueName("fault-kill9-group");
  mt::CreateTopic(topic, kPartitions);
  mt::TempDir dir;
  const std::string config = mt::WriteConfig(dir, group, topic, "  commit_interval: 1s\n");

  // Start-up with the broker down: the daemon comes up, serves, is not ready.
  broker.Kill9();
  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());
  int scrapes = 0;
  double slowest = ScrapeThroughout(addr, 3s, &scrapes);
  CHECK(mt::HttpRequest(addr, "/-/ready").status == 503);
  broker.Restart();
  mt::LoadProducer load(topic, kRate);
  const double startup_recovery = TimeToResume(addr, topic, 0);
  REQUIRE(mt::Eventually([&] { return mt::HttpRequest(addr, "/-/ready").status == 200; }, 30s));

  // kill -9 mid-stream, 10 s down.
  std::this_thread::sleep_for(3s);
  const double errors_before =
      mt::Value(mt::TimedScrape(addr).samples, "model_audit_kafka_errors_total");
  broker.Kill9();
  const auto killed = std::chrono::steady_clock::now();
  slowest = std::max(slowest, ScrapeThroughout(addr, 10s, &scrapes));
  const double counted_down = mt::Total(mt::TimedScrape(addr).samples, topic);
  broker.Restart();
  const double down_s = mt::SecondsSince(killed);
  const double resume_s = TimeToResume(addr, topic, counted_down);
  const mt::Samples after = mt::TimedScrape(addr).samples;
  // The outage is visible to an operator.
  CHECK(mt::Value(after, "model_audit_kafka_errors_total") > errors_before);
  std::this_thread::sleep_for(3s);
  std::cout << "fault: broker down at start-up: first message counted " << startup_recovery
            << " s after the broker came up; kill -9: broker down " << down_s
            << " s, counting resumed " << resume_s << " s after the restart returned; "
            << scrapes << " scrapes during outages, slowest " << slowest * 1000 << " ms; "
            << "kafka_errors_total " << errors_before << " -> "
            << mt::Value(after, "model_audit_kafka_errors_total") << std::endl;
  RequireExactEnd(load, daemon, addr, group, topic);
}

TEST_CASE("broker hung by SIGSTOP for 15 s, then SIGCONT: the daemon keeps serving and counts "
          "every message exactly once",
          "[fault][broker]") {
  mt::OwnBroker broker;
  const std::string topic = mt::UniqueName("fault-pause");
  const std::string group = mt::UniqueName("fault-pause-group");
  mt::CreateTopic(topic, kPartitions);
  mt::TempDir dir;
  const std::string config = mt::WriteConfig(dir, group, topic, "  commit_interval: 1s\n");
  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());
  mt::LoadProducer load(topic, kRate);
  TimeToResume(addr, topic, 0);
  std::this_thread::sleep_for(3s);

  broker.Pause();
  const auto paused = std::chrono::steady_clock::now();
  int scrapes = 0;
  const double slowest = ScrapeThroughout(addr, 15s, &scrapes);
  const double counted_hung = mt::Total(mt::TimedScrape(addr).samples, topic);
  broker.Resume();
  const double hung_s = mt::SecondsSince(paused);
  const double resume_s = TimeToResume(addr, topic, counted_hung);
  std::this_thread::sleep_for(3s);
  std::cout << "fault: broker hung " << hung_s << " s; counting resumed " << resume_s
            << " s after SIGCONT; " << scrapes << " scrapes while hung, slowest " << slowest * 1000
            << " ms" << std::endl;
  RequireExactEnd(load, daemon, addr, group, topic);
}
