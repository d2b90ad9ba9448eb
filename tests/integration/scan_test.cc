// `model-auditor scan`, the real binary: Kafka ranges on a real broker
// (explicit message timestamps over 3 partitions, exact counts at the
// boundaries, offsets, nothing committed, missing topic and deleted range as
// clear errors), and call-log files through the CLI (stdin, gzip, missing
// file, --fail-on, and the golden Markdown report, byte for byte).

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "support.h"

namespace mt = model_auditor::testing;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// A number from the report JSON ("key":N), first occurrence after `after`.
long long JsonNumber(const std::string& json, const std::string& key,
                     const std::string& after = "") {
  std::size_t from = after.empty() ? 0 : json.find(after);
  if (from == std::string::npos) return -1;
  const std::regex re("\"" + key + "\":([0-9]+)");
  std::smatch m;
  const std::string tail = json.substr(from);
  if (!std::regex_search(tail, m, re)) return -1;
  return std::stoll(m[1]);
}
long long Verdict(const std::string& json, const std::string& v) {
  return JsonNumber(json, v, "\"by_verdict\"");
}

// An hour ago, on a minute: recent enough that the broker's retention (7 days
// by default, on message timestamps) never deletes the test's messages.
const std::int64_t kBase = [] {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return (now / 60'000 - 60) * 60'000;
}();

// RFC 3339 with milliseconds, as the report writes it.
std::string Time(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}
const char* kNames[] = {"Qwen3-Next-80B-Optimized", "Qwen3-Next-80B-Local", "qwen3_next_72b_cloud",
                        "Qwen-Tiny"};  // registered, unknown, variant, registered

// Message i: timestamp kBase + i seconds, partition i % 3, name kNames[i % 4].
std::vector<mt::Message> Timeline(int n) {
  std::vector<mt::Message> out;
  for (int i = 0; i < n; ++i) {
    mt::Message m;
    m.partition = i % 3;
    m.timestamp_ms = kBase + i * 1000LL;
    m.value =
        std::string("{\"model_name\":\"") + kNames[i % 4] + "\",\"i\":" + std::to_string(i) + "}";
    out.push_back(std::move(m));
  }
  return out;
}

struct KafkaFixture {
  KafkaFixture() {
    registry = dir.Write("registry.yaml", Slurp(mt::SourceDir() + "/config/registry.yaml"));
    config = dir.Write("config.yaml", "kafka:\n  brokers: " + mt::Bootstrap() + "\n  group_id: " +
                                          group + "\nregistry:\n  file: registry.yaml\n");
  }
  // Runs scan; returns the exit status, the report in `report`, stderr in `log`.
  int Scan(const std::string& args) {
    const std::string out = dir.path() + "/report.json";
    std::remove(out.c_str());
    const int rc = mt::Run(mt::DaemonBinary() + " scan --config.file " + config + " --output " +
                               out + " --progress never " + args,
                           &log);
    report = Slurp(out);
    return rc;
  }
  mt::TempDir dir;
  std::string group = mt::UniqueName("scan-group");
  std::string registry, config, report, log;
};

}  // namespace

