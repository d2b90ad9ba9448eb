// Daemon faults on the shared broker (only daemons die here): kill -9 five
// times under load, SIGTERM under load, and a group of three whose members
// come and go. At-least-once is the contract: nothing is ever missed; a
// duplicate is possible only after kill -9, bounded by the commit interval;
// a clean stop (SIGTERM, a member leaving) loses and repeats nothing.
//
// Scaled for a 2-core CI machine: members join or leave every 6 s (issue 8:
// 20 s), incarnations live ~3 s under 2,000 messages/s.

#include <catch2/catch.hpp>
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <thread>

#include "fault_support.h"

namespace mt = model_auditor::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kRate = 2000;  // messages/s of steady load

std::unique_ptr<mt::Daemon> StartDaemon(const mt::TempDir& dir, const std::string& config,
                                        const std::string& name, std::string* addr) {
  auto d = std::make_unique<mt::Daemon>(
      std::vector<std::string>{"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
      dir.path() + "/" + name + ".log");
  *addr = d->WaitListening();
  return d;
}

// SIGTERM; requires exit 0 within 10 s; returns the final-commit log figures.
std::uint64_t Terminate(mt::Daemon& d, std::map<std::string, std::int64_t>* offsets,
                        double* exit_s = nullptr) {
  const auto t = std::chrono::steady_clock::now();
  d.Signal(SIGTERM);
  const auto status = d.Wait(10s);
  INFO("daemon log:\n" << d.Log());
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  if (exit_s) *exit_s = mt::SecondsSince(t);
  std::uint64_t messages = 0;
  std::map<std::string, std::int64_t> ignored;
  REQUIRE(mt::FinalCommit(d.Log(), &messages, offsets ? offsets : &ignored));
  return messages;
}

}  // namespace

TEST_CASE("daemon kill -9 five times under load: every message counted at least once, "
          "duplicates bounded by the 1 s commit interval",
          "[fault][daemon]") {
  constexpr int kPartitions = 3;
  constexpr int kKills = 5;
  const std::string topic = mt::UniqueName("fault-daemon-kill9");
  const std::string group = mt::UniqueName("fault-daemon-kill9-group");
  mt::CreateTopic(topic, kPartitions);
  mt::TempDir dir;
  // A member killed by -9 holds its partitions until its session times out:
  // the broker's minimum (6 s) rather than librdkafka's 45 s keeps five
  // restarts within the suite's budget.
  const std::string config = mt::WriteConfig(
      dir, group, topic,
      "  commit_interval: 1s\n  properties:\n    session.timeout.ms: \"6000\"\n"
      "    heartbeat.interval.ms: \"1000\"\n");
  mt::LoadProducer load(topic, kRate);

  // Incarnation i starts at the group's committed offsets K_i (exact: nothing
  // else commits for the group) and counts from there. Before each kill the
  // producer is held for the moment it takes the daemon to catch up, so the
  // incarnation's count is exact at the kill, which lands at a random phase
  // of the commit timer. Duplicates of kill i = (K_i + count_i) - K_{i+1}:
  // what was counted but not yet committed.
  double counted_sum = 0;
  std::vector<std::int64_t> duplicates;
  for (int i = 0; i <= kKills; ++i) {
    const auto committed = mt::CommittedOffsets(group, topic, kPartitions);
    std::int64_t start = 0;
    for (auto c : committed) start += c < 0 ? 0 : c;
    std::string addr;
    auto daemon = StartDaemon(dir, config, "daemon" + std::to_string(i), &addr);
    INFO("incarnation " << i << " log:\n" << daemon->Log());
    REQUIRE(mt::Eventually([&] { return mt::Total(mt::TimedScrape(addr).samples, topic) > 0; }, 60s));
    std::this_thread::sleep_for(i < kKills ? 3s : 1s);  // counting under load
    if (i == kKills) load.Stop(); else load.Hold();
    REQUIRE(load.Flush(60s));
    const std::int64_t end = mt::Sum(mt::HighWatermarks(topic, kPartitions));
    mt::Samples s;
    REQUIRE(mt::Eventually(
        [&] {
          s = mt::TimedScrape(addr).samples;
          return static_cast<std::int64_t>(mt::Total(s, topic)) + start >= end;
        },
        60s, 20ms));
    // Exactly the messages from its start offsets to the end: none skipped,
    // none counted twice within the incarnation.
    const double count = mt::Total(s, topic);
    REQUIRE(static_cast<std::int64_t>(count) + start == end);
    counted_sum += count;
    if (i == kKills) {
      // The last incarnation stops cleanly: everything committed.
      Terminate(*daemon, nullptr);
      CHECK(mt::CommittedOffsets(group, topic, kPartitions) == mt::HighWatermarks(topic, kPartitions));
      break;
    }
    daemon->Signal(SIGKILL);
    REQUIRE(daemon->Wait(10s).has_value());
    load.Release();
    const auto after = mt::CommittedOffsets(group, topic, kPartitions);
    std::int64_t next = 0;
    for (auto c : after) next += c < 0 ? 0 : c;
    // Never committed beyond what was counted (at-least-once) ...
    REQUIRE(next <= end);
    duplicates.push_back(end - next);
  }
  const std::int64_t produced = mt::Sum(mt::HighWatermarks(topic, kPartitions));
  CHECK(load.failed() == 0);
  std::int64_t dup_total = 0;
  std::string per_kill;
  for (auto d : duplicates) {
    dup_total += d;
    per_kill += (per_kill.empty() ? "" : ", ") + std::to_string(d);
    // ... and never behind by more than one commit interval of traffic (plus
    // a second of margin for a commit in flight at the kill).
    CHECK(d <= kRate * 2);
  }
  std::cout << "fault: daemon kill -9 x" << kKills << ": produced " << produced << ", counted "
            << counted_sum << " over " << kKills + 1 << " incarnations; duplicates per kill ["
            << per_kill << "] (bound " << kRate * 2 << ")" << std::endl;
  REQUIRE(duplicates.size() == static_cast<std::size_t>(kKills));
  // Follows from the per-incarnation checks above; stated as the issue does.
  CHECK(counted_sum >= static_cast<double>(produced));
  CHECK(counted_sum == static_cast<double>(produced + dup_total));
}

