#pragma once

// The HTTP edge of the daemon: connection handling and HTTP/1.1 framing. Routing, pages and
// authentication belong to the Handler the caller supplies.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace model_auditor::http {

/// One header field as received: name and value, both views.
using HeaderField = std::pair<std::string_view, std::string_view>;

/// One HTTP request as seen by a Handler. All views point into the connection's buffers and are
/// valid only for the duration of the handler call; copy what must outlive it. Not thread-safe.
struct Request {
  /// "GET", "POST", ... HEAD requests arrive as "GET": the server drops the response body itself.
  std::string_view method;
  /// Request target up to the '?', raw (not percent-decoded), e.g. "/metrics".
  std::string_view path;
  /// Everything after the first '?', raw; empty when there is none.
  std::string_view query;
  std::string_view body;
  /// Peer as "ip:port" ("[ip6]:port"), for logs.
  std::string_view remote_address;
  /// All header fields in arrival order; repeated fields appear repeatedly.
  std::span<const HeaderField> headers;

  /// Value of the first field named `name` (ASCII case-insensitive); empty if absent.
  std::string_view Header(std::string_view name) const;
};

/// What a Handler answers. Content-Length and Connection are set by the server. Not thread-safe.
struct Response {
  unsigned status = 200;  // must be 200-599, anything else is answered with 500
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// Extra fields, sent in order. Content-Length, Transfer-Encoding and Connection are ignored
  /// (the server owns framing); fields with invalid names or CR/LF in values are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Produces the response for one request. Runs on the server's I/O thread: it must be quick and
/// safe against concurrent use of whatever it shares with the rest of the program. An exception
/// escaping it is answered with 500 and logged (rate-limited).
using Handler = std::function<Response(const Request&)>;

/// TLS for a Server. The files are PEM; they are re-read when one of them changes (checked on
/// every new connection), so replacing them rotates the certificate without a restart. A set of
/// files that does not load (say, a new certificate whose key is not written yet) is logged
/// and the previous context stays in use.
struct TlsOptions {
  std::string cert_file;  // certificate chain, leaf first
  std::string key_file;
  std::string client_ca_file;  // CA bundle for client certificates; empty: none
  enum class ClientAuth { kNone, kVerifyIfGiven, kRequireAndVerify };
  ClientAuth client_auth = ClientAuth::kNone;
  enum class Version { kTls12, kTls13 };
  Version min_version = Version::kTls12;
};

/// Configuration of one Server. Validated by Server::Start().
struct ServerOptions {
  /// "host:port", "[::1]:port", or ":port" (all interfaces, dual stack when IPv6 is available).
  /// Port 0 picks a free port; see Server::BoundPort().
  std::string listen_address = "127.0.0.1:9464";
  /// Connections beyond this get a canned 503 and are closed at once (counted, see
  /// Server::RejectedConnections()). Must be >= 1.
  std::size_t max_connections = 64;
  /// Deadline for reading one whole request, which is also the keep-alive idle timeout, and for
  /// writing one response. Must be > 0.
  std::chrono::milliseconds idle_timeout{30000};
  /// Larger request bodies are answered with 413 and the connection is closed.
  std::size_t max_request_body_bytes = std::size_t{64} * 1024;
  /// Absent: plain HTTP. Present: HTTPS only (no plaintext fallback).
  std::optional<TlsOptions> tls;
};

/// A small HTTP/1.1 server (keep-alive, HEAD, body limits, per-connection deadlines) that runs
/// one I/O thread of its own. Start(), Stop() and the destructor must be called from one
/// controlling thread, never from a handler; BoundAddress(), BoundPort() and
/// RejectedConnections() may be called from any thread once Start() has returned.
class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();  // Stop()s.

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Validates the options, resolves, binds and listens synchronously, then starts the I/O
  /// thread. Throws std::runtime_error with a one-line message such as "cannot listen on
  /// 127.0.0.1:9464: Address already in use" or "cannot load TLS certificate /x.crt: ...";
  /// std::logic_error if called twice.
  void Start();

  /// Closes the listener and every connection (in-flight responses are abandoned) and joins the
  /// I/O thread. Idempotent; a no-op before Start(). Throws std::logic_error when called from a
  /// handler, where it could only deadlock.
  void Stop();

  /// The address actually bound, e.g. "127.0.0.1:43125" or "[::]:9464"; empty before Start().
  std::string BoundAddress() const;
  /// The port actually bound (the real one when 0 was asked); 0 before Start().
  std::uint16_t BoundPort() const;
  /// Connections refused because max_connections were open.
  std::uint64_t RejectedConnections() const;
  /// How often changed TLS files were loaded after Start() (0 without TLS).
  std::uint64_t TlsReloads() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace model_auditor::http