TEST_CASE("scan counts exactly the messages of a time range, from inclusive, to exclusive",
          "[scan][kafka]") {
  KafkaFixture f;
  const std::string topic = mt::UniqueName("scan-range");
  mt::CreateTopic(topic, 3);
  const int n = 600;
  mt::Produce(topic, Timeline(n));

  SECTION("a sub-range [100 s, 250 s): messages 100..249") {
    REQUIRE(f.Scan("--topic " + topic + " --from " + Time(kBase + 100'000) + " --to " +
                   Time(kBase + 250'000)) == 0);
    INFO(f.log << f.report);
    CHECK(JsonNumber(f.report, "messages", "\"totals\"") == 150);
    // i in [100, 250): i%4 == 1 (unknown): 101, 105, ... 249 -> 38; variant i%4 == 2 -> 37.
    CHECK(Verdict(f.report, "unknown") == 38);
    CHECK(Verdict(f.report, "variant") == 37);
    CHECK(Verdict(f.report, "registered") == 75);
    CHECK(f.report.find("\"from\":\"" + Time(kBase + 100'000) + "\"") != std::string::npos);
    // first/last seen are the message timestamps of the range's edges.
    CHECK(f.report.find("\"first_seen\":\"" + Time(kBase + 101'000) + "\"") != std::string::npos);
    CHECK(f.report.find("\"last_seen\":\"" + Time(kBase + 249'000) + "\"") != std::string::npos);
  }
  SECTION("a range of one message: [t, t + 1 ms)") {
    REQUIRE(f.Scan("--topic " + topic + " --from " + Time(kBase + 300'000) + " --to " +
                   Time(kBase + 300'001)) == 0);
    INFO(f.log << f.report);
    CHECK(JsonNumber(f.report, "messages", "\"totals\"") == 1);  // message 300
    CHECK(Verdict(f.report, "registered") == 1);
  }
  SECTION("no bounds: everything up to the high watermark read at start") {
    REQUIRE(f.Scan("--topic " + topic) == 0);
    INFO(f.log);
    CHECK(JsonNumber(f.report, "messages", "\"totals\"") == n);
    CHECK(Verdict(f.report, "unknown") == n / 4);
  }
  SECTION("a window past the end is empty, not an error") {
    REQUIRE(f.Scan("--topic " + topic + " --from " + Time(kBase + 3'600'000)) == 0);
    CHECK(JsonNumber(f.report, "messages", "\"totals\"") == 0);
  }
  SECTION("offsets apply to every partition: [10, 20) x 3") {
    REQUIRE(f.Scan("--topic " + topic + " --from-offset 10 --to-offset 20") == 0);
    INFO(f.log);
    CHECK(JsonNumber(f.report, "messages", "\"totals\"") == 30);
  }
  SECTION("--fail-on=unknown exits 3 and still writes the report") {
    CHECK(f.Scan("--topic " + topic + " --fail-on unknown --format markdown") == 3);
    CHECK_THAT(f.report, Catch::Contains("unregistered model `Qwen3-Next-80B-Local`"));
  }
  // Every section ran a scan; none may have left an offset behind.
  for (const std::string& group : {f.group, f.group + "-scan"}) {
    for (const std::int64_t off : mt::CommittedOffsets(group, topic, 3)) {
      INFO("group " << group);
      CHECK(off == -1001);  // RD_KAFKA_OFFSET_INVALID: nothing committed
    }
  }
}

TEST_CASE("scan without --topic reads the topics of the config's topic_regex", "[scan][kafka]") {
  KafkaFixture f;
  const std::string prefix = mt::UniqueName("scan-rx");
  mt::CreateTopic(prefix + "-a", 2);
  mt::CreateTopic(prefix + "-b", 1);
  std::vector<mt::Message> a = Timeline(40);
  for (auto& m : a) m.partition = m.partition % 2;
  mt::Produce(prefix + "-a", a);
  std::vector<mt::Message> b = Timeline(10);
  for (auto& m : b) m.partition = 0;
  mt::Produce(prefix + "-b", b);
  f.config =
      f.dir.Write("regex.yaml", "kafka:\n  brokers: " + mt::Bootstrap() + "\n  topic_regex: '^" +
                                    prefix + "-'\nregistry:\n  file: registry.yaml\n");
  REQUIRE(f.Scan("") == 0);
  INFO(f.log << f.report);
  CHECK(JsonNumber(f.report, "messages", "\"totals\"") == 50);
  CHECK(f.report.find("\"sources\":[\"kafka:" + prefix + "-a\",\"kafka:" + prefix + "-b\"]") !=
        std::string::npos);
}

TEST_CASE("scan of a missing topic is a clear error, exit 2", "[scan][kafka]") {
  KafkaFixture f;
  const std::string topic = mt::UniqueName("scan-missing");
  CHECK(f.Scan("--topic " + topic) == 2);
  CHECK_THAT(f.log, Catch::Contains("topic '" + topic + "' does not exist"));
  CHECK(f.report.empty());
}

TEST_CASE("scan of a range whose start was deleted is a clear error, exit 2", "[scan][kafka]") {
  KafkaFixture f;
  const std::string topic = mt::UniqueName("scan-deleted");
  mt::CreateTopic(topic, 1);
  std::vector<mt::Message> msgs = Timeline(30);
  for (auto& m : msgs) m.partition = 0;
  mt::Produce(topic, msgs);
  {
    // Delete the first 10 records (as retention would).
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", mt::Bootstrap().c_str(), err,
                              sizeof err) == RD_KAFKA_CONF_OK);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE(rk);
    rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, topic.c_str(), 0)->offset = 10;
    rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(offsets);
    rd_kafka_topic_partition_list_destroy(offsets);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteRecords(rk, &del, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    REQUIRE(ev);
    REQUIRE(rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_event_destroy(ev);
    rd_kafka_DeleteRecords_destroy(del);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
  }
  CHECK(f.Scan("--topic " + topic + " --from " + Time(kBase)) == 2);
  CHECK_THAT(f.log, Catch::Contains("may have been deleted"));
  CHECK(f.Scan("--topic " + topic + " --from-offset 5") == 2);
  CHECK_THAT(f.log, Catch::Contains("below the log start 10"));
  // A window starting after the deleted part is fine: messages 15..29.
  REQUIRE(f.Scan("--topic " + topic + " --from " + Time(kBase + 15'000)) == 0);
  CHECK(JsonNumber(f.report, "messages", "\"totals\"") == 15);
  // No bounds: what is retained.
  REQUIRE(f.Scan("--topic " + topic) == 0);
  CHECK(JsonNumber(f.report, "messages", "\"totals\"") == 20);
}

TEST_CASE("scan of call-log files through the CLI: stdin, gzip, errors", "[scan][files]") {
  mt::TempDir dir;
  const std::string golden = mt::SourceDir() + "/tests/scan/golden";
  const std::string bin = mt::DaemonBinary();
  const std::string base =
      "cd " + Quote(golden) + " && " + bin +
      " scan --config.file scan.yaml --progress never --now 2026-11-29T08:00:00Z ";
  std::string log;
  const std::string plain_out = dir.path() + "/plain.json";
  REQUIRE(mt::Run(base + "--input calls.ndjson -o " + plain_out, &log) == 0);
  const std::string plain = Slurp(plain_out);
  REQUIRE(JsonNumber(plain, "messages", "\"totals\"") == 69);

  SECTION("stdin gives the same counts") {
    const std::string out = dir.path() + "/stdin.json";
    REQUIRE(mt::Run(base + "--input - -o " + out + " < calls.ndjson", &log) == 0);
    const std::string s = Slurp(out);
    CHECK(s.find("\"sources\":[\"file:stdin\"]") != std::string::npos);
    for (const char* v : {"malformed", "missing", "registered", "alias", "inactive", "variant",
                          "typo", "unknown"}) {
      INFO(v);
      CHECK(Verdict(s, v) == Verdict(plain, v));
    }
  }
  SECTION("gzip is detected from the content and gives the same counts") {
    const std::string gz = dir.path() + "/calls.log";  // no .gz: content decides
    REQUIRE(mt::Run("gzip -c " + Quote(golden + "/calls.ndjson") + " > " + gz, &log) == 0);
    const std::string out = dir.path() + "/gz.json";
    REQUIRE(mt::Run(base + "--input " + gz + " -o " + out, &log) == 0);
    const std::string s = Slurp(out);
    CHECK(s.find("\"detail\":\"gzip") != std::string::npos);
    for (const char* v : {"malformed", "missing", "registered", "unknown"})
      CHECK(Verdict(s, v) == Verdict(plain, v));
  }
  SECTION("a missing file is exit 2 with the file named, and no report") {
    const std::string out = dir.path() + "/none.json";
    CHECK(mt::Run(base + "--input calls.ndjson --input /nonexistent/calls.ndjson -o " + out,
                  &log) == 2);
    CHECK_THAT(log, Catch::Contains("/nonexistent/calls.ndjson: cannot open"));
    CHECK(Slurp(out).empty());
  }
  SECTION("--fail-on") {
    CHECK(mt::Run(base + "--input calls.ndjson -o /dev/null --fail-on unknown", &log) == 3);
    CHECK(mt::Run(base + "--input calls.ndjson -o /dev/null --fail-on never", &log) == 0);
    CHECK(mt::Run(base + "--input calls.ndjson -o /dev/null --fail-on sometimes", &log) == 2);
  }
}

TEST_CASE("scan --format=markdown matches the golden report byte for byte", "[scan][files]") {
  const std::string golden = mt::SourceDir() + "/tests/scan/golden";
  std::string md;
  // generated_at and registry.loaded_at come from --now; paths are relative.
  const int rc = mt::Run("cd " + Quote(golden) + " && " + mt::DaemonBinary() +
                             " scan --config.file scan.yaml --input calls.ndjson --format markdown "
                             "--progress never --log.level error --now 2026-11-29T08:00:00Z",
                         &md);
  REQUIRE(rc == 0);
  const std::string want = Slurp(golden + "/report.md");
  REQUIRE_FALSE(want.empty());
  if (md != want) {
    // Regenerate with: cd tests/scan/golden && ../../../build/model-auditor scan --config.file
    // scan.yaml --input calls.ndjson --format markdown --now 2026-11-29T08:00:00Z > report.md
    std::ofstream(std::string("/tmp/model-auditor-golden-actual.md")) << md;
    FAIL(
        "report differs from tests/scan/golden/report.md; actual output in "
        "/tmp/model-auditor-golden-actual.md (diff them)");
  }
}

TEST_CASE("an interrupted scan writes its report marked incomplete and exits 1", "[scan][files]") {
  mt::TempDir dir;
  const std::string fifo = dir.path() + "/calls.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string out = dir.path() + "/report.json";
  mt::Daemon scan({"scan", "--registry", mt::SourceDir() + "/config/registry.yaml", "--input", fifo,
                   "-o", out, "--progress", "never"},
                  dir.path() + "/scan.log");
  ::signal(SIGPIPE, SIG_IGN);  // the scan stops reading before we stop writing
  const int fd = ::open(fifo.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  const std::string line = "{\"model_name\":\"Qwen3-Next-80B-Local\"}\n";
  auto write_lines = [&](int n) {
    for (int i = 0; i < n; ++i) {
      if (::write(fd, line.data(), line.size()) < 0) return;
    }
  };
  write_lines(5000);
  scan.Signal(SIGINT);
  // The stop flag is set before this line is logged; from here the scan must
  // stop within 4096 lines.
  REQUIRE(mt::Eventually([&] { return scan.Log().find("stopping the scan") != std::string::npos; },
                         std::chrono::seconds(10)));
  write_lines(20000);
  ::close(fd);
  const auto rc = scan.Wait(std::chrono::seconds(20));
  INFO(scan.Log());
  REQUIRE(rc.has_value());
  CHECK(*rc == 1);
  const std::string report = Slurp(out);
  CHECK(report.find("\"complete\":false") != std::string::npos);
  CHECK(report.find("\"error\":\"interrupted\"") != std::string::npos);
  CHECK(Verdict(report, "unknown") >= 4095);  // stop is checked every 4096 lines
  CHECK(Verdict(report, "unknown") < 25000);
}
