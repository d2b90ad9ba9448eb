#include "config/config.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "util/error.h"

namespace model_auditor::config {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using std::chrono::milliseconds;
using Kind = NameSource::Kind;

const std::string kPath = "/etc/model-auditor/auditor.yaml";

std::string ShippedConfig(const std::string& name) {
  return std::string(MODEL_AUDITOR_SOURCE_DIR) + "/config/" + name;
}

// The LoadError message of parsing `text`; fails the test when it parses.
std::string ErrorOf(const std::string& text, const std::string& path = kPath) {
  try {
    ParseConfig(text, path);
  } catch (const LoadError& e) {
    return e.what();
  }
  FAIL("expected a LoadError for:\n" << text);
  return {};
}

// "<kPath>:<line>: " — the prefix every positioned error carries.
std::string At(int line) { return kPath + ":" + std::to_string(line) + ": "; }

bool SourcesEqual(const std::vector<NameSource>& a, const std::vector<NameSource>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].key != b[i].key) return false;
  }
  return true;
}

// A scratch directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("model-auditor-config-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const auto p = path / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  static inline int counter = 0;
};

void CheckDefaults(const Config& c) {
  CHECK(c.kafka.brokers == "127.0.0.1:9092");
  CHECK(c.kafka.group_id == "model-auditor");
  CHECK(c.kafka.topics == std::vector<std::string>{"model-inference-requests"});
  CHECK(c.kafka.topic_regex.empty());
  CHECK(c.kafka.properties.empty());
  CHECK(c.kafka.commit_interval == milliseconds(5000));
  CHECK(c.kafka.close_timeout == milliseconds(5000));
  CHECK(c.kafka.lag_interval == milliseconds(1000));
  CHECK(c.extraction.empty());
  CHECK(c.registry.refresh_interval == milliseconds(30'000));
  CHECK(c.audit.alert_window == milliseconds(5 * 60 * 1000));
  CHECK(c.audit.max_unregistered_series == 1000);
  CHECK(c.audit.verdict_cache_size == 100'000);
  CHECK(c.audit.match.max_distance == 2);
  CHECK(c.audit.match.decorations == classify::DefaultDecorations());
  CHECK(c.naming.pattern.empty());
  CHECK(c.naming.forbidden_tokens.empty());
  CHECK(c.web.listen_address == "127.0.0.1:9847");
  CHECK(c.web.telemetry_path == "/metrics");
  CHECK(c.web.max_connections == 64);
  const ExtractionRule& rule = c.RuleFor("model-inference-requests");
  CHECK(rule.topics == "*");
  CHECK(SourcesEqual(rule.sources, {{Kind::kHeader, "X-Model-Name"},
                                    {Kind::kJsonPointer, "/model_name"},
                                    {Kind::kJsonPointer, "/model"}}));
}

TEST_CASE("the minimal config gives every default", "[config]") {
  const Config c = ParseConfig("registry: {file: registry.yaml}\n", kPath);
  CheckDefaults(c);
  CHECK(c.path == kPath);
  CHECK(c.registry.file == "/etc/model-auditor/registry.yaml");
  CHECK(SourcesEqual(DefaultSources(), c.RuleFor("anything").sources));
}

TEST_CASE("an empty config file gives the defaults", "[config]") {
  SECTION("no text at all") { CheckDefaults(ParseConfig("", kPath)); }
  SECTION("only comments and blank lines") {
    CheckDefaults(ParseConfig("# nothing here\n\n# still nothing\n", kPath));
  }
  SECTION("a document marker") { CheckDefaults(ParseConfig("---\n", kPath)); }
  SECTION("empty sections keep their defaults") {
    CheckDefaults(ParseConfig("kafka:\naudit:\nweb:\nnaming:\nextraction:\n", kPath));
  }
}

TEST_CASE("the registry path is resolved against the config's directory", "[config]") {
  SECTION("relative path") {
    CHECK(ParseConfig("registry: {file: registry.yaml}", "/srv/a/auditor.yaml").registry.file ==
          "/srv/a/registry.yaml");
  }
  SECTION("relative path with ..") {
    CHECK(ParseConfig("registry: {file: ../reg/r.json}", "/srv/a/auditor.yaml").registry.file ==
          "/srv/reg/r.json");
  }
  SECTION("relative config path") {
    CHECK(ParseConfig("registry: {file: registry.yaml}", "conf/auditor.yaml").registry.file ==
          "conf/registry.yaml");
  }
  SECTION("config in the working directory") {
    CHECK(ParseConfig("registry: {file: registry.yaml}", "auditor.yaml").registry.file ==
          "registry.yaml");
  }
  SECTION("absolute path is kept") {
    CHECK(ParseConfig("registry: {file: /var/lib/reg.yaml}", "/srv/a/auditor.yaml")
              .registry.file == "/var/lib/reg.yaml");
  }
}

TEST_CASE("every key can be set", "[config]") {
  const Config c = ParseConfig(
      "kafka:\n"
      "  brokers: [k1:9092, k2:9092]\n"
      "  group_id: auditors\n"
      "  topic_regex: '^model-inference-.*'\n"
      "  commit_interval: 2s\n"
      "  close_timeout: 10s\n"
      "  lag_interval: 500ms\n"
      "  properties:\n"
      "    security.protocol: SASL_SSL\n"
      "    sasl.mechanisms: SCRAM-SHA-512\n"
      "    session.timeout.ms: 30000\n"
      "registry:\n"
      "  file: /r.yaml\n"
      "  refresh_interval: 1m\n"
      "audit:\n"
      "  alert_window: 10m\n"
      "  max_unregistered_series: 50\n"
      "  verdict_cache_size: 10\n"
      "  fuzzy_max_distance: 1\n"
      "  decorations: [prod, latest]\n"
      "naming:\n"
      "  pattern: '^[A-Z].*$'\n"
      "  forbidden_tokens: [Local]\n"
      "web:\n"
      "  listen_address: ':9999'\n"
      "  telemetry_path: /m\n"
      "  max_connections: 8\n",
      kPath);
  CHECK(c.kafka.brokers == "k1:9092,k2:9092");
  CHECK(c.kafka.group_id == "auditors");
  CHECK(c.kafka.topics.empty());
  CHECK(c.kafka.topic_regex == "^model-inference-.*");
  CHECK(c.kafka.commit_interval == milliseconds(2000));
  CHECK(c.kafka.close_timeout == milliseconds(10'000));
  CHECK(c.kafka.lag_interval == milliseconds(500));
  CHECK(c.kafka.properties == std::map<std::string, std::string>{
                                  {"security.protocol", "SASL_SSL"},
                                  {"sasl.mechanisms", "SCRAM-SHA-512"},
                                  {"session.timeout.ms", "30000"}});
  CHECK(c.registry.file == "/r.yaml");
  CHECK(c.registry.refresh_interval == milliseconds(60'000));
  CHECK(c.audit.alert_window == milliseconds(600'000));
  CHECK(c.audit.max_unregistered_series == 50);
  CHECK(c.audit.verdict_cache_size == 10);
  CHECK(c.audit.match.max_distance == 1);
  CHECK(c.audit.match.decorations == std::vector<std::string>{"prod", "latest"});
  CHECK(c.naming.pattern == "^[A-Z].*$");
  CHECK(c.naming.forbidden_tokens == std::vector<std::string>{"Local"});
  CHECK(c.web.listen_address == ":9999");
  CHECK(c.web.telemetry_path == "/m");
  CHECK(c.web.max_connections == 8);
}

TEST_CASE("unknown keys are rejected with file, line and the expected keys", "[config]") {
  SECTION("top level") {
    const std::string e = ErrorOf(
        "registry:\n"
        "  file: r.yaml\n"
        "brokerz: x\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("unknown key 'brokerz'"));
    CHECK_THAT(e, Contains("kafka, extraction, registry, audit, naming, web"));
  }
  SECTION("kafka") {
    const std::string e = ErrorOf(
        "kafka:\n"
        "  brokers: a:9092\n"
        "  brokerz: b:9092\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("unknown key 'brokerz' in kafka"));
    CHECK_THAT(e, Contains("brokers, group_id, topics, topic_regex, properties"));
  }
  SECTION("extraction rule") {
    const std::string e = ErrorOf(
        "extraction:\n"
        "  - topics: '*'\n"
        "    source:\n"
        "      - header: X\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("unknown key 'source'"));
    CHECK_THAT(e, Contains("topics, sources"));
  }
  SECTION("extraction source") {
    const std::string e = ErrorOf(
        "extraction:\n"
        "  - topics: '*'\n"
        "    sources:\n"
        "      - header: X\n"
        "      - pointer: /model\n");
    CHECK_THAT(e, StartsWith(At(5)));
    CHECK_THAT(e, Contains("unknown key 'pointer'"));
    CHECK_THAT(e, Contains("header, json_pointer"));
  }
  SECTION("registry") {
    const std::string e = ErrorOf(
        "registry:\n"
        "  file: r.yaml\n"
        "  urll: http://x\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("unknown key 'urll' in registry"));
    CHECK_THAT(e, Contains("file, url, refresh_interval"));
  }
  SECTION("registry with both file and url") {
    const std::string e = ErrorOf(
        "registry:\n"
        "  file: r.yaml\n"
        "  url: http://x\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("either 'file' or 'url'"));
  }
  SECTION("registry url scheme") {
    const std::string e = ErrorOf(
        "registry:\n"
        "  url: ftp://x/models\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("http:// or https://"));
  }
  SECTION("a quantifier on a quantifier in the naming pattern") {
    const std::string e = ErrorOf(
        "naming:\n"
        "  pattern: '^(Qwen|Llama)[0-9]*-.++$'\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("a quantifier follows a quantifier"));
    CHECK_NOTHROW(ParseConfig("naming:\n  pattern: '^a+?b{2,3}c*?[+*]$'\n", "x.yaml"));
  }
  SECTION("registry max_shrink") {
    const std::string e = ErrorOf(
        "registry:\n"
        "  file: r.yaml\n"
        "  max_shrink: 1.5\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("between 0 and 1"));
  }
  SECTION("audit") {
    const std::string e = ErrorOf(
        "audit:\n"
        "  alert_window: 5m\n"
        "  max_series: 5\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("unknown key 'max_series' in audit"));
    CHECK_THAT(e, Contains("alert_window, max_unregistered_series, verdict_cache_size, "
                           "fuzzy_max_distance, decorations"));
  }
  SECTION("naming") {
    const std::string e = ErrorOf(
        "naming:\n"
        "  forbidden: [Local]\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("unknown key 'forbidden' in naming"));
    CHECK_THAT(e, Contains("pattern, forbidden_tokens"));
  }
  SECTION("web") {
    const std::string e = ErrorOf(
        "web:\n"
        "  listen_address: ':1'\n"
        "\n"
        "  listen-address: ':2'\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("unknown key 'listen-address' in web"));
    CHECK_THAT(e, Contains("listen_address, telemetry_path, max_connections"));
  }
}

TEST_CASE("duplicate keys are rejected with the line of the second", "[config]") {
  SECTION("top level") {
    const std::string e = ErrorOf(
        "registry: {file: a.yaml}\n"
        "web: {}\n"
        "registry: {file: b.yaml}\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("duplicate key 'registry'"));
  }
  SECTION("in a section") {
    const std::string e = ErrorOf(
        "audit:\n"
        "  alert_window: 5m\n"
        "  max_unregistered_series: 5\n"
        "  alert_window: 10m\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("duplicate key 'alert_window' in audit"));
  }
  SECTION("among kafka properties") {
    const std::string e = ErrorOf(
        "kafka:\n"
        "  properties:\n"
        "    sasl.username: a\n"
        "    sasl.username: b\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("duplicate"));
    CHECK_THAT(e, Contains("sasl.username"));
  }
}

TEST_CASE("bad values are rejected with the line of the value", "[config]") {
  SECTION("a duration in words") {
    const std::string e = ErrorOf(
        "registry: {file: r.yaml}\n"
        "audit:\n"
        "  alert_window: 5 minutes\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("'alert_window' must be a duration"));
    CHECK_THAT(e, Contains("'5 minutes'"));
  }
  SECTION("a duration below the minimum") {
    const std::string e = ErrorOf("kafka:\n  commit_interval: 10ms\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'commit_interval' must be at least 100ms"));
  }
  SECTION("a duration that overflows") {
    const std::string e = ErrorOf("audit:\n  alert_window: 999999999999d\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'alert_window' must be a duration"));
  }
  SECTION("a number above the range") {
    const std::string e = ErrorOf("audit:\n  max_unregistered_series: 2000000\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'max_unregistered_series' must be between 1 and 1000000, got 2000000"));
  }
  SECTION("a number below the range") {
    const std::string e = ErrorOf("web:\n  max_connections: 0\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("between 1 and 10000"));
  }
  SECTION("fuzzy distance is capped at 2") {
    const std::string e = ErrorOf("audit:\n  fuzzy_max_distance: 3\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("between 0 and 2"));
  }
  SECTION("a number that is not whole") {
    for (const char* v : {"-1", "1.5", "ten", "1e3", "99999999999999999999999"}) {
      INFO(v);
      const std::string e = ErrorOf(std::string("audit:\n  verdict_cache_size: ") + v + "\n");
      CHECK_THAT(e, StartsWith(At(2)));
      CHECK_THAT(e, Contains("'verdict_cache_size' must be a whole number"));
    }
  }
  SECTION("a list where a string is expected") {
    const std::string e = ErrorOf("kafka:\n  group_id: [a, b]\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'group_id' must be a string"));
  }
  SECTION("an empty string") {
    const std::string e = ErrorOf("kafka:\n  group_id: ''\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'group_id' must not be empty"));
  }
  SECTION("a section that is not a mapping") {
    const std::string e = ErrorOf("registry: {file: r.yaml}\nweb: [a]\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'web' must be a mapping"));
  }
  SECTION("a root that is not a mapping") {
    const std::string e = ErrorOf("- kafka\n- web\n");
    CHECK_THAT(e, StartsWith(At(1)));
    CHECK_THAT(e, Contains("must be a mapping"));
  }
  SECTION("a telemetry path without a slash") {
    const std::string e = ErrorOf("web:\n  telemetry_path: metrics\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'telemetry_path' must start with '/'"));
  }
  SECTION("an invalid naming pattern") {
    const std::string e = ErrorOf("naming:\n  forbidden_tokens: [Local]\n  pattern: '^(['\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("'pattern' is not a valid regular expression"));
  }
  SECTION("an empty decoration") {
    const std::string e = ErrorOf("audit:\n  decorations: [prod, '-']\n");
    CHECK_THAT(e, StartsWith(At(2)));
  }
}

TEST_CASE("topics are either a list or a regex", "[config]") {
  SECTION("both set: topics first") {
    const std::string e = ErrorOf(
        "kafka:\n"
        "  topics: [a]\n"
        "  topic_regex: '^b.*'\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("either 'topics' or 'topic_regex', not both"));
  }
  SECTION("both set: regex first") {
    const std::string e = ErrorOf(
        "kafka:\n"
        "  topic_regex: '^b.*'\n"
        "  brokers: x:1\n"
        "  topics: [a]\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("either 'topics' or 'topic_regex', not both"));
  }
  SECTION("a regex without ^") {
    const std::string e = ErrorOf("kafka:\n  topic_regex: 'model-inference-.*'\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("must start with '^'"));
  }
  SECTION("an invalid regex") {
    const std::string e = ErrorOf("kafka:\n  topic_regex: '^model-(['\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'topic_regex' is not a valid regular expression"));
  }
  SECTION("a regex in the topic list") {
    const std::string e = ErrorOf("kafka:\n  topics: ['^model-.*']\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("use 'topic_regex'"));
  }
  SECTION("a list of topics replaces the default") {
    const Config c = ParseConfig("kafka:\n  topics: [a, b]\n", kPath);
    CHECK(c.kafka.topics == std::vector<std::string>{"a", "b"});
    CHECK(c.kafka.topic_regex.empty());
  }
  SECTION("a regex replaces the default list") {
    const Config c = ParseConfig("kafka:\n  topic_regex: '^model-inference-.*'\n", kPath);
    CHECK(c.kafka.topics.empty());
    CHECK(c.kafka.topic_regex == "^model-inference-.*");
  }
}

TEST_CASE("extraction sources are validated", "[config]") {
  SECTION("a JSON pointer without a leading slash") {
    const std::string e = ErrorOf(
        "extraction:\n"
        "  - topics: '*'\n"
        "    sources:\n"
        "      - json_pointer: model\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("JSON pointer 'model' must start with '/'"));
  }
  SECTION("a source with both header and json_pointer") {
    const std::string e = ErrorOf(
        "extraction:\n"
        "  - topics: '*'\n"
        "    sources:\n"
        "      - header: X-Model-Name\n"
        "        json_pointer: /model\n");
    CHECK_THAT(e, StartsWith(At(5)));
    CHECK_THAT(e, Contains("either 'header' or 'json_pointer', not both"));
  }
  SECTION("an empty source") {
    const std::string e = ErrorOf(
        "extraction:\n"
        "  - topics: '*'\n"
        "    sources:\n"
        "      - {}\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("empty source"));
  }
  SECTION("an empty list of sources") {
    const std::string e = ErrorOf(
        "extraction:\n"
        "  - topics: '*'\n"
        "    sources: []\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("non-empty list"));
  }
  SECTION("a rule without sources") {
    const std::string e = ErrorOf(
        "extraction:\n"
        "  - topics: 'a-*'\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("without 'sources'"));
  }
  SECTION("an empty header name") {
    const std::string e = ErrorOf(
        "extraction:\n"
        "  - sources:\n"
        "      - header: ''\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("'header' must not be empty"));
  }
  SECTION("extraction that is not a list") {
    const std::string e = ErrorOf("extraction:\n  topics: '*'\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'extraction' must be a list"));
  }
}

TEST_CASE("kafka properties pass through to librdkafka but not the ones we manage", "[config]") {
  SECTION("a property managed by model-auditor") {
    for (const char* owned : {"group.id", "bootstrap.servers", "enable.auto.commit",
                              "enable.auto.offset.store", "auto.commit.interval.ms"}) {
      INFO(owned);
      const std::string e = ErrorOf(std::string("kafka:\n  properties:\n    client.id: x\n    ") +
                                    owned + ": v\n");
      CHECK_THAT(e, StartsWith(At(4)));
      CHECK_THAT(e, Contains(std::string("property '") + owned + "' is managed by model-auditor"));
    }
  }
  SECTION("an unknown librdkafka property") {
    const std::string e = ErrorOf(
        "kafka:\n"
        "  properties:\n"
        "    client.id: auditor\n"
        "    foo.bar: 1\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("foo.bar"));
  }
  SECTION("a bad value for a known property") {
    const std::string e = ErrorOf(
        "kafka:\n"
        "  properties:\n"
        "    security.protocol: carrier-pigeon\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("security.protocol"));
  }
  SECTION("properties that are not a mapping") {
    const std::string e = ErrorOf("kafka:\n  properties: [a]\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("'properties' must be a mapping"));
  }
  SECTION("valid properties are kept as strings") {
    const Config c = ParseConfig(
        "kafka:\n"
        "  properties:\n"
        "    enable.ssl.certificate.verification: false\n"
        "    fetch.max.bytes: 1048576\n",
        kPath);
    CHECK(c.kafka.properties.at("enable.ssl.certificate.verification") == "false");
    CHECK(c.kafka.properties.at("fetch.max.bytes") == "1048576");
  }
}

TEST_CASE("invalid YAML is reported with its line", "[config]") {
  SECTION("an unclosed flow sequence") {
    const std::string e = ErrorOf(
        "registry:\n"
        "  file: r.yaml\n"
        "kafka:\n"
        "  topics: [a, b\n"
        "web:\n"
        "  listen_address: x\n");
    CHECK_THAT(e, StartsWith(kPath + ":"));
    CHECK_THAT(e, Contains("invalid YAML"));
    // yaml-cpp notices at the next line it cannot fit into the sequence.
    CHECK_THAT(e, StartsWith(At(4)) || StartsWith(At(5)) || StartsWith(At(6)));
  }
  SECTION("a bad indentation") {
    const std::string e = ErrorOf(
        "kafka:\n"
        "  brokers: a\n"
        " group_id: b\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("invalid YAML"));
  }
  SECTION("a mapping value where none may start") {
    const std::string e = ErrorOf(
        "registry:\n"
        "  file: r.yaml\n"
        "  refresh_interval: 30s: 1m\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("invalid YAML"));
  }
}

TEST_CASE("extraction rules: the first matching glob wins, defaults otherwise", "[config]") {
  const Config c = ParseConfig(
      "extraction:\n"
      "  - topics: 'gateway-*'\n"
      "    sources:\n"
      "      - json_pointer: /request/model\n"
      "  - topics: 'gateway-legacy'\n"
      "    sources:\n"
      "      - header: X-Legacy\n"
      "  - topics: 'vllm-?'\n"
      "    sources:\n"
      "      - header: X-Served-Model\n"
      "      - json_pointer: /model\n",
      kPath);
  REQUIRE(c.extraction.size() == 3);
  SECTION("first rule") {
    const ExtractionRule& r = c.RuleFor("gateway-eu");
    CHECK(r.topics == "gateway-*");
    CHECK(SourcesEqual(r.sources, {{Kind::kJsonPointer, "/request/model"}}));
  }
  SECTION("an earlier rule shadows a later, more specific one") {
    CHECK(c.RuleFor("gateway-legacy").topics == "gateway-*");
  }
  SECTION("sources keep their order") {
    const ExtractionRule& r = c.RuleFor("vllm-1");
    CHECK(r.topics == "vllm-?");
    CHECK(SourcesEqual(r.sources,
                       {{Kind::kHeader, "X-Served-Model"}, {Kind::kJsonPointer, "/model"}}));
  }
  SECTION("no rule matches: the default sources") {
    const ExtractionRule& r = c.RuleFor("vllm-12");
    CHECK(SourcesEqual(r.sources, DefaultSources()));
  }
  SECTION("a rule without topics matches every topic") {
    const Config d = ParseConfig(
        "extraction:\n"
        "  - sources:\n"
        "      - header: X-Only\n",
        kPath);
    CHECK(SourcesEqual(d.RuleFor("whatever").sources, {{Kind::kHeader, "X-Only"}}));
  }
}

TEST_CASE("LoadConfigFile reads a file and names it in errors", "[config]") {
  TempDir dir;
  SECTION("relative registry path resolved against the file's directory") {
    const std::string path = dir.Write("auditor.yaml", "registry:\n  file: reg/registry.yaml\n");
    const Config c = LoadConfigFile(path);
    CHECK(c.path == path);
    CHECK(c.registry.file == (dir.path / "reg" / "registry.yaml").string());
  }
  SECTION("errors carry the file's path and line") {
    const std::string path = dir.Write("bad.yaml", "web:\n  listen_address: x\n  tls: y\n");
    CHECK_THROWS_WITH(LoadConfigFile(path), StartsWith(path + ":3: ") && Contains("'tls'"));
  }
  SECTION("a missing file") {
    const std::string path = (dir.path / "absent.yaml").string();
    CHECK_THROWS_WITH(LoadConfigFile(path),
                      StartsWith(path + ": ") && Contains("cannot open config file"));
  }
}

TEST_CASE("every shipped config loads", "[config]") {
  SECTION("minimal.yaml is the defaults") {
    const Config c = LoadConfigFile(ShippedConfig("minimal.yaml"));
    CheckDefaults(c);
    CHECK(c.registry.file == ShippedConfig("registry.yaml"));
  }
  SECTION("example.yaml documents the defaults") {
    const Config c = LoadConfigFile(ShippedConfig("example.yaml"));
    // Its comment says "every key with its default": hold it to that, apart
    // from the naming policy it shows off and the rule that spells out the
    // default sources.
    Config expected = c;
    expected.naming = {};
    expected.extraction.clear();
    CheckDefaults(expected);
    CHECK(c.registry.file == ShippedConfig("registry.yaml"));
    REQUIRE(c.extraction.size() == 1);
    CHECK(c.extraction[0].topics == "*");
    CHECK(SourcesEqual(c.extraction[0].sources, DefaultSources()));
    CHECK_FALSE(c.naming.pattern.empty());
    CHECK(c.naming.forbidden_tokens == std::vector<std::string>{"Local", "Prod", "Test"});
  }
  SECTION("demo.yaml") {
    const Config c = LoadConfigFile(ShippedConfig("demo.yaml"));
    CHECK(c.kafka.group_id == "model-auditor-demo");
    CHECK(c.audit.alert_window == milliseconds(120'000));
    CHECK(c.registry.file == ShippedConfig("registry.yaml"));
    CHECK(c.naming.forbidden_tokens == std::vector<std::string>{"Local", "Prod", "Test"});
  }
}

}  // namespace
}  // namespace model_auditor::config
