#include "web/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "util/error.h"
#include "util/file.h"

namespace model_auditor::web {
namespace {

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const YAML::Node& n, const std::string& what) const {
    const YAML::Mark m = n.Mark();
    throw LoadError((m.line >= 0 ? path_ + ":" + std::to_string(m.line + 1) : path_) + ": " +
                    what);
  }

  template <typename F>
  void ForEach(const YAML::Node& n, const std::string& section,
               const std::vector<std::string>& allowed, F&& f) const {
    if (n.IsNull()) return;
    if (!n.IsMap()) Fail(n, "'" + section + "' must be a mapping");
    std::set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) Fail(kv.first, "keys in '" + section + "' must be strings");
      const std::string key = kv.first.Scalar();
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        Fail(kv.first,
             "unknown key '" + key + "' in " + section + " (expected one of: " + list + ")");
      }
      if (!seen.insert(key).second) Fail(kv.first, "duplicate key '" + key + "' in " + section);
      f(key, kv.first, kv.second);
    }
  }

  std::string NonEmpty(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar() || n.Scalar().empty()) Fail(n, "'" + what + "' must be a non-empty string");
    return n.Scalar();
  }

  std::string Path(const YAML::Node& n, const std::string& what) const {
    std::filesystem::path p(NonEmpty(n, what));
    if (p.is_relative() && !path_.empty()) {
      p = (std::filesystem::path(path_).parent_path() / p).lexically_normal();
    }
    return p.string();
  }

 private:
  std::string path_;
};

// A bcrypt hash as crypt(3) writes it: $2a$, $2b$ or $2y$, a two-digit cost, '$', 53 characters
// of salt and digest. Checked here so that a plaintext password in the file fails at start
// instead of locking everybody out.
bool IsBcryptHash(const std::string& s) {
  if (s.size() != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$') return false;
  if (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') return false;
  if (s[4] < '0' || s[4] > '3' || s[5] < '0' || s[5] > '9') return false;
  const int cost = (s[4] - '0') * 10 + (s[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(s.begin() + 7, s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '/';
  });
}

http::TlsOptions ParseTls(const Reader& r, const YAML::Node& n) {
  http::TlsOptions tls;
  bool client_auth_set = false;
  r.ForEach(n, "tls_server_config",
            {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"},
            [&](const std::string& key, const YAML::Node&, const YAML::Node& v) {
              if (key == "cert_file") {
                tls.cert_file = r.Path(v, key);
              } else if (key == "key_file") {
                tls.key_file = r.Path(v, key);
              } else if (key == "client_ca_file") {
                tls.client_ca_file = r.Path(v, key);
              } else if (key == "client_auth_type") {
                const std::string s = r.NonEmpty(v, key);
                client_auth_set = true;
                if (s == "NoClientCert") {
                  tls.client_auth = http::TlsOptions::ClientAuth::kNone;
                } else if (s == "VerifyClientCertIfGiven") {
                  tls.client_auth = http::TlsOptions::ClientAuth::kVerifyIfGiven;
                } else if (s == "RequireAndVerifyClientCert") {
                  tls.client_auth = http::TlsOptions::ClientAuth::kRequireAndVerify;
                } else {
                  r.Fail(v, "'client_auth_type' must be NoClientCert, VerifyClientCertIfGiven or "
                            "RequireAndVerifyClientCert, got '" + s + "'");
                }
              } else if (key == "min_version") {
                const std::string s = r.NonEmpty(v, key);
                if (s == "TLS12") {
                  tls.min_version = http::TlsOptions::Version::kTls12;
                } else if (s == "TLS13") {
                  tls.min_version = http::TlsOptions::Version::kTls13;
                } else if (s == "TLS10" || s == "TLS11") {
                  r.Fail(v, "'min_version' " + s + " is not supported: TLS 1.0 and 1.1 are "
                            "deprecated (RFC 8996); use TLS12 or TLS13");
                } else {
                  r.Fail(v, "'min_version' must be TLS12 or TLS13, got '" + s + "'");
                }
              }
            });
  if (tls.cert_file.empty()) r.Fail(n, "tls_server_config: 'cert_file' is required");
  if (tls.key_file.empty()) r.Fail(n, "tls_server_config: 'key_file' is required");
  // Same rules as the exporter-toolkit: a CA without a policy is a likely mistake, and a
  // verifying policy without a CA cannot work.
  if (!tls.client_ca_file.empty() && tls.client_auth == http::TlsOptions::ClientAuth::kNone) {
    r.Fail(n, client_auth_set
                  ? "tls_server_config: 'client_ca_file' is set but client_auth_type is "
                    "NoClientCert"
                  : "tls_server_config: 'client_ca_file' needs 'client_auth_type' "
                    "(RequireAndVerifyClientCert or VerifyClientCertIfGiven)");
  }
  if (tls.client_ca_file.empty() && tls.client_auth != http::TlsOptions::ClientAuth::kNone) {
    r.Fail(n, "tls_server_config: client_auth_type verifies client certificates and needs "
              "'client_ca_file'");
  }
  return tls;
}

}  // namespace

WebConfigFile ParseWebConfig(const std::string& text, const std::string& path) {
  WebConfigFile cfg;
  cfg.path = path;
  const Reader r(path);
  try {
    const YAML::Node root = YAML::Load(text);
    if (!root.IsNull() && !root.IsMap()) r.Fail(root, "the web config must be a mapping");
    r.ForEach(root, "the web config", {"tls_server_config", "basic_auth_users"},
              [&](const std::string& key, const YAML::Node&, const YAML::Node& v) {
                if (key == "tls_server_config") {
                  if (v.IsNull()) return;
                  cfg.tls = ParseTls(r, v);
                } else {
                  r.ForEach(v, "basic_auth_users", {},
                            [&](const std::string& user, const YAML::Node& k,
                                const YAML::Node& hash) {
                              // RFC 7617: the user-id cannot contain a colon.
                              if (user.empty() || user.find(':') != std::string::npos) {
                                r.Fail(k, "user names must be non-empty and without ':'");
                              }
                              // The message never quotes the value: it may be a password
                              // pasted by mistake.
                              if (!hash.IsScalar() || !IsBcryptHash(hash.Scalar())) {
                                r.Fail(hash, "the value for user '" + user +
                                                 "' is not a bcrypt hash ($2b$<cost>$..., 60 "
                                                 "characters); see README 'Security'");
                              }
                              cfg.basic_auth_users[user] = hash.Scalar();
                            });
                }
              });
  } catch (const YAML::Exception& e) {
    throw LoadError((e.mark.line >= 0 ? path + ":" + std::to_string(e.mark.line + 1) : path) +
                    ": " + e.msg);
  }
  return cfg;
}

WebConfigFile LoadWebConfigFile(const std::string& path) {
  std::string text;
  if (!util::ReadWholeFile(path, text)) {
    throw LoadError(path + ": cannot open web config file: " + std::strerror(errno));
  }
  return ParseWebConfig(text, path);
}

}  // namespace model_auditor::web
