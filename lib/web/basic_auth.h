#pragma once
// HTTP basic authentication (RFC 7617) against bcrypt hashes, as a wrapper around any
// http::Handler. Verification uses libxcrypt's crypt_rn(); OpenSSL has no bcrypt.

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "http/server.h"

namespace model_auditor::web {

/// Checks "Authorization: Basic ..." values. Thread-safe.
///
/// Timing: every failure costs one bcrypt computation at the cost of the configured hashes
/// (an unknown user is checked against a dummy hash of the highest configured cost), so a
/// client cannot tell unknown users from wrong passwords by latency. Successes are cached,
/// keyed by a SHA-256 over user, hash and password, so that a scraper every few seconds does
/// not pay ~50 ms of bcrypt per scrape; only successes are cached, so nothing about a failed
/// guess is remembered and failures never become fast. The password itself is never stored.
class BasicAuth {
 public:
  /// `users`: user -> bcrypt hash ("$2b$10$..."). Throws std::runtime_error when a dummy hash
  /// cannot be made (no bcrypt support in libcrypt).
  explicit BasicAuth(std::map<std::string, std::string> users);

  /// True when `authorization` is "Basic base64(user:password)" for a configured user whose
  /// hash matches.
  bool Check(std::string_view authorization) const;

  /// Successful checks answered from the cache so far (for tests and the curious).
  std::size_t cache_hits() const;

  static constexpr std::size_t kMaxCacheEntries = 1024;

 private:
  bool Verify(const std::string& password, const std::string& hash) const;

  std::map<std::string, std::string> users_;
  std::string dummy_hash_;
  mutable std::mutex mutex_;
  mutable std::unordered_set<std::string> cache_;  // SHA-256 digests of successful checks
  mutable std::size_t cache_hits_ = 0;
};

/// The realm sent in WWW-Authenticate.
inline constexpr std::string_view kRealm = "model-auditor";

/// Wraps `inner`: requests without valid credentials get 401 with
/// `WWW-Authenticate: Basic realm="model-auditor"` and never reach `inner`.
http::Handler WithBasicAuth(std::shared_ptr<const BasicAuth> auth, http::Handler inner);

/// Decodes standard base64 (RFC 4648, padding optional). False on invalid input.
bool DecodeBase64(std::string_view in, std::string& out);

}  // namespace model_auditor::web