TEST_CASE("SIGTERM under load: exit 0 within 10 s, the committed offsets are exactly what was "
          "counted, and the next instance continues without a gap or a repeat",
          "[fault][daemon]") {
  constexpr int kPartitions = 3;
  const std::string topic = mt::UniqueName("fault-sigterm");
  const std::string group = mt::UniqueName("fault-sigterm-group");
  mt::CreateTopic(topic, kPartitions);
  mt::TempDir dir;
  const std::string config = mt::WriteConfig(dir, group, topic, "  commit_interval: 1s\n");
  mt::LoadProducer load(topic, kRate);

  // 1. SIGTERM while the producer runs. The group is new, so each partition's
  // committed offset is the number of its messages this daemon counted; the
  // daemon logs its count and where each partition resumes.
  std::string addr;
  auto first = StartDaemon(dir, config, "daemon1", &addr);
  REQUIRE(mt::Eventually([&] { return mt::Total(mt::TimedScrape(addr).samples, topic) > 0; }, 60s));
  std::this_thread::sleep_for(3s);
  std::map<std::string, std::int64_t> offsets;
  double exit_s = 0;
  const std::uint64_t counted1 = Terminate(*first, &offsets, &exit_s);
  CHECK(exit_s < 10);
  const auto committed = mt::CommittedOffsets(group, topic, kPartitions);
  CHECK(static_cast<std::int64_t>(counted1) == mt::Sum(committed));
  for (int p = 0; p < kPartitions; ++p) {
    INFO("partition " << p);
    CHECK(offsets[topic + "/" + std::to_string(p)] == committed[static_cast<std::size_t>(p)]);
  }
  const std::int64_t end1 = mt::Sum(mt::HighWatermarks(topic, kPartitions));
  CHECK(static_cast<std::int64_t>(counted1) < end1);  // really under load: some were left unread

  // 2. A second instance under the same load: it counts exactly what follows.
  std::this_thread::sleep_for(1s);
  auto second = StartDaemon(dir, config, "daemon2", &addr);
  REQUIRE(mt::Eventually([&] { return mt::Total(mt::TimedScrape(addr).samples, topic) > 0; }, 60s));
  std::this_thread::sleep_for(2s);
  const std::uint64_t delivered = load.Stop();
  const auto hw = mt::HighWatermarks(topic, kPartitions);
  const std::int64_t produced = mt::Sum(hw);
  CHECK(static_cast<std::int64_t>(delivered) == produced);
  mt::Samples s;
  REQUIRE(mt::Eventually(
      [&] {
        s = mt::TimedScrape(addr).samples;
        return mt::Total(s, topic) + static_cast<double>(counted1) >= static_cast<double>(produced) &&
               mt::LagZero(s, topic, kPartitions);
      },
      60s));
  std::this_thread::sleep_for(1s);
  s = mt::TimedScrape(addr).samples;
  CHECK(mt::Total(s, topic) + static_cast<double>(counted1) == static_cast<double>(produced));

  // 3. SIGTERM with the producer stopped: committed == high watermarks.
  double exit2_s = 0;
  const std::uint64_t counted2 = Terminate(*second, &offsets, &exit2_s);
  CHECK(counted1 + counted2 == static_cast<std::uint64_t>(produced));
  CHECK(mt::CommittedOffsets(group, topic, kPartitions) == hw);
  std::cout << "fault: SIGTERM under load: exit in " << exit_s << " s, committed " << counted1
            << " = counted " << counted1 << " of " << end1 << " in the log; the next instance "
            << "counted " << counted2 << " (total " << counted1 + counted2 << " = produced "
            << produced << "); SIGTERM idle: exit in " << exit2_s << " s" << std::endl;
}

