// The registry URL over https against a real TLS server (openssl s_server
// -WWW, certificate made by the openssl CLI): the custom CA file is trusted,
// and without it the certificate is refused.

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "audit/registry_loader.h"
#include "registry/http_fetch.h"

namespace ma = model_auditor;
namespace fs = std::filesystem;

namespace {

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

struct TlsServer {
  TlsServer() {
    char tmpl[] = "/tmp/registry-https-test.XXXXXX";
    dir = ::mkdtemp(tmpl);
    const std::string cmd = "cd " + dir +
                            " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out "
                            "cert.pem -days 2 -subj /CN=localhost -addext "
                            "subjectAltName=DNS:localhost >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::ofstream(dir + "/models.json")
        << R"({"object":"list","data":[{"id":"qwen3_next_80b_optimized"},{"id":"qwen3_next_72b_cloud"}]})";
    port = FreePort();
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (::chdir(dir.c_str()) != 0) std::_Exit(127);
      const std::string accept = "127.0.0.1:" + std::to_string(port);
      ::freopen("/dev/null", "w", stdout);
      ::freopen("/dev/null", "w", stderr);
      ::execlp("openssl", "openssl", "s_server", "-WWW", "-quiet", "-accept", accept.c_str(),
               "-cert", "cert.pem", "-key", "key.pem", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    for (int i = 0; i < 100 && !Accepts(port); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(Accepts(port));
  }
  ~TlsServer() {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    fs::remove_all(dir);
  }
  std::string Url() const { return "https://localhost:" + std::to_string(port) + "/models.json"; }
  std::string dir;
  int port = 0;
  pid_t pid = -1;
};

}  // namespace

TEST_CASE("an https registry is trusted through its CA file and refused without it",
          "[registry][reload][tls]") {
  TlsServer srv;
  ma::registry::HttpFetchOptions o;
  o.total_timeout = std::chrono::seconds(5);
  SECTION("with the CA file") {
    o.ca_file = srv.dir + "/cert.pem";
    const auto r = ma::registry::HttpFetch(srv.Url(), o);
    CHECK_THAT(r.body, Catch::Contains("qwen3_next_72b_cloud"));
    // And through the loader: the snapshot is in force.
    ma::audit::RegistryLoader::Options lo;
    lo.url = srv.Url();
    lo.http = o;
    ma::metrics::AuditMetrics metrics({1000, std::chrono::minutes(5), "test"});
    ma::audit::RegistryHolder holder;
    ma::audit::RegistryLoader loader(lo, holder, metrics);
    CHECK(loader.LoadNow() == "");
    REQUIRE(holder.Get() != nullptr);
    CHECK(holder.Get()->snapshot().models().size() == 2);
  }
  SECTION("without it, the self-signed certificate is refused") {
    try {
      ma::registry::HttpFetch(srv.Url(), o);
      FAIL("an untrusted certificate was accepted");
    } catch (const std::exception& e) {
      CHECK_THAT(e.what(), Catch::Contains("certificate verify failed"));
    }
  }
  SECTION("an address the certificate does not name is refused, trusted CA or not") {
    o.ca_file = srv.dir + "/cert.pem";  // the certificate names DNS:localhost only
    const std::string url = "https://127.0.0.1:" + std::to_string(srv.port) + "/models.json";
    try {
      ma::registry::HttpFetch(url, o);
      FAIL("a certificate for another host name was accepted");
    } catch (const std::exception& e) {
      CHECK_THAT(e.what(), Catch::Contains("certificate verify failed"));
    }
  }
}
