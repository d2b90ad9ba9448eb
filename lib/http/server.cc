#include "http/server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_set>

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

namespace model_auditor::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

// Room for browsers with many cookies, yet 64 connections stay cheap.
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;
// After answering an error we half-close and read what the client still sends: closing with
// unread bytes makes the kernel send a RST, which can destroy our response before it is read.
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::size_t kMaxLingerBytes = std::size_t{1024} * 1024;
// A failed accept (EMFILE, ENOBUFS) usually fails again at once; retrying immediately would spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// Every connection is cancelled on Stop(); this bounds the wait should one not wind down.
constexpr std::chrono::milliseconds kStopGrace{2000};
constexpr std::chrono::seconds kWarnInterval{10};

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Sent without a session, so a refused connection costs nothing beyond its socket. A TLS listener
// closes instead: these bytes are plaintext.
constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 21\r\n"
    "Connection: close\r\n"
    "\r\n"
    "too many connections\n";
static_assert(kTooManyConnections.size() - kTooManyConnections.find("\r\n\r\n") - 4 == 21,
              "Content-Length of the canned 503 must match its body");

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// RFC 9110 token: what a field name may be.
bool IsToken(std::string_view s) {
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

// Rejects control characters, above all CR/LF, which would let a value inject header lines.
bool IsFieldValue(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  // Dual-stack listeners see IPv4 peers as ::ffff:a.b.c.d; logs read better with the plain form.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  const std::string host = address.to_string();
  const std::string port = std::to_string(endpoint.port());
  return address.is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

// Logs at most once per interval and says how many lines it held back. I/O thread only.
class LogLimiter {
 public:
  template <class... Args>
  void Warn(spdlog::format_string_t<Args...> format, Args&&... args) {
    const auto now = Clock::now();
    if (last_ && now - *last_ < kWarnInterval) {
      ++suppressed_;
      return;
    }
    last_ = now;
    spdlog::warn(format, std::forward<Args>(args)...);
    if (suppressed_ > 0) {
      spdlog::warn("http: {} similar warnings were suppressed before this one", suppressed_);
      suppressed_ = 0;
    }
  }

 private:
  std::optional<Clock::time_point> last_;
  std::uint64_t suppressed_ = 0;
};

// The TLS context of a listener, rebuilt when its files change. I/O thread only (after Start()).
class TlsContexts {
 public:
  explicit TlsContexts(TlsOptions options) : options_(std::move(options)) {}

  // Loads the files; throws std::runtime_error naming the file that failed.
  void LoadOrThrow() {
    stamp_ = Stamp();
    current_ = Build();
    failed_stamp_.reset();
  }

  // The context for a new connection: reloaded first if a file changed since the last load.
  std::shared_ptr<ssl::context> Current() {
    const std::vector<FileStamp> stamp = Stamp();
    if (stamp == stamp_ || (failed_stamp_ && stamp == *failed_stamp_)) return current_;
    try {
      current_ = Build();
      stamp_ = stamp;
      failed_stamp_.reset();
      ++reloads_;
      spdlog::info("http: reloaded TLS certificate cert_file={} key_file={}", options_.cert_file,
                   options_.key_file);
    } catch (const std::exception& e) {
      // Often a rotation in progress (certificate written, key not yet): the next change of any
      // file is retried, and until then the old certificate keeps serving.
      failed_stamp_ = stamp;
      warnings_.Warn("http: keeping the previous TLS certificate: {}", e.what());
    }
    return current_;
  }

  std::uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }

 private:
  struct FileStamp {
    ino_t inode = 0;
    off_t size = -1;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };

  std::vector<FileStamp> Stamp() const {
    std::vector<FileStamp> out;
    for (const std::string* file :
         {&options_.cert_file, &options_.key_file, &options_.client_ca_file}) {
      FileStamp st;
      struct stat buf {};
      if (!file->empty() && ::stat(file->c_str(), &buf) == 0) {
        st = {buf.st_ino, buf.st_size,
              std::int64_t(buf.st_mtim.tv_sec) * 1'000'000'000 + buf.st_mtim.tv_nsec};
      }
      out.push_back(st);
    }
    return out;
  }

  std::shared_ptr<ssl::context> Build() const {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    const int min_version =
        options_.min_version == TlsOptions::Version::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (SSL_CTX_set_min_proto_version(native, min_version) != 1) {
      throw std::runtime_error("cannot set the minimum TLS version");
    }
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                     ssl::context::single_dh_use);
    const auto load = [](const char* what, const std::string& file, const auto& f) {
      beast::error_code ec;
      f(ec);
      if (ec) {
        throw std::runtime_error(std::string("cannot load TLS ") + what + " " + file + ": " +
                                 ec.message());
      }
    };
    load("certificate", options_.cert_file,
         [&](beast::error_code& ec) { ctx->use_certificate_chain_file(options_.cert_file, ec); });
    load("key", options_.key_file, [&](beast::error_code& ec) {
      ctx->use_private_key_file(options_.key_file, ssl::context::pem, ec);
    });
    if (SSL_CTX_check_private_key(native) != 1) {
      throw std::runtime_error("TLS key " + options_.key_file + " does not match certificate " +
                               options_.cert_file);
    }
    if (!options_.client_ca_file.empty()) {
      load("client CA", options_.client_ca_file,
           [&](beast::error_code& ec) { ctx->load_verify_file(options_.client_ca_file, ec); });
      // Tells clients which CAs we accept, so that they pick the right certificate.
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options_.client_ca_file.c_str())) {
        SSL_CTX_set_client_CA_list(native, names);
      }
      ssl::verify_mode mode = ssl::verify_peer;
      if (options_.client_auth == TlsOptions::ClientAuth::kRequireAndVerify) {
        mode |= ssl::verify_fail_if_no_peer_cert;
      }
      ctx->set_verify_mode(mode);
    }
    return ctx;
  }

  const TlsOptions options_;
  std::shared_ptr<ssl::context> current_;
  std::vector<FileStamp> stamp_;
  std::optional<std::vector<FileStamp>> failed_stamp_;
  std::atomic<std::uint64_t> reloads_{0};
  LogLimiter warnings_;
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Abandons the connection; its pending operations complete with operation_aborted.
  virtual void Close() = 0;
};

