#include "web/web_config.h"

#include <crypt.h>

#include <array>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "util/error.h"
#include "web/basic_auth.h"

namespace model_auditor::web {
namespace {

// A real bcrypt hash of `password` at the cheapest cost, so the tests stay fast.
std::string Bcrypt(const std::string& password, unsigned long cost = 4) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  REQUIRE(crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt.data(), int(salt.size())) != nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), salt.data(), data.get(), sizeof(crypt_data));
  REQUIRE(out != nullptr);
  return out;
}

std::string Basic(const std::string& user_password) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(user_password[k]); };
  for (; i + 2 < user_password.size(); i += 3) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (user_password.size() - i == 1) {
    const unsigned v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (user_password.size() - i == 2) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += "=";
  }
  return "Basic " + out;
}

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseWebConfig(yaml, "/etc/ma/web.yml");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("web config: the exporter-toolkit format parses, paths relative to the file",
          "[web][config]") {
  const std::string hash = Bcrypt("s3cret");
  const auto cfg = ParseWebConfig("tls_server_config:\n"
                                  "  cert_file: tls/server.crt\n"
                                  "  key_file: /abs/server.key\n"
                                  "  client_ca_file: ca.pem\n"
                                  "  client_auth_type: RequireAndVerifyClientCert\n"
                                  "  min_version: TLS13\n"
                                  "basic_auth_users:\n"
                                  "  alice: " + hash + "\n",
                                  "/etc/ma/web.yml");
  REQUIRE(cfg.tls);
  CHECK(cfg.tls->cert_file == "/etc/ma/tls/server.crt");
  CHECK(cfg.tls->key_file == "/abs/server.key");
  CHECK(cfg.tls->client_ca_file == "/etc/ma/ca.pem");
  CHECK(cfg.tls->client_auth == http::TlsOptions::ClientAuth::kRequireAndVerify);
  CHECK(cfg.tls->min_version == http::TlsOptions::Version::kTls13);
  CHECK(cfg.basic_auth_users.at("alice") == hash);

  const auto plain = ParseWebConfig("tls_server_config:\n  cert_file: a\n  key_file: b\n", "w.yml");
  CHECK(plain.tls->min_version == http::TlsOptions::Version::kTls12);
  CHECK(plain.basic_auth_users.empty());
  CHECK_FALSE(ParseWebConfig("", "w.yml").tls);
}

TEST_CASE("web config: errors name file and line", "[web][config]") {
  CHECK(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n  cert: c\n") ==
        "/etc/ma/web.yml:4: unknown key 'cert' in tls_server_config (expected one of: "
        "cert_file, key_file, client_ca_file, client_auth_type, min_version)");
  CHECK(ErrorOf("basic_auth_users: {}\nhttp_server_config: {}\n").rfind(
            "/etc/ma/web.yml:2: unknown key 'http_server_config' in the web config", 0) == 0);
  CHECK(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS11\n")
            .rfind("/etc/ma/web.yml:4: 'min_version' TLS11 is not supported", 0) == 0);
  CHECK(ErrorOf("tls_server_config:\n  key_file: b\n") ==
        "/etc/ma/web.yml:2: tls_server_config: 'cert_file' is required");
  CHECK(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n")
            .find("needs 'client_auth_type'") != std::string::npos);
  CHECK(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  client_auth_type: RequireAndVerifyClientCert\n")
            .find("needs 'client_ca_file'") != std::string::npos);
  // A plaintext password is refused, and the message does not repeat it.
  const std::string e = ErrorOf("basic_auth_users:\n  bob: hunter2\n");
  CHECK(e.rfind("/etc/ma/web.yml:2: the value for user 'bob' is not a bcrypt hash", 0) == 0);
  CHECK(e.find("hunter2") == std::string::npos);
  CHECK(ErrorOf("basic_auth_users:\n  'a:b': " + Bcrypt("x") + "\n").find("without ':'") !=
        std::string::npos);
  CHECK(ErrorOf("tls_server_config: [a]\n").rfind("/etc/ma/web.yml:1:", 0) == 0);
}

TEST_CASE("basic auth: right, wrong, unknown and malformed credentials", "[web][auth]") {
  BasicAuth auth({{"alice", Bcrypt("s3cret")}, {"bob", Bcrypt("pa:ss word")}});
  CHECK(auth.Check(Basic("alice:s3cret")));
  CHECK(auth.Check(Basic("bob:pa:ss word")));  // only the first colon separates
  CHECK_FALSE(auth.Check(Basic("alice:s3cret ")));
  CHECK_FALSE(auth.Check(Basic("alice:")));
  CHECK_FALSE(auth.Check(Basic("mallory:s3cret")));
  CHECK_FALSE(auth.Check(Basic("alice")));
  CHECK_FALSE(auth.Check(""));
  CHECK_FALSE(auth.Check("Bearer abc"));
  CHECK_FALSE(auth.Check("Basic !!!!"));
  CHECK(auth.Check("bAsIc " + Basic("alice:s3cret").substr(6)));  // the scheme is case-insensitive
}

TEST_CASE("basic auth: successes are cached, failures never are", "[web][auth]") {
  BasicAuth auth({{"alice", Bcrypt("s3cret")}});
  CHECK(auth.Check(Basic("alice:s3cret")));
  CHECK(auth.cache_hits() == 0);
  CHECK(auth.Check(Basic("alice:s3cret")));
  CHECK(auth.cache_hits() == 1);
  CHECK_FALSE(auth.Check(Basic("alice:wrong")));
  CHECK_FALSE(auth.Check(Basic("alice:wrong")));
  CHECK(auth.cache_hits() == 1);
}

TEST_CASE("basic auth: the wrapper answers 401 with a challenge and hides the handler",
          "[web][auth]") {
  int calls = 0;
  auto handler = WithBasicAuth(
      std::make_shared<BasicAuth>(std::map<std::string, std::string>{{"alice", Bcrypt("pw")}}),
      [&](const http::Request&) {
        ++calls;
        return http::Response{200, "text/plain", "secret page", {}};
      });
  std::vector<http::HeaderField> headers;
  http::Request req;
  req.method = "GET";
  req.path = "/metrics";
  const http::Response denied = handler(req);
  CHECK(denied.status == 401);
  REQUIRE(denied.headers.size() == 1);
  CHECK(denied.headers[0].first == "WWW-Authenticate");
  CHECK(denied.headers[0].second == "Basic realm=\"model-auditor\"");
  CHECK(denied.body.find("secret") == std::string::npos);
  CHECK(calls == 0);
  const std::string good = Basic("alice:pw");
  headers.emplace_back("authorization", good);
  req.headers = headers;
  CHECK(handler(req).status == 200);
  CHECK(calls == 1);
}

TEST_CASE("base64 decoding", "[web][auth]") {
  std::string out;
  CHECK(DecodeBase64("YWxpY2U6czNjcmV0", out));
  CHECK(out == "alice:s3cret");
  CHECK(DecodeBase64("YQ==", out));
  CHECK(out == "a");
  CHECK(DecodeBase64("YQ", out));
  CHECK(out == "a");
  CHECK_FALSE(DecodeBase64("Y", out));
  CHECK_FALSE(DecodeBase64("YW*j", out));
}

}  // namespace
}  // namespace model_auditor::web
