// The HTTP server's TLS mode in-process, against real sockets and certificates made by the
// openssl command-line tool: handshakes by version, the refusal path, certificate reloads.

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <chrono>

#include "http/server.h"

namespace model_auditor::http {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

class CertDir {
 public:
  CertDir() : path_(std::filesystem::temp_directory_path() /
                    ("ma-tls-" + std::to_string(::getpid()) + "-" + std::to_string(++count_))) {
    std::filesystem::create_directories(path_);
  }
  ~CertDir() { std::filesystem::remove_all(path_); }
  // A self-signed EC certificate for 127.0.0.1 with `serial`, written to base.crt/base.key.
  void Make(const std::string& base, const std::string& serial_hex) const {
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=127.0.0.1 -set_serial 0x" + serial_hex + " -keyout " + File(base + ".key") +
        " -out " + File(base + ".crt") + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int count_ = 0;
  std::filesystem::path path_;
};

// Handshakes with at most `max_version` and returns the server certificate's serial in hex, or
// nullopt when the handshake fails.
std::optional<std::string> HandshakeSerial(std::uint16_t port, int max_version = 0) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_security_level(ctx.native_handle(), 0);  // let only the server refuse old versions
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
  if (max_version != 0) SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
  ctx.set_verify_mode(ssl::verify_none);
  ssl::stream<tcp::socket> stream(ioc, ctx);
  stream.lowest_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  boost::system::error_code ec;
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return std::nullopt;
  X509* cert = SSL_get1_peer_certificate(stream.native_handle());
  REQUIRE(cert != nullptr);
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string serial(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(cert);
  // A full request too, so that the session really serves over TLS.
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(stream, asio::buffer(request));
  std::string response;
  asio::read(stream, asio::dynamic_buffer(response), ec);
  REQUIRE(response.rfind("HTTP/1.1 200 OK", 0) == 0);
  return serial;
}

Handler Hello() {
  return [](const Request&) { return Response{200, "text/plain", "hello over TLS\n", {}}; };
}

TEST_CASE("TLS: 1.2 and 1.3 handshake, 1.0 and 1.1 are refused", "[http][tls]") {
  CertDir dir;
  dir.Make("server", "1A2B");
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.tls = TlsOptions{dir.File("server.crt"), dir.File("server.key"), "", {}, {}};
  Server server(options, Hello());
  server.Start();
  CHECK(HandshakeSerial(server.BoundPort()) == "1A2B");
  CHECK(HandshakeSerial(server.BoundPort(), TLS1_2_VERSION) == "1A2B");
  CHECK_FALSE(HandshakeSerial(server.BoundPort(), TLS1_1_VERSION));
  CHECK_FALSE(HandshakeSerial(server.BoundPort(), TLS1_VERSION));
}

TEST_CASE("TLS: min_version TLS13 refuses 1.2", "[http][tls]") {
  CertDir dir;
  dir.Make("server", "13");
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.tls = TlsOptions{dir.File("server.crt"), dir.File("server.key"), "", {},
                           TlsOptions::Version::kTls13};
  Server server(options, Hello());
  server.Start();
  CHECK_FALSE(HandshakeSerial(server.BoundPort(), TLS1_2_VERSION));
  CHECK(HandshakeSerial(server.BoundPort()) == "13");
}

TEST_CASE("TLS: changed files serve the next connection and broken ones keep the old certificate",
          "[http][tls]") {
  CertDir dir;
  dir.Make("server", "01");
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.tls = TlsOptions{dir.File("server.crt"), dir.File("server.key"), "", {}, {}};
  Server server(options, Hello());
  server.Start();
  CHECK(HandshakeSerial(server.BoundPort()) == "01");

  // Half a rotation: a new key without its certificate does not load.
  dir.Make("next", "02");
  std::filesystem::rename(dir.File("next.key"), dir.File("server.key"));
  CHECK(HandshakeSerial(server.BoundPort()) == "01");
  CHECK(server.TlsReloads() == 0);
  std::filesystem::rename(dir.File("next.crt"), dir.File("server.crt"));
  CHECK(HandshakeSerial(server.BoundPort()) == "02");
  CHECK(server.TlsReloads() == 1);
  // Unchanged files are not reloaded.
  CHECK(HandshakeSerial(server.BoundPort()) == "02");
  CHECK(server.TlsReloads() == 1);
}

TEST_CASE("TLS: refused connections are closed without plaintext bytes", "[http][tls]") {
  CertDir dir;
  dir.Make("server", "05");
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.max_connections = 1;
  options.idle_timeout = std::chrono::seconds(5);
  options.tls = TlsOptions{dir.File("server.crt"), dir.File("server.key"), "", {}, {}};
  Server server(options, Hello());
  server.Start();
  asio::io_context ioc;
  tcp::socket holder(ioc);
  holder.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.BoundPort()));
  // The holder's session waits for its handshake (up to idle_timeout) and fills the one slot.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  tcp::socket second(ioc);
  second.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.BoundPort()));
  std::string got;
  boost::system::error_code ec;
  asio::read(second, asio::dynamic_buffer(got), ec);
  CHECK(got.empty());  // no plaintext 503 on a TLS port
  CHECK(ec == asio::error::eof);
  CHECK(server.RejectedConnections() == 1);
}

// Handshake presenting `cert`/`key` (or no certificate when empty); true when it succeeds and
// a request is answered.
bool MutualTls(std::uint16_t port, const std::string& cert, const std::string& key) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);
  if (!cert.empty()) {
    ctx.use_certificate_chain_file(cert);
    ctx.use_private_key_file(key, ssl::context::pem);
  }
  ssl::stream<tcp::socket> stream(ioc, ctx);
  stream.lowest_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  boost::system::error_code ec;
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return false;
  // With TLS 1.3 the server checks the client certificate after the client's handshake has
  // completed: a refusal shows as a failed exchange.
  asio::write(stream, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n"
                                               "Connection: close\r\n\r\n")),
              ec);
  std::string response;
  asio::read(stream, asio::dynamic_buffer(response), ec);
  return response.rfind("HTTP/1.1 200 OK", 0) == 0;
}

TEST_CASE("TLS: RequireAndVerifyClientCert admits only certificates from client_ca_file",
          "[http][tls]") {
  CertDir dir;
  dir.Make("server", "0A");
  dir.Make("client", "0B");    // self-signed: it is its own CA
  dir.Make("stranger", "0C");  // not in client_ca_file
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.tls = TlsOptions{dir.File("server.crt"), dir.File("server.key"), dir.File("client.crt"),
                           TlsOptions::ClientAuth::kRequireAndVerify, {}};
  Server server(options, Hello());
  server.Start();
  CHECK(MutualTls(server.BoundPort(), dir.File("client.crt"), dir.File("client.key")));
  CHECK_FALSE(MutualTls(server.BoundPort(), "", ""));
  CHECK_FALSE(MutualTls(server.BoundPort(), dir.File("stranger.crt"), dir.File("stranger.key")));
}

TEST_CASE("TLS: unloadable files fail Start() naming the file", "[http][tls]") {
  CertDir dir;
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.tls = TlsOptions{dir.File("missing.crt"), dir.File("missing.key"), "", {}, {}};
  Server server(options, Hello());
  try {
    server.Start();
    FAIL("Start() accepted a missing certificate");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).rfind("cannot load TLS certificate " + dir.File("missing.crt"),
                                      0) == 0);
  }
}

}  // namespace
}  // namespace model_auditor::http