// What all connections share with the server. Used on the I/O thread only; outlives every
// connection, including those the io_context destroys after a forced stop.
class Hub {
 public:
  Hub(ServerOptions options, Handler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {}

  const ServerOptions& options() const { return options_; }
  const Handler& handler() const { return handler_; }
  bool stopping() const { return stopping_; }
  std::size_t open_connections() const { return sessions_.size(); }

  void Register(SessionBase* session) { sessions_.insert(session); }
  void Unregister(SessionBase* session) { sessions_.erase(session); }

  void BeginStop() {
    stopping_ = true;
    // Close() only cancels and sessions unregister later, from their handlers; the copy keeps
    // this loop correct should Close() ever destroy a session synchronously.
    const std::vector<SessionBase*> sessions(sessions_.begin(), sessions_.end());
    for (SessionBase* session : sessions) session->Close();
  }

  LogLimiter& handler_warnings() { return handler_warnings_; }

 private:
  const ServerOptions options_;
  const Handler handler_;
  bool stopping_ = false;
  std::unordered_set<SessionBase*> sessions_;
  LogLimiter handler_warnings_;
};

// One connection, plain (beast::tcp_stream) or TLS (TlsStream): TLS adds a handshake in Run()
// and closes with close_notify instead of a half-close.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `keep` owns what the stream refers to (the TLS context) and is released after it.
  Session(std::shared_ptr<void> keep, Stream stream, Hub& hub, std::string remote_address)
      : keep_(std::move(keep)),
        stream_(std::move(stream)),
        hub_(hub),
        remote_address_(std::move(remote_address)) {
    hub_.Register(this);
  }
  ~Session() override { hub_.Unregister(this); }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Run() {
    if constexpr (kTls) {
      // The handshake shares the request deadline: a silent client cannot hold a slot.
      Lowest().expires_after(hub_.options().idle_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      ReadHeader();
    }
  }

  void Close() override { CloseNow(); }

 private:
  using RequestParser = bhttp::request_parser<bhttp::string_body>;
  using ResponseMessage = bhttp::response<bhttp::string_body>;

  auto& Lowest() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      // Scanners, plaintext clients and old TLS versions land here; not worth a warning.
      spdlog::debug("http: TLS handshake with {} failed: {}", remote_address_, ec.message());
      return CloseNow();
    }
    ReadHeader();
  }

  void ReadHeader() {
    if (hub_.stopping()) return CloseNow();
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(hub_.options().max_request_body_bytes);
    // One deadline for the whole request, so a client trickling bytes cannot hold the slot.
    Lowest().expires_after(hub_.options().idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return Dispatch();
    const auto& request = parser_->get();
    // Clients such as curl wait up to a second for this before sending a large body.
    if (request.version() >= 11 && IEquals(ToStd(request[bhttp::field::expect]), "100-continue")) {
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = this->shared_from_this()](beast::error_code write_ec, std::size_t) {
                          if (write_ec) return self->CloseNow();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnBody, this->shared_from_this()));
  }

  void OnBody(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    Dispatch();
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return SendError(413, "request body too large\n");
    }
    if (ec == bhttp::error::header_limit) {
      return SendError(431, "request header fields too large\n");
    }
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        ec == beast::error::timeout || ec == asio::error::operation_aborted) {
      return CloseNow();
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      spdlog::debug("http: malformed request from {}: {}", remote_address_, ec.message());
      return SendError(400, "bad request\n");
    }
    // Resets and other socket errors: the peer is gone, there is nobody to answer.
    CloseNow();
  }

  void Dispatch() {
    const auto& request = parser_->get();
    const bool head = request.method() == bhttp::verb::head;
    Response response = CallHandler(request, head);
    const bool keep_alive = request.keep_alive() && !hub_.stopping();
    Send(std::move(response), head, request.version(), keep_alive);
  }

  Response CallHandler(const RequestParser::value_type& message, bool head) {
    header_fields_.clear();
    for (const auto& field : message) {
      header_fields_.emplace_back(ToStd(field.name_string()), ToStd(field.value()));
    }
    const std::string_view target = ToStd(message.target());
    const std::size_t question = target.find('?');
    Request request;
    request.method = head ? std::string_view("GET") : ToStd(message.method_string());
    request.path = target.substr(0, question);
    request.query = question == std::string_view::npos ? "" : target.substr(question + 1);
    request.body = message.body();
    request.remote_address = remote_address_;
    request.headers = header_fields_;
    // The boundary where handler exceptions stop: one bad request must not end the connection,
    // let alone the I/O thread.
    try {
      return hub_.handler()(request);
    } catch (const std::exception& e) {
      hub_.handler_warnings().Warn("http: handler for {} {} failed: {}", request.method,
                                   request.path, e.what());
    } catch (...) {
      hub_.handler_warnings().Warn("http: handler for {} {} failed with a non-standard exception",
                                   request.method, request.path);
    }
    return InternalError();
  }

  static Response InternalError() {
    Response response;
    response.status = 500;
    response.body = "internal server error\n";
    return response;
  }

  void SendError(unsigned status, std::string body) {
    Response response;
    response.status = status;
    response.body = std::move(body);
    Send(std::move(response), /*head=*/false, /*version=*/11, /*keep_alive=*/false);
  }

  void Send(Response response, bool head, unsigned version, bool keep_alive) {
    close_after_write_ = !keep_alive;
    try {
      BuildMessage(std::move(response), head, version, keep_alive);
    } catch (const std::exception& e) {
      // Beast refuses, for one, fields longer than 64 KiB.
      hub_.handler_warnings().Warn("http: cannot send the handler's response: {}", e.what());
      BuildMessage(InternalError(), head, version, keep_alive);
    }
    serializer_.emplace(response_);
    Lowest().expires_after(hub_.options().idle_timeout);
    auto on_write = beast::bind_front_handler(&Session::OnWrite, this->shared_from_this());
    // HEAD keeps GET's Content-Length; writing only the header is how Beast skips the body.
    if (head) {
      bhttp::async_write_header(stream_, *serializer_, std::move(on_write));
    } else {
      bhttp::async_write(stream_, *serializer_, std::move(on_write));
    }
  }

  void BuildMessage(Response response, bool head, unsigned version, bool keep_alive) {
    if (response.status < 200 || response.status > 599 || !IsFieldValue(response.content_type)) {
      hub_.handler_warnings().Warn("http: handler returned an invalid status {} or content type",
                                   response.status);
      response = InternalError();
    }
    response_ = {};
    response_.version(version);
    response_.result(response.status);
    response_.keep_alive(keep_alive);
    if (!response.content_type.empty()) {
      response_.set(bhttp::field::content_type, response.content_type);
    }
    for (const auto& [name, value] : response.headers) {
      if (!IsToken(name) || !IsFieldValue(value)) {
        hub_.handler_warnings().Warn("http: dropped an invalid response header field");
        continue;
      }
      if (IEquals(name, "content-length") || IEquals(name, "transfer-encoding") ||
          IEquals(name, "connection")) {
        continue;
      }
      if (IEquals(name, "content-type")) {
        response_.set(bhttp::field::content_type, value);
      } else {
        response_.insert(name, value);
      }
    }
    // RFC 9110: 204 and 304 have no content and 204 must not carry Content-Length.
    const bool no_content = response.status == 204 || response.status == 304;
    if (!no_content) response_.content_length(response.body.size());
    if (!head && !no_content) response_.body() = std::move(response.body);
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    serializer_.reset();
    if (ec) return CloseNow();  // the client left mid-response, or Stop()
    if (close_after_write_) return LingeringClose();
    ReadHeader();
  }

  void LingeringClose() {
    if constexpr (kTls) {
      // close_notify, then wait (bounded) for the peer's: TLS's own orderly close.
      Lowest().expires_after(std::min<std::chrono::milliseconds>(kMaxLinger,
                                                                 hub_.options().idle_timeout));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        self->CloseNow();
      });
      return;
    }
    if (!ShutdownSend()) return CloseNow();
    drained_bytes_ = 0;
    Lowest().expires_after(std::min<std::chrono::milliseconds>(kMaxLinger,
                                                               hub_.options().idle_timeout));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(
        asio::buffer(drain_buffer_),
        [self = this->shared_from_this()](beast::error_code ec, std::size_t bytes) {
          self->drained_bytes_ += bytes;
          if (ec || self->drained_bytes_ > kMaxLingerBytes) return self->CloseNow();
          self->Drain();
        });
  }

  bool ShutdownSend() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    return !ec;
  }

  void CloseNow() {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();  // also cancels the deadline timer
  }

  std::shared_ptr<void> keep_;
  Stream stream_;
  Hub& hub_;
  const std::string remote_address_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;  // a parser serves one message; re-created per request
  ResponseMessage response_;
  std::optional<bhttp::response_serializer<bhttp::string_body>> serializer_;
  std::vector<HeaderField> header_fields_;  // reused so steady-state requests do not allocate it
  std::array<char, 4096> drain_buffer_{};
  std::size_t drained_bytes_ = 0;
  bool close_after_write_ = false;
};

