// Security of the HTTP edge and of secrets, end to end with the real daemon: TLS (versions,
// certificate rotation without restart) and basic auth via --web.config.file, checked with the
// real curl and openssl command-line tools; secrets from ${env:}/${file:} never leaking into
// logs, the page or /metrics; attacker-controlled names escaped in /metrics and the page.

#include <catch2/catch.hpp>
#include <crypt.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support.h"

namespace mt = model_auditor::testing;

namespace {

std::string Bcrypt(const std::string& password, unsigned long cost) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  REQUIRE(crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt.data(), int(salt.size())) != nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), salt.data(), data.get(), sizeof(crypt_data));
  REQUIRE(out != nullptr);
  return out;
}

// A self-signed certificate for 127.0.0.1 with a chosen serial, made by the openssl CLI.
void MakeCert(const std::string& dir, const std::string& base, const std::string& serial_hex) {
  std::string out;
  const int rc = mt::Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                         "-nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                         "-set_serial 0x" + serial_hex + " -keyout " + dir + "/" + base +
                             ".key -out " + dir + "/" + base + ".crt",
                         &out);
  INFO(out);
  REQUIRE(rc == 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Curl {
  int status = 0;  // 0: no HTTP response (connection or TLS failure)
  double seconds = 0;
  std::string body;
  std::string headers;
};

// curl over HTTPS trusting `ca`; `user` "name:password" or empty.
Curl Get(const std::string& dir, const std::string& url, const std::string& ca,
         const std::string& user = "") {
  const std::string body = dir + "/curl.body";
  const std::string headers = dir + "/curl.headers";
  std::remove(body.c_str());
  std::remove(headers.c_str());
  std::string out;
  mt::Run("curl -s --max-time 10 -o " + body + " -D " + headers +
              " -w '%{http_code} %{time_total}' " + (ca.empty() ? "" : "--cacert " + ca + " ") +
              (user.empty() ? "" : "-u '" + user + "' ") + "'" + url + "'",
          &out);
  Curl c;
  std::istringstream(out) >> c.status >> c.seconds;
  c.body = ReadFile(body);
  c.headers = ReadFile(headers);
  return c;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The serial of the certificate the server presents on a new connection ("" on failure).
std::string PresentedSerial(const std::string& addr) {
  std::string out;
  mt::Run("openssl s_client -connect " + addr +
              " </dev/null 2>/dev/null | openssl x509 -noout -serial 2>&1",
          &out);
  const auto eq = out.find("serial=");
  if (eq == std::string::npos) return "";
  std::string s = out.substr(eq + 7);
  s.erase(s.find_last_not_of(" \r\n") + 1);
  return s;
}

// Exit status of an s_client handshake with extra options (0: handshake done).
int Handshake(const std::string& addr, const std::string& options, std::string* out) {
  return mt::Run("openssl s_client -connect " + addr + " " + options + " </dev/null", out);
}

// A config for a fresh topic (created, so that the daemon can become ready) on the test broker.
std::string BaseConfig(const mt::TempDir& dir, const std::string& extra_kafka = "") {
  dir.Write("registry.yaml", ReadFile(mt::SourceDir() + "/config/registry.yaml"));
  const std::string topic = mt::UniqueName("model-inference-sec");
  mt::CreateTopic(topic, 1);
  return dir.Write("config.yaml", "kafka:\n  brokers: " + mt::Bootstrap() + "\n  group_id: " +
                                      mt::UniqueName("model-auditor-sec") + "\n  topics: [" +
                                      topic + "]\n" + extra_kafka +
                                      "registry:\n  file: registry.yaml\n");
}

}  // namespace

TEST_CASE("TLS and basic auth guard every endpoint and certificates rotate without a restart",
          "[integration][security][tls]") {
  mt::TempDir dir;
  MakeCert(dir.path(), "server", "1111");
  const std::string ca_old = dir.path() + "/trust-old.crt";
  REQUIRE(mt::Run("cp " + dir.path() + "/server.crt " + ca_old, nullptr) == 0);
  // Cost 10, the usual default: timings below are those of a real deployment.
  const std::string web = dir.Write(
      "web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                 "  min_version: TLS12\nbasic_auth_users:\n  alice: " +
                     Bcrypt("correct horse", 10) + "\n");
  mt::Daemon daemon({"--config.file", BaseConfig(dir), "--web.config.file", web,
                     "--web.listen-address", "127.0.0.1:0", "--log.level", "debug"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());
  const std::string base = "https://" + addr;

  SECTION("no, wrong or unknown credentials get 401 with a challenge; right ones get 200") {
    for (const std::string path : {"/metrics", "/", "/api/v1/report", "/-/healthy", "/-/ready"}) {
      const Curl c = Get(dir.path(), base + path, ca_old);
      INFO(path);
      CHECK(c.status == 401);
      CHECK(c.headers.find("WWW-Authenticate: Basic realm=\"model-auditor\"") !=
            std::string::npos);
    }
    CHECK(Get(dir.path(), base + "/metrics", ca_old, "alice:wrong").status == 401);
    CHECK(Get(dir.path(), base + "/metrics", ca_old, "mallory:correct horse").status == 401);
    CHECK(Get(dir.path(), base + "/metrics", ca_old, "alice:").status == 401);
    const Curl ok = Get(dir.path(), base + "/metrics", ca_old, "alice:correct horse");
    CHECK(ok.status == 200);
    CHECK(ok.body.find("model_audit_") != std::string::npos);
    CHECK(Get(dir.path(), base + "/", ca_old, "alice:correct horse").status == 200);
    // Plaintext HTTP to the TLS port gets no HTTP answer at all.
    CHECK(Get(dir.path(), "http://" + addr + "/metrics", "", "alice:correct horse").status == 0);
  }

  SECTION("an unknown user costs as much as a wrong password") {
    std::vector<double> wrong, unknown;
    for (int i = 0; i < 5; ++i) {
      const std::string n = std::to_string(i);
      wrong.push_back(Get(dir.path(), base + "/metrics", ca_old, "alice:guess" + n).seconds);
      unknown.push_back(Get(dir.path(), base + "/metrics", ca_old, "nobody" + n + ":x").seconds);
    }
    const double w = Median(wrong), u = Median(unknown);
    INFO("median wrong password " << w << " s, unknown user " << u << " s");
    std::cout << "security: median over 5 of a 401 (bcrypt cost 10, with TLS handshake): wrong "
                 "password " << w << " s, unknown user " << u << " s\n";
    CHECK(u > 0.5 * w);
    CHECK(u < 2.0 * w);
  }

  SECTION("TLS 1.1 is refused, TLS 1.2 and 1.3 work") {
    std::string out;
    // SECLEVEL=0 lifts the client's own floor, so only the server can refuse.
    CHECK(Handshake(addr, "-tls1_1 -cipher DEFAULT@SECLEVEL=0", &out) != 0);
    CHECK(Handshake(addr, "-tls1 -cipher DEFAULT@SECLEVEL=0", &out) != 0);
    CHECK(Handshake(addr, "-tls1_2", &out) == 0);
    CHECK(out.find("TLSv1.2") != std::string::npos);
    CHECK(Handshake(addr, "-tls1_3", &out) == 0);
    CHECK(out.find("TLSv1.3") != std::string::npos);
  }

  SECTION("replaced certificate files are served to the next connection, no restart") {
    CHECK(PresentedSerial(addr) == "1111");
    MakeCert(dir.path(), "next", "2222");
    // Key first, then certificate, each an atomic rename: the half-rotated state in between
    // does not load and the old certificate keeps serving.
    REQUIRE(mt::Run("mv " + dir.path() + "/next.key " + dir.path() + "/server.key", nullptr) == 0);
    CHECK(PresentedSerial(addr) == "1111");
    REQUIRE(mt::Run("mv " + dir.path() + "/next.crt " + dir.path() + "/server.crt", nullptr) == 0);
    CHECK(PresentedSerial(addr) == "2222");
    CHECK(Get(dir.path(), base + "/metrics", dir.path() + "/server.crt", "alice:correct horse")
              .status == 200);
    CHECK(daemon.Log().find("reloaded TLS certificate") != std::string::npos);
  }

  daemon.Signal(SIGTERM);
  CHECK(daemon.Wait(std::chrono::seconds(20)) == 0);
}

TEST_CASE("min_version TLS13 refuses TLS 1.2", "[integration][security][tls]") {
  mt::TempDir dir;
  MakeCert(dir.path(), "server", "3333");
  const std::string web = dir.Write(
      "web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                 "  min_version: TLS13\n");
  mt::Daemon daemon({"--config.file", BaseConfig(dir), "--web.config.file", web,
                     "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());
  std::string out;
  CHECK(Handshake(addr, "-tls1_2", &out) != 0);
  CHECK(Handshake(addr, "-tls1_3", &out) == 0);
  // No auth configured: TLS alone, every endpoint open.
  CHECK(Get(dir.path(), "https://" + addr + "/-/healthy", dir.path() + "/server.crt").status ==
        200);
}

TEST_CASE("an invalid web config fails the start with file:line", "[integration][security]") {
  mt::TempDir dir;
  const std::string web =
      dir.Write("web.yml", "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n"
                           "  cipher_suites: [x]\n");
  std::string out;
  const int rc = mt::Run(mt::DaemonBinary() + " --config.file " + BaseConfig(dir) +
                             " --web.config.file " + web + " --config.check",
                         &out);
  CHECK(rc == 2);
  CHECK(out.find(web + ":4: unknown key 'cipher_suites' in tls_server_config") !=
        std::string::npos);
}

TEST_CASE("secrets from env and file references never reach logs, the page or /metrics",
          "[integration][security][secrets]") {
  mt::TempDir dir;
  const std::string env_secret = "EnvS3cret-" + mt::UniqueName("p");
  const std::string file_secret = "FileS3cret-" + mt::UniqueName("p");
  ::setenv("MODEL_AUDITOR_TEST_SECRET", env_secret.c_str(), 1);
  dir.Write("ssl-key-password", file_secret + "\n");
  // Plaintext broker: librdkafka takes both properties and does not use them, which is enough
  // to follow the values through config loading and every debug log line.
  const std::string config =
      BaseConfig(dir, "  properties:\n    sasl.password: ${env:MODEL_AUDITOR_TEST_SECRET}\n"
                      "    ssl.key.password: ${file:ssl-key-password}\n"
                      "    client.rack: literal-$${env:NOT_EXPANDED}\n");
  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0",
                     "--log.level", "debug"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  ::unsetenv("MODEL_AUDITOR_TEST_SECRET");
  const std::string page = mt::HttpRequest(addr, "/").body;
  const std::string metrics = mt::HttpRequest(addr, "/metrics").body;
  const std::string report = mt::HttpRequest(addr, "/api/v1/report").body;
  CHECK(mt::Eventually([&] { return mt::HttpRequest(addr, "/-/ready").status == 200; },
                       std::chrono::seconds(20)));
  daemon.Signal(SIGTERM);
  CHECK(daemon.Wait(std::chrono::seconds(20)) == 0);
  const std::string log = daemon.Log();
  // The debug lines for the properties were written (logfmt: name=value), redacted.
  REQUIRE(log.find("sasl.password=<redacted>") != std::string::npos);
  REQUIRE(log.find("ssl.key.password=<redacted>") != std::string::npos);
  REQUIRE(log.find("literal-${env:NOT_EXPANDED}") != std::string::npos);
  for (const std::string& secret : {env_secret, file_secret}) {
    CHECK(log.find(secret) == std::string::npos);
    CHECK(page.find(secret) == std::string::npos);
    CHECK(metrics.find(secret) == std::string::npos);
    CHECK(report.find(secret) == std::string::npos);
  }

  // A missing variable fails the start naming the reference, not a value.
  std::string out;
  const int rc = mt::Run("env -u MODEL_AUDITOR_TEST_SECRET " + mt::DaemonBinary() +
                             " --config.file " + config + " --config.check",
                         &out);
  CHECK(rc == 2);
  CHECK(out.find("config.yaml:6: 'sasl.password': environment variable "
                 "'MODEL_AUDITOR_TEST_SECRET' is not set") != std::string::npos);
}

TEST_CASE("hostile model names are escaped in /metrics (promtool-clean) and on the page",
          "[integration][security][escaping]") {
  mt::TempDir dir;
  const std::string topic = mt::UniqueName("model-inference-hostile");
  mt::CreateTopic(topic, 1);
  // A quote, a backslash, a real newline and markup that would close a table cell.
  const std::string hostile = "evil\"quote\\slash\nline</td><script>x</script>";
  mt::Message m;
  m.headers = {{"X-Model-Name", hostile}};
  m.value = "{}";
  mt::Produce(topic, {m});
  dir.Write("registry.yaml", ReadFile(mt::SourceDir() + "/config/registry.yaml"));
  const std::string config = dir.Write(
      "config.yaml", "kafka:\n  brokers: " + mt::Bootstrap() + "\n  group_id: " +
                         mt::UniqueName("model-auditor-hostile") + "\n  topics: [" + topic +
                         "]\nregistry:\n  file: registry.yaml\n");
  mt::Daemon daemon({"--config.file", config, "--web.listen-address", "127.0.0.1:0"},
                    dir.path() + "/daemon.log");
  const std::string addr = daemon.WaitListening();
  INFO("daemon log:\n" << daemon.Log());
  std::string metrics;
  REQUIRE(mt::Eventually(
      [&] {
        metrics = mt::HttpRequest(addr, "/metrics").body;
        return metrics.find("evil") != std::string::npos;
      },
      std::chrono::seconds(30)));
  // Exposition format escaping: \" \\ \n inside the label value, all on one line.
  CHECK(metrics.find("model_name=\"evil\\\"quote\\\\slash\\nline</td><script>x</script>\"") !=
        std::string::npos);
  const std::string scrape = dir.Write("scrape.txt", metrics);
  std::string lint;
  const int lint_status = mt::Run("promtool check metrics < " + scrape, &lint);
  INFO("promtool: " << lint);
  CHECK(lint_status == 0);

  const std::string page = mt::HttpRequest(addr, "/").body;
  CHECK(page.find("<script>x</script>") == std::string::npos);
  CHECK(page.find("evil&quot;quote\\slash") != std::string::npos);
  CHECK(page.find("&lt;/td&gt;&lt;script&gt;") != std::string::npos);
  daemon.Signal(SIGTERM);
  CHECK(daemon.Wait(std::chrono::seconds(20)) == 0);
}