TEST_CASE("three instances in one group, one leaving or joining every 6 s under load: the "
          "group counts every message exactly once",
          "[fault][daemon]") {
  constexpr int kPartitions = 6;
  const std::string topic = mt::UniqueName("fault-churn");
  const std::string group = mt::UniqueName("fault-churn-group");
  mt::CreateTopic(topic, kPartitions);
  mt::TempDir dir;
  const std::string config = mt::WriteConfig(dir, group, topic, "  commit_interval: 1s\n");
  mt::LoadProducer load(topic, kRate);

  struct Member {
    std::string name;
    std::string addr;
    std::unique_ptr<mt::Daemon> daemon;
  };
  std::vector<Member> live;
  std::uint64_t left_count = 0;  // messages counted by members that have left
  int next_id = 0;
  auto add = [&] {
    Member m;
    m.name = "member" + std::to_string(next_id++);
    m.daemon = StartDaemon(dir, config, m.name, &m.addr);
    live.push_back(std::move(m));
  };
  auto remove = [&](std::size_t i) {
    left_count += Terminate(*live[i].daemon, nullptr);
    live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
  };
  for (int i = 0; i < 3; ++i) add();
  std::vector<std::string> steps;
  // Leave, join, leave, join: the group is 3, 2, 3, 2, 3 members strong.
  for (int step = 0; step < 4; ++step) {
    std::this_thread::sleep_for(6s);
    if (step % 2 == 0) {
      steps.push_back("-" + live.front().name);
      remove(0);  // the oldest leaves
    } else {
      add();
      steps.push_back("+" + live.back().name);
    }
  }
  std::this_thread::sleep_for(4s);
  const std::uint64_t delivered = load.Stop();
  const auto hw = mt::HighWatermarks(topic, kPartitions);
  const std::int64_t produced = mt::Sum(hw);
  CHECK(static_cast<std::int64_t>(delivered) == produced);
  auto live_total = [&] {
    double sum = 0;
    for (const Member& m : live) sum += mt::Total(mt::TimedScrape(m.addr).samples, topic);
    return sum;
  };
  // Each partition's lag is exported by exactly one member, its owner, at 0:
  // a member that lost a partition in a rebalance dropped its series.
  std::string lag_owners;
  auto lag_once_each = [&] {
    std::vector<int> owners(kPartitions, 0);
    lag_owners.clear();
    for (const Member& m : live) {
      const mt::Samples s = mt::TimedScrape(m.addr).samples;
      for (int p = 0; p < kPartitions; ++p) {
        const double lag = mt::Value(s, "model_audit_kafka_consumer_lag_messages{topic=\"" + topic +
                                            "\",partition=\"" + std::to_string(p) + "\"}");
        if (lag < 0) continue;
        lag_owners += " " + m.name + ":" + std::to_string(p) + "=" + std::to_string(lag);
        owners[static_cast<std::size_t>(p)] += lag == 0 ? 1 : 100;
      }
    }
    return std::all_of(owners.begin(), owners.end(), [](int n) { return n == 1; });
  };
  REQUIRE(mt::Eventually(
      [&] { return live_total() + static_cast<double>(left_count) >= static_cast<double>(produced); },
      60s));
  const bool lag_ok = mt::Eventually(lag_once_each, 10s);
  INFO("lag series (member:partition=lag):" << lag_owners);
  CHECK(lag_ok);
  std::this_thread::sleep_for(1s);
  CHECK(live_total() + static_cast<double>(left_count) == static_cast<double>(produced));
  std::uint64_t total = left_count;
  std::string per_member;
  while (!live.empty()) {
    const std::string name = live.front().name;
    const std::uint64_t n = Terminate(*live.front().daemon, nullptr);
    per_member += " " + name + "=" + std::to_string(n);
    total += n;
    live.erase(live.begin());
  }
  CHECK(total == static_cast<std::uint64_t>(produced));
  CHECK(mt::CommittedOffsets(group, topic, kPartitions) == hw);
  std::string changes;
  for (const auto& st : steps) changes += " " + st;
  std::cout << "fault: group churn (" << changes << " ): produced " << produced
            << ", counted by the group " << total << " (left earlier " << left_count
            << ", at the end" << per_member << ")" << std::endl;
}