struct ListenAddress {
  std::string host;  // empty: all interfaces
  std::uint16_t port = 0;
  bool bracketed = false;
};

ListenAddress ParseListenAddress(const std::string& text) {
  const auto invalid = [&](std::string_view why) {
    return std::runtime_error("invalid listen address '" + text + "': " + std::string(why));
  };
  ListenAddress address;
  std::string_view port_text;
  const std::string_view view = text;
  if (!view.empty() && view.front() == '[') {
    const std::size_t close = view.find(']');
    if (close == std::string_view::npos || close == 1 || close + 1 >= view.size() ||
        view[close + 1] != ':') {
      throw invalid("expected [ipv6]:port");
    }
    address.host = std::string(view.substr(1, close - 1));
    address.bracketed = true;
    port_text = view.substr(close + 2);
  } else {
    const std::size_t colon = view.rfind(':');
    if (colon == std::string_view::npos) throw invalid("expected host:port");
    address.host = std::string(view.substr(0, colon));
    if (address.host.find(':') != std::string::npos) {
      throw invalid("IPv6 addresses need brackets, as in [::1]:9464");
    }
    port_text = view.substr(colon + 1);
  }
  unsigned port = 0;
  const char* const port_end = port_text.data() + port_text.size();
  const auto [end, ec] = std::from_chars(port_text.data(), port_end, port);
  if (port_text.empty() || ec != std::errc() || end != port_end || port > 65535) {
    throw invalid("port must be a number from 0 to 65535");
  }
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

}  // namespace

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [field_name, value] : headers) {
    if (IEquals(field_name, name)) return value;
  }
  return {};
}

