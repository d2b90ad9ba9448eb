#pragma once
// A bounded HTTP(S) GET for registry documents: connect and total timeouts, a
// maximum body size, TLS verification (system CAs or a CA file), an optional
// bearer token, and ETag / If-None-Match. Blocking; run it off the hot path.

#include <chrono>
#include <cstddef>
#include <string>

namespace model_auditor::registry {

/// Options of one fetch.
struct HttpFetchOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds total_timeout{10000};
  std::size_t max_body_bytes = 32u << 20;
  std::string ca_file;        // PEM bundle; empty = system default paths
  std::string bearer_token;   // sent as "Authorization: Bearer ..." (never logged)
  std::string if_none_match;  // previous ETag
};

/// Outcome of a fetch that reached the server and got a usable answer.
struct HttpFetchResult {
  bool not_modified = false;  // 304 to If-None-Match
  std::string body;
  std::string etag;
};

/// GETs `url` (http:// or https://). Throws LoadError ("<url>: ...") on a bad
/// URL, DNS/connect/TLS errors, timeouts, HTTP status >= 400 (and any non-2xx
/// other than 304), a body over the limit, or a truncated body.
HttpFetchResult HttpFetch(const std::string& url, const HttpFetchOptions& options);

}  // namespace model_auditor::registry
