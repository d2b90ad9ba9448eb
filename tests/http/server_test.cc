#include "http/server.h"

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

namespace model_auditor::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kClientTimeout = 5s;

// A blocking-style client on async operations, so that a misbehaving server fails the test after
// kClientTimeout instead of hanging it. Raw bytes in, parsed responses out.
class Client {
 public:
  explicit Client(std::uint16_t port, std::string_view host = "127.0.0.1") : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address(std::string(host)), port));
  }

  void Send(std::string_view bytes) {
    const auto ec = Run([&](auto done) {
      asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()), done);
    });
    REQUIRE_FALSE(ec);
  }

  bhttp::response<bhttp::string_body> Read(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(head);  // a HEAD response announces a length but carries no body
    const auto ec = Run([&](auto done) { bhttp::async_read(socket_, buffer_, parser, done); });
    REQUIRE_FALSE(ec);
    return parser.release();
  }

  bhttp::response<bhttp::string_body> Get(std::string_view target) {
    Send("GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n\r\n");
    return Read();
  }

  // Everything the server sends until it closes; "closed" is false if it kept the connection.
  struct Drained {
    std::string bytes;
    bool closed = false;
  };
  Drained ReadUntilClosed() {
    Drained result{beast::buffers_to_string(buffer_.data()), false};
    buffer_.consume(buffer_.size());
    std::string more;
    const auto ec = Run([&](auto done) {
      asio::async_read(socket_, asio::dynamic_buffer(more), asio::transfer_all(), done);
    });
    result.bytes += more;
    result.closed = ec == asio::error::eof || ec == asio::error::connection_reset;
    return result;
  }

  void Close() {
    beast::error_code ignored;
    socket_.close(ignored);
  }

 private:
  template <class Start>
  beast::error_code Run(Start start) {
    std::optional<beast::error_code> result;
    start([&](beast::error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run_for(kClientTimeout);
    if (!result) {
      beast::error_code ignored;
      socket_.cancel(ignored);
      ioc_.restart();
      ioc_.run();
      FAIL("client operation timed out");
    }
    return *result;
  }

  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

ServerOptions LocalOptions() {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  return options;
}

Response Text(unsigned status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// The handler most tests use: /metrics, /echo (body), /whoami (peer), 404 otherwise.
Response Route(const Request& request) {
  if (request.path == "/metrics" && request.method == "GET") {
    Response response = Text(200, "up 1\n");
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.headers.emplace_back("X-Query", std::string(request.query));
    response.headers.emplace_back("X-Agent", std::string(request.Header("user-agent")));
    return response;
  }
  if (request.path == "/echo") return Text(200, std::string(request.body));
  if (request.path == "/whoami") return Text(200, std::string(request.remote_address));
  if (request.path == "/big") return Text(200, std::string(8 * 1024 * 1024, 'x'));
  return Text(404, "not found\n");
}

}  // namespace

TEST_CASE("header lookup ignores case and returns the first match", "[http]") {
  const std::array<HeaderField, 3> fields = {
      {{"Content-Type", "text/plain"}, {"X-Twice", "first"}, {"x-twice", "second"}}};
  Request request;
  request.headers = fields;
  CHECK(request.Header("content-type") == "text/plain");
  CHECK(request.Header("CONTENT-TYPE") == "text/plain");
  CHECK(request.Header("x-TWICE") == "first");
  CHECK(request.Header("missing").empty());
  CHECK(request.Header("Content-Typ").empty());
}

TEST_CASE("server binds port 0 and reports the port it got", "[http]") {
  Server server(LocalOptions(), Route);
  CHECK(server.BoundPort() == 0);
  server.Start();
  REQUIRE(server.BoundPort() != 0);
  CHECK(server.BoundAddress() == "127.0.0.1:" + std::to_string(server.BoundPort()));
  Client client(server.BoundPort());
  CHECK(client.Get("/metrics").result_int() == 200);
}

TEST_CASE("GET returns the handler's status, content type, headers and body", "[http]") {
  Server server(LocalOptions(), Route);
  server.Start();
  Client client(server.BoundPort());
  client.Send("GET /metrics?debug=1&x=%20 HTTP/1.1\r\nHost: t\r\nUser-Agent: Prometheus/2\r\n\r\n");
  const auto response = client.Read();
  CHECK(response.result_int() == 200);
  CHECK(response[bhttp::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(response[bhttp::field::content_length] == "5");
  CHECK(response["X-Query"] == "debug=1&x=%20");
  CHECK(response["X-Agent"] == "Prometheus/2");
  CHECK(response.body() == "up 1\n");
}

TEST_CASE("HEAD gets the GET headers and no body", "[http]") {
  Server server(LocalOptions(), Route);
  server.Start();
  Client client(server.BoundPort());
  client.Send("HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  const auto head = client.Read(/*head=*/true);
  CHECK(head.result_int() == 200);
  CHECK(head[bhttp::field::content_length] == "5");
  CHECK(head.body().empty());
  // Any stray body bytes would now be parsed as the start of the next response.
  const auto get = client.Get("/metrics");
  CHECK(get.result_int() == 200);
  CHECK(get.body() == "up 1\n");
}

TEST_CASE("an unknown route gets the handler's 404", "[http]") {
  Server server(LocalOptions(), Route);
  server.Start();
  Client client(server.BoundPort());
  const auto response = client.Get("/nope");
  CHECK(response.result_int() == 404);
  CHECK(response.body() == "not found\n");
}

TEST_CASE("keep-alive serves several requests on one connection", "[http]") {
  Server server(LocalOptions(), Route);
  server.Start();
  Client client(server.BoundPort());
  const auto first = client.Get("/whoami");
  const auto second = client.Get("/whoami");
  CHECK(first.result_int() == 200);
  CHECK(first.keep_alive());
  CHECK(second.body() == first.body());  // same peer port: same connection

  SECTION("pipelined requests are answered in order") {
    client.Send("GET /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nA"
                "GET /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nB");
    CHECK(client.Read().body() == "A");
    CHECK(client.Read().body() == "B");
  }
  SECTION("Connection: close is honoured") {
    client.Send("GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    const auto response = client.Read();
    CHECK(response.result_int() == 200);
    CHECK_FALSE(response.keep_alive());
    CHECK(client.ReadUntilClosed().closed);
  }
  SECTION("HTTP/1.0 without keep-alive is closed after the response") {
    client.Send("GET /metrics HTTP/1.0\r\n\r\n");
    const auto response = client.Read();
    CHECK(response.version() == 10);
    CHECK(client.ReadUntilClosed().closed);
  }
}

TEST_CASE("request bodies are passed to the handler up to the limit", "[http]") {
  ServerOptions options = LocalOptions();
  options.max_request_body_bytes = 1024;
  Server server(options, Route);
  server.Start();
  Client client(server.BoundPort());

  SECTION("a body within the limit arrives whole") {
    const std::string body(1024, 'b');
    client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" + body);
    CHECK(client.Read().body() == body);
  }
  SECTION("a declared length over the limit gets 413 and a close") {
    const std::string body(100 * 1024, 'b');
    client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
    const auto response = client.Read();
    CHECK(response.result_int() == 413);
    CHECK_FALSE(response.keep_alive());
    CHECK(client.ReadUntilClosed().closed);
  }
  SECTION("a chunked body growing over the limit gets 413") {
    const std::string chunk(800, 'c');
    client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                "320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
    CHECK(client.Read().result_int() == 413);
    CHECK(client.ReadUntilClosed().closed);
  }
  SECTION("Expect: 100-continue is answered before the body is sent") {
    client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                "Expect: 100-continue\r\n\r\n");
    CHECK(client.Read().result_int() == 100);
    client.Send("hi");
    CHECK(client.Read().body() == "hi");
  }
}

TEST_CASE("malformed requests get 400 and the connection is closed", "[http]") {
  Server server(LocalOptions(), Route);
  server.Start();
  Client client(server.BoundPort());
  SECTION("binary garbage, here the start of a TLS handshake") {
    client.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\r\n\r\n", 11));
  }
  SECTION("a bad request line") { client.Send("GET\r\n\r\n"); }
  SECTION("a bad header line") { client.Send("GET / HTTP/1.1\r\nno colon here\r\n\r\n"); }
  SECTION("a bad content length") {
    client.Send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -3\r\n\r\n");
  }
  const auto drained = client.ReadUntilClosed();
  CHECK(drained.bytes.starts_with("HTTP/1.1 400 Bad Request\r\n"));
  CHECK(drained.closed);
}

TEST_CASE("oversized request headers get 431", "[http]") {
  Server server(LocalOptions(), Route);
  server.Start();
  Client client(server.BoundPort());
  client.Send("GET / HTTP/1.1\r\nHost: t\r\nCookie: " + std::string(64 * 1024, 'k') + "\r\n\r\n");
  const auto drained = client.ReadUntilClosed();
  CHECK(drained.bytes.starts_with("HTTP/1.1 431 "));
  CHECK(drained.closed);
}

TEST_CASE("handler exceptions become 500 and the connection survives", "[http]") {
  Server server(LocalOptions(), [](const Request& request) -> Response {
    if (request.path == "/throw") throw std::runtime_error("boom");
    return Text(200, "fine\n");
  });
  server.Start();
  Client client(server.BoundPort());
  const auto failed = client.Get("/throw");
  CHECK(failed.result_int() == 500);
  CHECK(failed.body() == "internal server error\n");
  CHECK(client.Get("/").body() == "fine\n");
}

TEST_CASE("the server owns framing and drops unsafe response fields", "[http]") {
  Server server(LocalOptions(), [](const Request& request) -> Response {
    if (request.path == "/bad-status") return Text(1000, "x");
    if (request.path == "/huge-field") {
      Response huge = Text(200, "x");
      huge.headers.emplace_back("X-Huge", std::string(70 * 1024, 'h'));  // over Beast's 64 KiB
      return huge;
    }
    Response response = Text(200, "body");
    response.headers = {{"X-Evil", "a\r\nSet-Cookie: stolen=1"},
                        {"Bad Name", "v"},
                        {"Content-Length", "999"},
                        {"Content-Type", "application/json"},
                        {"Location", "/somewhere"}};
    return response;
  });
  server.Start();
  Client client(server.BoundPort());
  const auto response = client.Get("/");
  CHECK(response.result_int() == 200);
  CHECK(response.count("X-Evil") == 0);
  CHECK(response.count("Set-Cookie") == 0);
  CHECK(response.count("Bad Name") == 0);
  CHECK(response[bhttp::field::content_length] == "4");
  CHECK(response[bhttp::field::content_type] == "application/json");
  CHECK(response[bhttp::field::location] == "/somewhere");
  CHECK(client.Get("/bad-status").result_int() == 500);
  CHECK(client.Get("/huge-field").result_int() == 500);
  CHECK(client.Get("/").result_int() == 200);  // and the connection is still in order
}

TEST_CASE("204 responses carry neither body nor Content-Length", "[http]") {
  Server server(LocalOptions(), [](const Request&) { return Text(204, "ignored"); });
  server.Start();
  Client client(server.BoundPort());
  const auto response = client.Get("/");
  CHECK(response.result_int() == 204);
  CHECK(response.count(bhttp::field::content_length) == 0);
  CHECK(response.body().empty());
  CHECK(client.Get("/").result_int() == 204);  // framing intact
}

TEST_CASE("misusing Start and Stop fails loudly instead of hanging", "[http]") {
  Server* self = nullptr;
  Server server(LocalOptions(), [&](const Request&) {
    self->Stop();
    return Text(200, "unreachable");
  });
  self = &server;
  server.Start();
  CHECK_THROWS_AS(server.Start(), std::logic_error);
  Client client(server.BoundPort());
  CHECK(client.Get("/").result_int() == 500);  // the handler's logic_error, caught at the boundary
}

TEST_CASE("invalid listen addresses are rejected with a clear message", "[http]") {
  const auto message_for = [](std::string address) {
    ServerOptions options;
    options.listen_address = std::move(address);
    Server server(options, Route);
    try {
      server.Start();
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message_for("foo") == "invalid listen address 'foo': expected host:port");
  CHECK(message_for("") == "invalid listen address '': expected host:port");
  CHECK(message_for("127.0.0.1:99999") ==
        "invalid listen address '127.0.0.1:99999': port must be a number from 0 to 65535");
  CHECK(message_for("127.0.0.1:") ==
        "invalid listen address '127.0.0.1:': port must be a number from 0 to 65535");
  CHECK(message_for("127.0.0.1:+80") ==
        "invalid listen address '127.0.0.1:+80': port must be a number from 0 to 65535");
  CHECK(message_for("::1:9464") ==
        "invalid listen address '::1:9464': IPv6 addresses need brackets, as in [::1]:9464");
  CHECK(message_for("[::1]") == "invalid listen address '[::1]': expected [ipv6]:port");
  CHECK(message_for("[nonsense]:80") ==
        "invalid listen address '[nonsense]:80': 'nonsense' is not an IPv6 address");
  CHECK(message_for("192.0.2.1:0").starts_with("cannot listen on 192.0.2.1:0: "));
}

TEST_CASE("a port in use is reported clearly", "[http]") {
  Server first(LocalOptions(), Route);
  first.Start();
  ServerOptions options = LocalOptions();
  options.listen_address = first.BoundAddress();
  Server second(options, Route);
  try {
    second.Start();
    FAIL("second server started on a port in use");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) ==
          "cannot listen on " + first.BoundAddress() + ": Address already in use");
  }
}

TEST_CASE("bad options are rejected at start", "[http]") {
  ServerOptions options = LocalOptions();
  options.max_connections = 0;
  Server server(options, Route);
  CHECK_THROWS_WITH(server.Start(), Catch::Contains("max_connections"));
  Server without_handler(LocalOptions(), Handler());
  CHECK_THROWS_AS(without_handler.Start(), std::runtime_error);
}

TEST_CASE("an empty host listens on all interfaces", "[http]") {
  ServerOptions options;
  options.listen_address = ":0";
  Server server(options, Route);
  server.Start();
  const std::string bound = server.BoundAddress();
  CHECK((bound.starts_with("[::]:") || bound.starts_with("0.0.0.0:")));
  Client v4(server.BoundPort(), "127.0.0.1");
  const auto response = v4.Get("/whoami");
  CHECK(response.result_int() == 200);
  CHECK(response.body().starts_with("127.0.0.1:"));  // v4-mapped peers are shown plainly
}

TEST_CASE("Stop returns promptly with idle connections open", "[http]") {
  Server server(LocalOptions(), Route);
  server.Start();
  Client idle(server.BoundPort());
  Client used(server.BoundPort());
  CHECK(used.Get("/metrics").result_int() == 200);
  Client half(server.BoundPort());
  half.Send("GET /metrics HTTP/1.1\r\nHo");  // mid-request

  const auto started = std::chrono::steady_clock::now();
  server.Stop();
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK(idle.ReadUntilClosed().closed);
  CHECK(used.ReadUntilClosed().closed);
  server.Stop();  // idempotent
}

TEST_CASE("idle connections are closed after the idle timeout", "[http]") {
  ServerOptions options = LocalOptions();
  options.idle_timeout = 200ms;
  Server server(options, Route);
  server.Start();
  Client client(server.BoundPort());
  CHECK(client.Get("/metrics").result_int() == 200);
  const auto started = std::chrono::steady_clock::now();
  CHECK(client.ReadUntilClosed().closed);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("connections beyond max_connections are refused and counted", "[http]") {
  ServerOptions options = LocalOptions();
  options.max_connections = 2;
  Server server(options, Route);
  server.Start();
  std::optional<Client> first(std::in_place, server.BoundPort());
  Client second(server.BoundPort());
  // A served request proves the server has accepted (and counted) the connection.
  CHECK(first->Get("/metrics").result_int() == 200);
  CHECK(second.Get("/metrics").result_int() == 200);

  Client third(server.BoundPort());
  const auto refused = third.ReadUntilClosed();
  CHECK(refused.closed);
  CHECK((refused.bytes.empty() || refused.bytes.starts_with("HTTP/1.1 503 ")));
  CHECK(server.RejectedConnections() == 1);

  // Once a slot frees up, new connections are served again.
  first.reset();
  bool served = false;
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    Client next(server.BoundPort());
    next.Send("GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    served = next.ReadUntilClosed().bytes.starts_with("HTTP/1.1 200 ");
    if (!served) std::this_thread::sleep_for(20ms);
  }
  CHECK(served);
}

TEST_CASE("clients that vanish mid-request or mid-response do no harm", "[http]") {
  Server server(LocalOptions(), Route);
  server.Start();
  for (int i = 0; i < 20; ++i) {
    Client mid_request(server.BoundPort());
    mid_request.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc");
    mid_request.Close();
    Client mid_response(server.BoundPort());
    mid_response.Send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    mid_response.Close();
  }
  Client survivor(server.BoundPort());
  CHECK(survivor.Get("/metrics").result_int() == 200);
}

}  // namespace model_auditor::http
