// Name intelligence end to end: the report and the landing page reflect a
// stream produced to a real broker exactly — counts per name, families,
// verdicts and suggestions.

#include <catch2/catch.hpp>
#include <signal.h>
#include <simdjson.h>

#include <fstream>
#include <map>
#include <sstream>

#include "support.h"

namespace mt = model_auditor::testing;

namespace {

struct Expected {
  std::string verdict;
  std::string suggestion;
  std::string family;
  int messages;
};

}  // namespace

TEST_CASE("the report groups a produced stream into families with exact counts and suggestions",
          "[integration][kafka][report]") {
  const std::string topic = mt::UniqueName("model-inference-report");
  const std::string group = mt::UniqueName("model-auditor-report");
  mt::CreateTopic(topic, 2);

  // The twelve spellings of the phantom from the audit report, each sent a
  // different number of times, plus a typo, a variant and a retired model.
  const std::vector<std::string> phantom = {
      "Qwen3-Next-80B-Local",       "qwen3-next-80b-local",          "Qwen3_Next_80B_Local",
      "Qwen3Next80BLocal",          "Qwen3-Next-80B-Local-Model",    "Qwen3-Next-80B-Local-v1",
      "Qwen3-Next-80B-Local-Deployment", "Qwen3-Next-80B-Local-Instance", "Qwen3-Next-80B-Local-Prod",
      "Qwen3-Next-80B-Local-Test",  "Qwen3-Next-80B-Local-Cluster",  "Qwen3-Next-80B-Local-Service"};
  std::map<std::string, Expected> expect;
  for (std::size_t i = 0; i < phantom.size(); ++i) {
    expect[phantom[i]] = {"unknown", "", "qwen3next80blocal", static_cast<int>(10 + i)};
  }
  expect["Qwen3-Next-80B-Optimzed"] = {"typo", "Qwen3-Next-80B-Optimized", "qwen3next80boptimzed", 7};
  expect["qwen3-next-72b-cloud-prod"] = {"variant", "Qwen3-Next-72B-Cloud", "qwen3next72bcloud", 5};
  expect["Qwen2-7B"] = {"inactive", "Qwen3-Next-72B-Cloud", "qwen27b", 3};

  std::vector<mt::Message> messages;
  int registered = 0;
  for (const auto& [name, e] : expect) {
    for (int i = 0; i < e.messages; ++i) {
      mt::Message m;
      m.key = name + std::to_string(i);
      m.value = "{\"model_name\":\"" + name + "\",\"i\":" + std::to_string(i) + "}";
      messages.push_back(std::move(m));
    }
  }
  for (int i = 0; i < 40; ++i, ++registered) {
    mt::Message m;
    m.key = "r" + std::to_string(i);
    m.value = R"({"model_name":"Qwen3-Next-80B-Optimized"})";
    messages.push_back(std::move(m));
  }
  mt::Produce(topic, messages);

  mt::TempDir dir;
  std::ifstream reg(mt::SourceDir() + "/config/registry.yaml");
  std::stringstream registry;
  registry << reg.rdbuf();
  dir.Write("registry.yaml", registry.str());
  const std::string config = dir.Write(
      "config.yaml", "kafka:\n  brokers: " + mt::Bootstrap() + "\n  group_id: " + group +
                         "\n  topics: [" + topic + "]\nregistry:\n  file: registry.yaml\n");
  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());

  const double total = static_cast<double>(messages.size());
  std::string body;
  REQUIRE(mt::Eventually(
      [&] {
        body = mt::HttpRequest(addr, "/api/v1/report").body;
        return body.find("\"messages\":" + std::to_string(messages.size())) != std::string::npos;
      },
      std::chrono::seconds(60)));

  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(body);
  CHECK(std::string_view(doc["registry"]["source"].get_string().value()).ends_with("registry.yaml"));
  CHECK(doc["registry"]["models"].get_uint64().value() == 7);
  CHECK(static_cast<double>(doc["totals"]["messages"].get_uint64().value()) == total);
  CHECK(doc["totals"]["by_verdict"]["registered"].get_uint64().value() == 40);
  CHECK(doc["totals"]["by_verdict"]["unknown"].get_uint64().value() == 10 * 12 + 66);

  std::map<std::string, Expected> seen;
  std::vector<std::string> family_order;
  std::uint64_t previous = UINT64_MAX;
  for (simdjson::dom::element fam : doc["families"].get_array()) {
    const std::string family(fam["normalized"].get_string().value());
    const std::uint64_t fam_messages = fam["messages"].get_uint64().value();
    CHECK(fam_messages <= previous);  // heaviest family first
    previous = fam_messages;
    family_order.push_back(family);
    std::uint64_t sum = 0;
    for (simdjson::dom::element n : fam["names"].get_array()) {
      const std::string name(n["model_name"].get_string().value());
      Expected e{std::string(n["verdict"].get_string().value()),
                 std::string(n["suggestion"].get_string().value()), family,
                 static_cast<int>(n["messages"].get_uint64().value())};
      sum += static_cast<std::uint64_t>(e.messages);
      CHECK(n["topics"].get_array().size() == 1);
      CHECK(!std::string_view(n["first_seen"].get_string().value()).empty());
      seen[name] = e;
    }
    CHECK(sum == fam_messages);
  }
  REQUIRE(seen.size() == expect.size());
  for (const auto& [name, e] : expect) {
    INFO(name);
    REQUIRE(seen.count(name) == 1);
    CHECK(seen[name].verdict == e.verdict);
    CHECK(seen[name].suggestion == e.suggestion);
    CHECK(seen[name].family == e.family);
    CHECK(seen[name].messages == e.messages);
  }
  REQUIRE(!family_order.empty());
  CHECK(family_order.front() == "qwen3next80blocal");

  // The page shows the same table: one family row with twelve spellings, and
  // the typo with its suggestion.
  const std::string page = mt::HttpRequest(addr, "/").body;
  CHECK_THAT(page, Catch::Contains("family <code>qwen3next80blocal</code> &middot; 12 spellings"));
  for (const auto& name : phantom) CHECK_THAT(page, Catch::Contains("<code>" + name + "</code>"));
  CHECK_THAT(page, Catch::Contains("<code>Qwen3-Next-80B-Optimzed</code></td><td><span class=\"v "
                                   "v-typo\">typo</span></td><td><code>Qwen3-Next-80B-Optimized</code>"));

  daemon.Signal(SIGTERM);
  CHECK(daemon.Wait(std::chrono::seconds(10)) == std::optional<int>(0));
}