class Server::Impl {
 public:
  Impl(ServerOptions options, Handler handler) : hub_(std::move(options), std::move(handler)) {}
  ~Impl() {
    try {
      Stop();
    } catch (const std::exception& e) {
      // Only reachable when the server is destroyed from its own handler: nothing can recover.
      spdlog::critical("http: {}", e.what());
      std::terminate();
    }
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void Start() {
    if (started_) throw std::logic_error("http::Server::Start() called twice");
    const ServerOptions& options = hub_.options();
    if (!hub_.handler()) throw std::runtime_error("http server: no handler given");
    if (options.max_connections == 0) {
      throw std::runtime_error("invalid http server options: max_connections must be at least 1");
    }
    if (options.idle_timeout <= std::chrono::milliseconds::zero()) {
      throw std::runtime_error("invalid http server options: idle_timeout must be positive");
    }
    if (options.tls) {
      tls_.emplace(*options.tls);
      tls_->LoadOrThrow();
    }
    Listen(options.listen_address);
    work_.emplace(ioc_.get_executor());
    Accept();
    thread_ = std::thread([this] { Run(); });
    started_ = true;
  }

  void Stop() {
    if (!started_ || stopped_) return;
    // Joining the I/O thread from itself would hang forever; fail loudly instead.
    if (std::this_thread::get_id() == thread_.get_id()) {
      throw std::logic_error("http::Server::Stop() called from a handler");
    }
    stopped_ = true;
    asio::post(ioc_, [this] {
      hub_.BeginStop();
      beast::error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
    });
    work_.reset();
    {
      std::unique_lock lock(run_mutex_);
      if (!run_done_.wait_for(lock, kStopGrace, [this] { return run_returned_; })) {
        spdlog::warn("http: connections did not wind down within {} ms; forcing stop",
                     kStopGrace.count());
        ioc_.stop();
      }
    }
    thread_.join();
  }

  std::string bound_address() const { return bound_address_; }
  std::uint16_t bound_port() const { return bound_port_; }
  std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
  std::uint64_t tls_reloads() const { return tls_ ? tls_->reloads() : 0; }

 private:
  void Listen(const std::string& text) {
    const ListenAddress address = ParseListenAddress(text);
    const auto cannot_listen = [&](const beast::error_code& ec) {
      return std::runtime_error("cannot listen on " + text + ": " + ec.message());
    };
    std::vector<tcp::endpoint> endpoints;
    bool dual_stack = false;
    if (address.host.empty()) {
      // IPv6 any with v6_only off also takes IPv4; plain IPv4 is the fallback on hosts without v6.
      endpoints = {tcp::endpoint(tcp::v6(), address.port), tcp::endpoint(tcp::v4(), address.port)};
      dual_stack = true;
    } else {
      beast::error_code ec;
      const auto literal = asio::ip::make_address(address.host, ec);
      if (!ec) {
        endpoints.emplace_back(literal, address.port);
      } else if (address.bracketed) {
        throw std::runtime_error("invalid listen address '" + text + "': '" + address.host +
                                 "' is not an IPv6 address");
      } else {
        tcp::resolver resolver(ioc_);
        const auto results = resolver.resolve(address.host, std::to_string(address.port),
                                              tcp::resolver::numeric_service, ec);
        if (ec) throw cannot_listen(ec);
        for (const auto& entry : results) endpoints.push_back(entry.endpoint());
        if (endpoints.empty()) throw cannot_listen(asio::error::host_not_found);
      }
    }

    beast::error_code first_error;
    for (const tcp::endpoint& endpoint : endpoints) {
      beast::error_code ec;
      if (TryListen(endpoint, dual_stack && endpoint.address().is_v6(), ec)) {
        const tcp::endpoint bound = acceptor_.local_endpoint(ec);
        if (ec) {
          beast::error_code ignored;
          acceptor_.close(ignored);
          throw cannot_listen(ec);
        }
        bound_address_ = FormatEndpoint(bound);
        bound_port_ = bound.port();
        return;
      }
      // "Address family not supported" from an IPv6 attempt says less than what IPv4 says next.
      if (!first_error || first_error == asio::error::address_family_not_supported) {
        first_error = ec;
      }
    }
    throw cannot_listen(first_error);
  }

  bool TryListen(const tcp::endpoint& endpoint, bool dual_stack, beast::error_code& ec) {
    beast::error_code ignored;
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return false;
    // Lets a restarted daemon bind while old connections sit in TIME_WAIT. On Linux this does
    // not allow two live listeners on one port.
    acceptor_.set_option(asio::socket_base::reuse_address(true), ignored);
    if (dual_stack) acceptor_.set_option(asio::ip::v6_only(false), ignored);
    acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return true;
    acceptor_.close(ignored);
    return false;
  }

  void Run() {
    for (;;) {
      // Handlers do not throw by design; if one ever does, keep serving rather than die silently.
      try {
        ioc_.run();
        break;
      } catch (const std::exception& e) {
        spdlog::error("http: unexpected exception on the I/O thread: {}", e.what());
      } catch (...) {
        spdlog::error("http: unexpected non-standard exception on the I/O thread");
      }
    }
    {
      std::lock_guard lock(run_mutex_);
      run_returned_ = true;
    }
    run_done_.notify_all();
  }

  void Accept() {
    acceptor_.async_accept(
        [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || hub_.stopping()) return;
    if (ec) {
      accept_warnings_.Warn("http: accept failed: {}", ec.message());
      accept_retry_.expires_after(kAcceptRetryDelay);
      accept_retry_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !hub_.stopping()) Accept();
      });
      return;
    }
    beast::error_code endpoint_ec;
    const tcp::endpoint remote = socket.remote_endpoint(endpoint_ec);
    std::string remote_address = endpoint_ec ? "unknown" : FormatEndpoint(remote);
    if (hub_.open_connections() >= hub_.options().max_connections) {
      Refuse(std::move(socket), remote_address);
    } else {
      beast::error_code ignored;
      // Responses go out in one write; Nagle would only delay them against delayed ACKs.
      socket.set_option(tcp::no_delay(true), ignored);
      if (tls_) {
        std::shared_ptr<ssl::context> ctx = tls_->Current();
        TlsStream stream(beast::tcp_stream(std::move(socket)), *ctx);
        std::make_shared<Session<TlsStream>>(std::move(ctx), std::move(stream), hub_,
                                             std::move(remote_address))
            ->Run();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(nullptr, beast::tcp_stream(std::move(socket)),
                                                     hub_, std::move(remote_address))
            ->Run();
      }
    }
    Accept();
  }

  void Refuse(tcp::socket socket, const std::string& remote_address) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    refuse_warnings_.Warn("http: refused connection from {}: max_connections ({}) are open",
                          remote_address, hub_.options().max_connections);
    beast::error_code ignored;
    // Plaintext bytes would only confuse a TLS client: it just sees the connection close.
    if (!tls_) {
      // Best effort and never blocking: a fresh socket's send buffer takes this whole.
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(kTooManyConnections.data(), kTooManyConnections.size()),
                        ignored);
    }
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  // Declared before ioc_ so that it outlives handlers the io_context destroys on a forced stop.
  Hub hub_;
  LogLimiter accept_warnings_;
  LogLimiter refuse_warnings_;
  std::atomic<std::uint64_t> rejected_{0};
  std::optional<TlsContexts> tls_;
  std::string bound_address_;
  std::uint16_t bound_port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  std::mutex run_mutex_;
  std::condition_variable run_done_;
  bool run_returned_ = false;

  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  asio::steady_timer accept_retry_{ioc_};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() = default;

void Server::Start() { impl_->Start(); }
void Server::Stop() { impl_->Stop(); }
std::string Server::BoundAddress() const { return impl_->bound_address(); }
std::uint16_t Server::BoundPort() const { return impl_->bound_port(); }
std::uint64_t Server::RejectedConnections() const { return impl_->rejected(); }
std::uint64_t Server::TlsReloads() const { return impl_->tls_reloads(); }

}  // namespace model_auditor::http
