#include "registry/http_fetch.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <optional>

#include "util/error.h"

namespace model_auditor::registry {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};

Url ParseUrl(const std::string& url) {
  Url u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    throw LoadError(url + ": registry URL must start with http:// or https://");
  }
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos) {
    throw LoadError(url + ": credentials in the URL are not supported (use bearer_token_file)");
  }
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) throw LoadError(url + ": invalid IPv6 address");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.host.empty()) throw LoadError(url + ": URL has no host");
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  return u;
}

// Runs the asynchronous exchange on `ioc` and stops it at the deadline: the
// only way to bound every phase (resolve, connect, handshake, read) at once.
template <typename Stream>
HttpFetchResult Exchange(asio::io_context& ioc, Stream& stream, const std::string& url,
                         const Url& u, const HttpFetchOptions& o,
                         const std::function<void(std::function<void(beast::error_code)>)>& connect) {
  HttpFetchResult result;
  beast::error_code failure;
  std::string failed_step;
  bool done = false;
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, u.target, 11};
  req.set(bhttp::field::host, u.host);
  req.set(bhttp::field::user_agent, "model-auditor");
  req.set(bhttp::field::accept, "application/json, application/yaml, text/yaml, */*");
  if (!o.bearer_token.empty()) req.set(bhttp::field::authorization, "Bearer " + o.bearer_token);
  if (!o.if_none_match.empty()) req.set(bhttp::field::if_none_match, o.if_none_match);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(o.max_body_bytes);
  parser.header_limit(64 * 1024);

  auto fail = [&](const char* step, beast::error_code ec) {
    if (!done) {
      failure = ec;
      failed_step = step;
      done = true;
    }
  };
  connect([&](beast::error_code ec) {
    if (ec) return fail("connect", ec);
    bhttp::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
      if (wec) return fail("write", wec);
      // Boost 1.74's parser does not enforce body_limit on this path, so the
      // declared length is checked after the header and the size after the body.
      bhttp::async_read_header(stream, buffer, parser, [&](beast::error_code hec, std::size_t) {
        if (hec) return fail("read", hec);
        const auto length = parser.content_length();
        if (length && *length > o.max_body_bytes) return fail("read", bhttp::error::body_limit);
        bhttp::async_read(stream, buffer, parser, [&](beast::error_code rec, std::size_t) {
          if (rec) return fail("read", rec);
          if (parser.get().body().size() > o.max_body_bytes) {
            return fail("read", bhttp::error::body_limit);
          }
          done = true;
        });
      });
    });
  });
  ioc.run_for(o.total_timeout);
  if (!done) {
    throw LoadError(url + ": no complete answer within " + std::to_string(o.total_timeout.count()) +
                    " ms");
  }
  if (failure) {
    if (failure == bhttp::error::body_limit) {
      throw LoadError(url + ": body is larger than " + std::to_string(o.max_body_bytes) + " bytes");
    }
    if (failure == bhttp::error::partial_message || failure == bhttp::error::end_of_stream) {
      throw LoadError(url + ": connection closed before the whole body arrived (truncated)");
    }
    throw LoadError(url + ": " + failed_step + " failed: " + failure.message());
  }
  auto res = parser.release();
  const unsigned status = res.result_int();
  if (status == 304) {
    result.not_modified = true;
    result.etag = o.if_none_match;
    return result;
  }
  if (status < 200 || status >= 300) {
    throw LoadError(url + ": HTTP " + std::to_string(status) + " " +
                    std::string(res.reason()));
  }
  result.body = std::move(res.body());
  result.etag = std::string(res[bhttp::field::etag]);
  return result;
}

}  // namespace

HttpFetchResult HttpFetch(const std::string& url, const HttpFetchOptions& o) {
  const Url u = ParseUrl(url);
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto connect_tcp = [&](tcp::socket& socket, const std::function<void(beast::error_code)>& next) {
    resolver.async_resolve(u.host, u.port, [&, next](beast::error_code ec, const tcp::resolver::results_type& results) {
      if (ec) return next(ec);
      auto timer = std::make_shared<asio::steady_timer>(ioc, o.connect_timeout);
      timer->async_wait([&socket](beast::error_code tec) {
        if (!tec) {
          beast::error_code ignored;
          socket.close(ignored);  // connect timeout: abort the attempt
        }
      });
      asio::async_connect(socket, results, [timer, next](beast::error_code cec, const tcp::endpoint&) {
        timer->cancel();
        next(cec ? cec : beast::error_code{});
      });
    });
  };
  if (!u.tls) {
    tcp::socket socket(ioc);
    return Exchange(ioc, socket, url, u, o, [&](const std::function<void(beast::error_code)>& next) {
      connect_tcp(socket, next);
    });
  }
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  beast::error_code ec;
  if (o.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(o.ca_file, ec);
  }
  if (ec) throw LoadError(url + ": cannot load CA certificates: " + ec.message());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  ctx.set_verify_callback(asio::ssl::host_name_verification(u.host));
  beast::ssl_stream<tcp::socket> stream(ioc, ctx);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str())) {
    throw LoadError(url + ": cannot set TLS server name");
  }
  return Exchange(ioc, stream, url, u, o, [&](const std::function<void(beast::error_code)>& next) {
    connect_tcp(stream.next_layer(), [&stream, next](beast::error_code cec) {
      if (cec) return next(cec);
      stream.async_handshake(asio::ssl::stream_base::client,
                             [next](beast::error_code hec) { next(hec); });
    });
  });
}

}  // namespace model_auditor::registry
