// `scan` over call-log files, in process: every line is counted once under
// its verdict, malformed lines are listed with their numbers, the window and
// the timestamp field decide what is audited, and the exit status follows
// --fail-on. (The CLI, stdin, Kafka and the golden Markdown report are in
// tests/integration/scan_test.cc.)

#include <simdjson.h>
#include <unistd.h>
#include <zlib.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.h"
#include "scan/scan.h"
#include "util/error.h"

namespace ms = model_auditor::scan;
namespace mc = model_auditor::config;

namespace {

constexpr const char* kRegistry = R"(
models:
  - name: Qwen3-Next-80B-Optimized
    aliases: [qwen3_next_80b_optimized]
  - name: Qwen-Tiny
  - name: Qwen2-7B
    status: retired
    replaced_by: Qwen-Tiny
)";

struct Fixture {
  Fixture() {
    char tmpl[] = "/tmp/model-auditor-scan-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    Write("registry.yaml", kRegistry);
    config = mc::ParseConfig("registry: {file: registry.yaml}\n", dir + "/scan.yaml");
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
  std::string Write(const std::string& name, const std::string& bytes) const {
    const std::string p = dir + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  int Run(ms::Options o) {
    o.output = dir + "/report.out";
    o.progress = "never";
    if (o.now.empty()) o.now = "2026-11-29T00:00:00Z";
    const std::atomic<bool> stop{false};
    return ms::Run(config, o, stop);
  }
  std::string dir;
  mc::Config config;
};

using El = simdjson::simdjson_result<simdjson::dom::element>;
std::uint64_t U(El e) { return e.get_uint64().value(); }
bool B(El e) { return e.get_bool().value(); }
std::string S(El e) { return std::string(e.get_string().value()); }

// The JSON report, parsed (DOM: the tests read it in any order).
struct Json {
  explicit Json(const std::string& text) : doc(parser.parse(text).value()) {}
  std::uint64_t Verdict(const char* v) { return U(doc["totals"]["by_verdict"][v]); }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
};

const char* kLines =
    "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"model\":\"Qwen-Tiny\"}\n"  // 1 registered
    "{\"timestamp\":\"2026-01-01T01:00:00Z\",\"model_name\":\"qwen3_next_80b_optimized\"}\n"  // 2
                                                                                              // alias
    "\n"                                                                 // 3 blank
    "{\"timestamp\":1767232800,\"model\":\"Qwen3-Next-80B-Local\"}\n"    // 4 unknown, 02:00
    "not json at all\n"                                                  // 5 malformed
    "{\"timestamp\":\"2026-01-01T03:00:00Z\",\"model\":42}\n"            // 6 malformed
    "{\"timestamp\":\"2026-01-01T04:00:00Z\",\"prompt\":\"no name\"}\n"  // 7 missing
    "{\"timestamp\":1767243600000,\"model\":\"Qwen2-7B\"}\n"             // 8 inactive, 05:00
    "{\"model\":\"qwen-tiny\"}\r\n"                                      // 9 variant, no time
    "{\"timestamp\":\"2026-01-01T06:00:00Z\",\"model\":\"Qwen3-Next-80B-Local\"}";  // 10 unknown,
                                                                                    // no \n

}  // namespace

TEST_CASE("every line is counted once under its verdict; bad lines keep their numbers", "[scan]") {
  Fixture f;
  ms::Options o;
  o.inputs = {f.Write("calls.ndjson", kLines)};
  REQUIRE(f.Run(o) == ms::kExitOk);
  Json j(f.Read("report.out"));
  CHECK(U(j.doc["totals"]["messages"]) == 9);
  CHECK(j.Verdict("registered") == 1);
  CHECK(j.Verdict("alias") == 1);
  CHECK(j.Verdict("unknown") == 2);
  CHECK(j.Verdict("malformed") == 2);
  CHECK(j.Verdict("missing") == 1);
  CHECK(j.Verdict("inactive") == 1);
  CHECK(j.Verdict("variant") == 1);
  const simdjson::dom::element scan = j.doc["scan"].value();
  CHECK(B(scan["complete"]));
  CHECK(U(scan["malformed_total"]) == 2);
  const simdjson::dom::array bad = scan["malformed"].get_array().value();
  REQUIRE(bad.size() == 2);
  CHECK(U(bad.at(0)["line"]) == 5);
  CHECK(S(bad.at(0)["reason"]) == "invalid_json");
  CHECK(U(bad.at(1)["line"]) == 6);
  CHECK(S(bad.at(1)["reason"]) == "not_string");
  const simdjson::dom::element input = scan["inputs"].at(0).value();
  CHECK(U(input["blank_lines"]) == 1);
  CHECK(U(input["untimed"]) == 2);  // line 5 (not JSON) and line 9
  SECTION("first/last seen are message times, seconds and millis alike") {
    int seen = 0;
    const simdjson::dom::array families = j.doc["families"].get_array().value();
    for (simdjson::dom::element fam : families) {
      const simdjson::dom::array names = fam["names"].get_array().value();
      for (simdjson::dom::element n : names) {
        const std::string name = S(n["model_name"]);
        if (name == "Qwen3-Next-80B-Local") {
          ++seen;
          CHECK(S(n["first_seen"]) == "2026-01-01T02:00:00.000Z");
          CHECK(S(n["last_seen"]) == "2026-01-01T06:00:00.000Z");
          CHECK(U(n["messages"]) == 2);
          CHECK(S(n["topics"].at(0)) == "calls.ndjson");
        }
        if (name == "Qwen2-7B") {
          ++seen;
          CHECK(S(n["first_seen"]) == "2026-01-01T05:00:00.000Z");
        }
        if (name == "qwen-tiny") {
          ++seen;
          CHECK(S(n["first_seen"]) == "");
        }
      }
    }
    CHECK(seen == 3);
    CHECK(S(j.doc["window"]["from"]) == "2026-01-01T00:00:00.000Z");
    CHECK(S(j.doc["window"]["to"]) == "2026-01-01T06:00:00.000Z");
    CHECK(S(j.doc["generated_at"]) == "2026-11-29T00:00:00.000Z");
  }
}

TEST_CASE("a line without a timestamp leaves a name's first and last seen alone", "[scan]") {
  Fixture f;
  ms::Options o;
  o.inputs = {f.Write("mixed.ndjson",
                      "{\"timestamp\":\"2026-03-01T10:00:00Z\",\"model\":\"Qwen-Tinny\"}\n"
                      "{\"model\":\"Qwen-Tinny\"}\n"
                      "{\"timestamp\":\"2026-03-01T12:00:00Z\",\"model\":\"Qwen-Tinny\"}\n"
                      "{\"model\":\"Qwen-Tinny\"}\n")};
  REQUIRE(f.Run(o) == ms::kExitOk);
  Json j(f.Read("report.out"));
  const simdjson::dom::element n = j.doc["families"].at(0)["names"].at(0).value();
  CHECK(U(n["messages"]) == 4);
  CHECK(S(n["first_seen"]) == "2026-03-01T10:00:00.000Z");
  CHECK(S(n["last_seen"]) == "2026-03-01T12:00:00.000Z");
}

TEST_CASE("a window keeps lines with from <= time < to", "[scan]") {
  Fixture f;
  ms::Options o;
  o.inputs = {f.Write("calls.ndjson", kLines)};
  o.from = "2026-01-01T01:00:00Z";  // line 2 exactly at from: in
  o.to = "2026-01-01T05:00:00Z";    // line 8 exactly at to: out
  REQUIRE(f.Run(o) == ms::kExitOk);
  Json j(f.Read("report.out"));
  CHECK(j.Verdict("registered") == 0);  // 00:00, before
  CHECK(j.Verdict("alias") == 1);       // 01:00
  CHECK(j.Verdict("unknown") == 1);     // 02:00 in, 06:00 out
  CHECK(j.Verdict("malformed") == 2);   // 03:00 (not_string) and the unreadable line 5
  CHECK(j.Verdict("missing") == 1);     // 04:00
  CHECK(j.Verdict("inactive") == 0);    // 05:00 = to
  CHECK(j.Verdict("variant") == 0);     // no timestamp: cannot be placed in the window
  CHECK(U(j.doc["scan"]["inputs"].at(0)["outside_window"]) == 4);
  CHECK(S(j.doc["window"]["from"]) == "2026-01-01T01:00:00.000Z");
  CHECK(S(j.doc["window"]["to"]) == "2026-01-01T05:00:00.000Z");
}

TEST_CASE("findings of the --fail-on class exit with status 3", "[scan]") {
  Fixture f;
  ms::Options o;
  o.inputs = {f.Write("calls.ndjson", kLines)};
  o.fail_on = "never";
  CHECK(f.Run(o) == ms::kExitOk);
  o.fail_on = "unknown";
  CHECK(f.Run(o) == ms::kExitFindings);
  o.fail_on = "unregistered";
  CHECK(f.Run(o) == ms::kExitFindings);
  SECTION("clean traffic passes both") {
    o.inputs = {f.Write("clean.ndjson",
                        "{\"model\":\"Qwen-Tiny\"}\n{\"model\":\"qwen3_next_80b_optimized\"}\n")};
    o.fail_on = "unregistered";
    CHECK(f.Run(o) == ms::kExitOk);
  }
  SECTION("a typo is unregistered, not unknown") {
    o.inputs = {f.Write("typo.ndjson", "{\"model\":\"Qwen-Tinny\"}\n")};
    o.fail_on = "unknown";
    CHECK(f.Run(o) == ms::kExitOk);
    o.fail_on = "unregistered";
    CHECK(f.Run(o) == ms::kExitFindings);
  }
}

TEST_CASE("an empty file is a complete scan of nothing", "[scan]") {
  Fixture f;
  ms::Options o;
  o.inputs = {f.Write("empty.ndjson", "")};
  o.format = "markdown";
  REQUIRE(f.Run(o) == ms::kExitOk);
  const std::string md = f.Read("report.out");
  CHECK_THAT(md, Catch::Contains("No messages were audited"));
  CHECK_THAT(md, Catch::Contains("| **total** | **0** | |"));
}

TEST_CASE("a truncated archive keeps what was read, and the scan fails", "[scan]") {
  Fixture f;
  std::string text;
  for (int i = 0; i < 5000; ++i)
    text += "{\"model\":\"Qwen3-Next-80B-Local\",\"i\":" + std::to_string(i) + "}\n";
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string gz(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(text.data());
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(gz.data());
  z.avail_out = static_cast<uInt>(gz.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  gz.resize(z.total_out - 10);  // cut the trailer: every line inflates, the end is missing
  deflateEnd(&z);
  ms::Options o;
  o.inputs = {f.Write("cut.ndjson.gz", gz), f.Write("ok.ndjson", "{\"model\":\"Qwen-Tiny\"}\n")};
  CHECK(f.Run(o) == ms::kExitFailure);
  Json j(f.Read("report.out"));
  CHECK_FALSE(B(j.doc["scan"]["complete"]));
  CHECK_THAT(S(j.doc["scan"]["inputs"].at(0)["error"]), Catch::Contains("truncated"));
  CHECK(j.Verdict("unknown") > 0);
  CHECK(j.Verdict("registered") == 1);  // the next input was still read
}

TEST_CASE("invalid requests fail before anything is read", "[scan]") {
  Fixture f;
  ms::Options o;
  o.inputs = {f.Write("calls.ndjson", kLines)};
  SECTION("missing input") {
    o.inputs.push_back(f.dir + "/missing.ndjson");
    CHECK_THROWS_WITH(f.Run(o),
                      Catch::Contains("missing.ndjson") && Catch::Contains("cannot open"));
  }
  SECTION("bad bounds") {
    o.from = "yesterday";
    CHECK_THROWS_AS(f.Run(o), model_auditor::LoadError);
  }
  SECTION("from after to") {
    o.from = "2026-02-01";
    o.to = "2026-01-01";
    CHECK_THROWS_WITH(f.Run(o), Catch::Contains("must be before"));
  }
  SECTION("offsets are for Kafka") {
    o.from_offset = 5;
    CHECK_THROWS_WITH(f.Run(o), Catch::Contains("Kafka"));
  }
  SECTION("an output that cannot be written") {
    ms::Options bad = o;
    bad.output = f.dir + "/no/such/dir/report.md";
    const std::atomic<bool> stop{false};
    CHECK_THROWS_WITH(ms::Run(f.config, bad, stop), Catch::Contains("cannot write there"));
  }
  SECTION("a window needs a time field") {
    o.from = "2026-01-01";
    o.time_field = "";
    CHECK_THROWS_WITH(f.Run(o), Catch::Contains("--time-field"));
  }
  CHECK_FALSE(std::filesystem::exists(f.dir + "/report.out"));
}
