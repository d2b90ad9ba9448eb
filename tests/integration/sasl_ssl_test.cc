// Kafka over SASL_SSL (SCRAM-SHA-512) end to end: a real broker with a SASL_SSL listener
// (scripts/kafka.sh start --sasl-ssl), messages produced over it with kcat, the daemon
// authenticating with a password it reads through ${file:...}, and the password nowhere in the
// daemon's debug log, its landing page or /metrics.
//
// The broker is Kafka 3.7.1 (KAFKA_SASL_VERSION overrides): Debian's librdkafka 2.0.2 fails
// SCRAM against Kafka 4.x (checked with kcat against 4.1.1; the Java client succeeds there;
// librdkafka fixed it later, see edenhill/kcat#462), so a 4.x broker would only test that bug.

#include <catch2/catch.hpp>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "support.h"

namespace mt = model_auditor::testing;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A broker of its own, stopped (and its state removed) on every exit path.
class SaslBroker {
 public:
  SaslBroker() {
    const char* version = std::getenv("KAFKA_SASL_VERSION");
    std::string out;
    const int rc = mt::Run("KAFKA_VERSION=" + std::string(version ? version : "3.7.1") + " " +
                               mt::SourceDir() + "/scripts/kafka.sh start --sasl-ssl 2>" +
                               log_.path() + "/start.log",
                           &out);
    INFO(out << ReadAll(log_.path() + "/start.log"));
    REQUIRE(rc == 0);
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    if (!env_.count("KAFKA_SASL_SSL_BOOTSTRAP")) {
      Stop();  // the destructor does not run when the constructor fails
      FAIL("kafka.sh start --sasl-ssl printed no KAFKA_SASL_SSL_BOOTSTRAP:\n" << out);
    }
  }
  ~SaslBroker() { Stop(); }
  SaslBroker(const SaslBroker&) = delete;
  SaslBroker& operator=(const SaslBroker&) = delete;

  const std::string& operator[](const std::string& key) { return env_[key]; }

 private:
  void Stop() {
    if (env_.count("KAFKA_STATE_DIR")) {
      std::string ignored;
      mt::Run(mt::SourceDir() + "/scripts/kafka.sh stop " + env_["KAFKA_STATE_DIR"], &ignored);
      env_.erase("KAFKA_STATE_DIR");
    }
  }

  mt::TempDir log_;
  std::map<std::string, std::string> env_;
};

}  // namespace

TEST_CASE("the daemon consumes over SASL_SSL with SCRAM-SHA-512 and never shows the password",
          "[integration][security][sasl]") {
  SaslBroker broker;
  const std::string password = [&] {
    std::string p = ReadAll(broker["KAFKA_SASL_PASSWORD_FILE"]);
    while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
    return p;
  }();
  REQUIRE(password.size() >= 16);
  const std::string topic = mt::UniqueName("model-inference-sasl");
  std::string out;
  REQUIRE(mt::Run(mt::SourceDir() + "/scripts/kafka.sh create-topic " +
                      broker["KAFKA_STATE_DIR"] + " " + topic + " 2",
                  &out) == 0);

  mt::TempDir dir;
  constexpr int kMessages = 300;
  std::string payload;
  for (int i = 0; i < kMessages; ++i) {
    payload += i % 3 == 0 ? R"({"model_name":"Qwen3-Next-80B-Local"})"
                          : R"({"model_name":"Qwen3-Next-80B-Optimized"})";
    payload += "\n";
  }
  const std::string input = dir.Write("messages.jsonl", payload);
  // kcat reads the password from a file of properties, not from its command line.
  const std::string kcat_conf = dir.Write(
      "kcat.conf", "security.protocol=SASL_SSL\nsasl.mechanisms=SCRAM-SHA-512\n"
                   "sasl.username=" + broker["KAFKA_SASL_USERNAME"] + "\nsasl.password=" +
                       password + "\nssl.ca.location=" + broker["KAFKA_CA_FILE"] + "\n");
  const int produced = mt::Run("timeout 60 kcat -P -F " + kcat_conf + " -b " +
                                   broker["KAFKA_SASL_SSL_BOOTSTRAP"] + " -t " + topic +
                                   " -X request.required.acks=all -l " + input,
                               &out);
  INFO("kcat: " << out);
  REQUIRE(produced == 0);

  dir.Write("registry.yaml", ReadAll(mt::SourceDir() + "/config/registry.yaml"));
  const std::string config = dir.Write(
      "config.yaml",
      "kafka:\n  brokers: " + broker["KAFKA_SASL_SSL_BOOTSTRAP"] + "\n  group_id: " +
          mt::UniqueName("model-auditor-sasl") + "\n  topics: [" + topic +
          "]\n  properties:\n    security.protocol: SASL_SSL\n"
          "    sasl.mechanisms: SCRAM-SHA-512\n    sasl.username: " +
          broker["KAFKA_SASL_USERNAME"] + "\n    sasl.password: ${file:" +
          broker["KAFKA_SASL_PASSWORD_FILE"] + "}\n    ssl.ca.location: " +
          broker["KAFKA_CA_FILE"] + "\nregistry:\n  file: registry.yaml\n");
  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0",
                     "--log.level", "debug"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());
  const auto counted = [&] {
    const auto s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
    double sum = 0;
    for (const char* v : {"malformed", "missing", "registered", "alias", "inactive", "variant",
                          "typo", "unknown"}) {
      sum += mt::Value(s, "model_audit_messages_total{topic=\"" + topic + "\",verdict=\"" + v +
                              "\"}", 0);
    }
    return sum;
  };
  CHECK(mt::Eventually([&] { return counted() == kMessages; }, std::chrono::seconds(60)));
  const auto s = mt::ParseMetrics(mt::HttpRequest(addr, "/metrics").body);
  CHECK(mt::Value(s, "model_audit_messages_total{topic=\"" + topic + "\",verdict=\"unknown\"}") ==
        kMessages / 3);

  const std::string page = mt::HttpRequest(addr, "/").body;
  const std::string metrics = mt::HttpRequest(addr, "/metrics").body;
  const std::string report = mt::HttpRequest(addr, "/api/v1/report").body;
  daemon.Signal(SIGTERM);
  CHECK(daemon.Wait(std::chrono::seconds(30)) == 0);
  const std::string log = daemon.Log();
  CHECK(log.find("sasl.password=<redacted>") != std::string::npos);
  CHECK(log.find(password) == std::string::npos);
  CHECK(page.find(password) == std::string::npos);
  CHECK(metrics.find(password) == std::string::npos);
  CHECK(report.find(password) == std::string::npos);
}
