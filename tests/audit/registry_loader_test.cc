// The live registry under faults, against a real HTTP server on loopback (the
// project's own Beast server on a real socket) and real files: after every
// fault the last good snapshot stays in force and the failure is counted; once
// the fault clears, the new snapshot is in force.

#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "audit/registry_loader.h"
#include "http/server.h"

namespace ma = model_auditor;
namespace fs = std::filesystem;

namespace {

std::string Registry(int models, const std::string& prefix = "Model") {
  std::string s = "models:\n";
  for (int i = 0; i < models; ++i) s += "  - name: " + prefix + "-" + std::to_string(i) + "B-Chat\n";
  return s;
}

std::string OpenAiList(const std::vector<std::string>& ids) {
  std::string s = R"({"object":"list","data":[)";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    s += (i ? "," : "") + std::string(R"({"id":")") + ids[i] + R"(","object":"model"})";
  }
  return s + "]}";
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/registry-loader-test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string File(const std::string& name, const std::string& content) const {
    std::ofstream(path + "/" + name, std::ios::binary) << content;
    return path + "/" + name;
  }
  std::string path;
};

// What the test server answers, changed by the test between reloads.
struct Behaviour {
  std::mutex mu;
  unsigned status = 200;
  std::string body;
  std::string etag;
  std::chrono::milliseconds delay{0};
  int requests = 0;
  std::string last_if_none_match;
  std::string last_authorization;
};

struct RegistryServer {
  RegistryServer() : server(Options(), [this](const ma::http::Request& req) {
    std::unique_lock lock(b.mu);
    ++b.requests;
    b.last_if_none_match = std::string(req.Header("If-None-Match"));
    b.last_authorization = std::string(req.Header("Authorization"));
    const auto delay = b.delay;
    ma::http::Response res{b.status, "application/json", b.body, {}};
    if (!b.etag.empty()) {
      res.headers.emplace_back("ETag", b.etag);
      if (req.Header("If-None-Match") == b.etag) res = {304, "application/json", "", {{"ETag", b.etag}}};
    }
    lock.unlock();
    std::this_thread::sleep_for(delay);
    return res;
  }) {
    server.Start();
  }
  static ma::http::ServerOptions Options() {
    ma::http::ServerOptions o;
    o.listen_address = "127.0.0.1:0";
    return o;
  }
  std::string Url() const { return "http://" + server.BoundAddress() + "/v1/models"; }
  void Set(unsigned status, std::string body, std::chrono::milliseconds delay = {}) {
    std::lock_guard lock(b.mu);
    b.status = status;
    b.body = std::move(body);
    b.delay = delay;
  }
  Behaviour b;
  ma::http::Server server;
};

struct Harness {
  explicit Harness(ma::audit::RegistryLoader::Options o)
      : metrics({1000, std::chrono::minutes(5), "test"}), loader(std::move(o), holder, metrics) {}
  std::size_t Models() const {
    auto i = holder.Get();
    return i ? i->snapshot().models().size() : 0;
  }
  std::string Digest() const {
    auto i = holder.Get();
    return i ? i->snapshot().digest() : "";
  }
  std::uint64_t Failures() {
    // Parse from the exported metrics, as an operator would see them.
    for (const auto& f : metrics.Collect()) {
      if (f.name != "model_audit_registry_reloads_total") continue;
      for (const auto& m : f.metric) {
        if (m.label[0].value == "failure") return static_cast<std::uint64_t>(m.counter.value);
      }
    }
    return 0;
  }
  ma::metrics::AuditMetrics metrics;
  ma::audit::RegistryHolder holder;
  ma::audit::RegistryLoader loader;
};

ma::audit::RegistryLoader::Options FileOptions(const std::string& file, const std::string& state = "") {
  ma::audit::RegistryLoader::Options o;
  o.file = file;
  o.state_dir = state;
  o.http.max_body_bytes = 1u << 20;
  return o;
}

ma::audit::RegistryLoader::Options UrlOptions(const std::string& url, const std::string& state = "") {
  ma::audit::RegistryLoader::Options o;
  o.url = url;
  o.state_dir = state;
  o.http.connect_timeout = std::chrono::milliseconds(500);
  o.http.total_timeout = std::chrono::milliseconds(700);
  o.http.max_body_bytes = 64 * 1024;
  return o;
}

}  // namespace

TEST_CASE("URL faults keep the last good snapshot and are counted", "[registry][reload]") {
  RegistryServer srv;
  srv.Set(200, Registry(10));
  Harness h(UrlOptions(srv.Url()));
  REQUIRE(h.loader.LoadNow() == "");
  REQUIRE(h.Models() == 10);
  const std::string good = h.Digest();

  auto expect_rejected = [&](const char* what, const std::string& error_part) {
    INFO(what);
    const std::uint64_t before = h.Failures();
    const std::string err = h.loader.LoadNow();
    CHECK_THAT(err, Catch::Contains(error_part));
    CHECK(h.Failures() == before + 1);
    CHECK(h.Digest() == good);
    CHECK(h.Models() == 10);
    CHECK(h.metrics.Registry().last_error == err);
  };
  SECTION("HTTP 500") {
    srv.Set(500, "boom");
    expect_rejected("500", "HTTP 500");
  }
  SECTION("a stall past the timeout") {
    srv.Set(200, Registry(12), std::chrono::milliseconds(1500));
    const auto start = std::chrono::steady_clock::now();
    expect_rejected("stall", "no complete answer within 700 ms");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1400));
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the server is still asleep
  }
  SECTION("a body over the size limit") {
    srv.Set(200, Registry(5000));
    expect_rejected("huge", "larger than 65536 bytes");
  }
  SECTION("truncated JSON") {
    const std::string doc = OpenAiList({"a-1", "b-2", "c-3", "d-4", "e-5", "f-6", "g-7", "h-8", "i-9", "j-10"});
    srv.Set(200, doc.substr(0, doc.size() / 2));
    expect_rejected("truncated", "cannot parse registry");
  }
  SECTION("an empty list") {
    srv.Set(200, OpenAiList({}));
    expect_rejected("empty", "registry is empty while the snapshot in force has 10 models");
  }
  SECTION("a 60% shrink, unless the operator allows it") {
    srv.Set(200, Registry(4));
    expect_rejected("shrink", "shrinks from 10 to 4 models");
    CHECK(h.loader.LoadNow(/*allow_shrink=*/true) == "");
    CHECK(h.Models() == 4);
  }
  SECTION("a 40% shrink is accepted") {
    srv.Set(200, Registry(6));
    CHECK(h.loader.LoadNow() == "");
    CHECK(h.Models() == 6);
  }
  SECTION("connection refused") {
    ma::audit::RegistryLoader::Options o = UrlOptions("http://127.0.0.1:1/v1/models");
    Harness dead(o);
    CHECK_THAT(dead.loader.LoadNow(), Catch::Contains("connect failed"));
    CHECK(dead.Models() == 0);
    CHECK(dead.Failures() == 1);
  }
  // Whatever the fault, once it clears the new snapshot is in force.
  srv.Set(200, OpenAiList({"qwen3_next_80b_optimized", "qwen3_next_72b_cloud", "llama3_70b_local",
                           "m-4", "m-5", "m-6", "m-7", "m-8", "m-9", "m-10", "m-11"}));
  CHECK(h.loader.LoadNow() == "");
  CHECK(h.Models() == 11);
  CHECK(h.holder.Get()->snapshot().format() == ma::registry::Format::kOpenAiList);
  CHECK(h.metrics.Registry().last_error.empty());
}

TEST_CASE("an unchanged URL answers 304 to If-None-Match and nothing is swapped", "[registry][reload]") {
  RegistryServer srv;
  srv.Set(200, Registry(3));
  srv.b.etag = "\"v1\"";
  TempDir dir;
  const std::string token = dir.File("token", "s3cret-token\n");
  auto o = UrlOptions(srv.Url());
  o.bearer_token_file = token;
  Harness h(o);
  REQUIRE(h.loader.LoadNow() == "");
  const auto first = h.holder.Get();
  CHECK(srv.b.last_authorization == "Bearer s3cret-token");
  REQUIRE(h.loader.LoadNow() == "");
  CHECK(srv.b.last_if_none_match == "\"v1\"");
  CHECK(h.holder.Get() == first);  // same object: no rebuild, no swap
  CHECK(h.Failures() == 0);
}

TEST_CASE("file faults keep the last good snapshot and are counted", "[registry][reload]") {
  TempDir dir;
  const std::string file = dir.File("registry.yaml", Registry(8));
  Harness h(FileOptions(file));
  REQUIRE(h.loader.LoadNow() == "");
  const std::string good = h.Digest();
  auto expect_rejected = [&](const std::string& content, const std::string& error_part) {
    INFO(error_part);
    dir.File("registry.yaml", content);
    const std::uint64_t before = h.Failures();
    CHECK_THAT(h.loader.LoadNow(), Catch::Contains(error_part));
    CHECK(h.Failures() == before + 1);
    CHECK(h.Digest() == good);
  };
  SECTION("truncated") {
    const std::string full = Registry(8);
    expect_rejected(full.substr(0, full.size() - 9) + "\n  - [", "cannot parse registry");
  }
  SECTION("empty") { expect_rejected("", "registry document is empty"); }
  SECTION("a non-atomic rewrite caught half way") {
    const std::string full = Registry(9);
    expect_rejected(full.substr(0, 20), "");
    CHECK(h.Failures() >= 1);
  }
  SECTION("billion laughs") {
    // Anchors under `metadata` (accepted, never walked); `models` aliases the top.
    std::string bomb = "metadata:\n a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'j'; ++c) {
      std::string prev(1, static_cast<char>(c - 1));
      bomb += " " + std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
              prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
              ", *" + prev + "]\n";
    }
    bomb += "models: *j\n";
    const auto start = std::chrono::steady_clock::now();
    expect_rejected(bomb, "");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  }
  SECTION("a 600-deep document") {
    expect_rejected("models: " + std::string(600, '[') + std::string(600, ']') + "\n", "");
  }
  SECTION("a 1 GB file") {
    dir.File("registry.yaml", "");
    REQUIRE(::truncate(file.c_str(), 1LL << 30) == 0);
    const std::uint64_t before = h.Failures();
    const auto start = std::chrono::steady_clock::now();
    CHECK_THAT(h.loader.LoadNow(), Catch::Contains("over the limit"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    CHECK(h.Failures() == before + 1);
    CHECK(h.Digest() == good);
  }
  SECTION("missing") {
    fs::remove(file);
    CHECK_THAT(h.loader.LoadNow(), Catch::Contains("cannot open"));
    CHECK(h.Digest() == good);
  }
  dir.File("registry.yaml", Registry(9));
  CHECK(h.loader.LoadNow() == "");
  CHECK(h.Models() == 9);
}

TEST_CASE("the file is picked up on change, including a symlink swap", "[registry][reload]") {
  TempDir dir;
  // The Kubernetes ConfigMap layout: registry.yaml -> ..data/registry.yaml,
  // ..data -> ..v1; an update swaps the ..data symlink atomically.
  fs::create_directory(dir.path + "/..v1");
  fs::create_directory(dir.path + "/..v2");
  dir.File("..v1/registry.yaml", Registry(3));
  dir.File("..v2/registry.yaml", Registry(4));
  fs::create_directory_symlink("..v1", dir.path + "/..data");
  fs::create_symlink("..data/registry.yaml", dir.path + "/registry.yaml");
  auto o = FileOptions(dir.path + "/registry.yaml");
  o.refresh_interval = std::chrono::milliseconds(1000);
  Harness h(o);
  REQUIRE(h.loader.LoadNow() == "");
  REQUIRE(h.Models() == 3);
  h.loader.Start();
  fs::create_directory_symlink("..v2", dir.path + "/..data_tmp");
  fs::rename(dir.path + "/..data_tmp", dir.path + "/..data");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (h.Models() != 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(h.Models() == 4);
  // And Trigger() (SIGHUP) reloads without waiting for the interval.
  dir.File("..v2/registry.yaml", Registry(5));
  h.loader.Trigger();
  const auto deadline2 = std::chrono::steady_clock::now() + std::chrono::milliseconds(900);
  while (h.Models() != 5 && std::chrono::steady_clock::now() < deadline2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(h.Models() == 5);
  h.loader.Stop();
}

TEST_CASE("the last good snapshot survives a restart with the source down", "[registry][reload]") {
  TempDir state;
  std::string digest;
  {
    RegistryServer srv;
    srv.Set(200, Registry(7));
    const std::string url = srv.Url();
    Harness h(UrlOptions(url, state.path));
    REQUIRE(h.loader.LoadNow() == "");
    digest = h.Digest();
    REQUIRE(fs::exists(state.path + "/registry.last-good"));
    // A later bad document does not overwrite the persisted good one.
    srv.Set(200, "models: [");
    CHECK(h.loader.LoadNow() != "");

    // "Restart": a new loader for the same URL, with the server now failing.
    srv.Set(503, "down");
    Harness restarted(UrlOptions(url, state.path));
    CHECK(restarted.loader.LoadNow() != "");
    REQUIRE(restarted.loader.LoadPersisted());
    CHECK(restarted.Digest() == digest);
    CHECK(restarted.Models() == 7);
    CHECK(restarted.metrics.Registry().persisted);
    // The source comes back with the same document: no longer degraded.
    srv.Set(200, Registry(7));
    CHECK(restarted.loader.LoadNow() == "");
    CHECK_FALSE(restarted.metrics.Registry().persisted);
  }
  SECTION("a persisted snapshot of another source is not used") {
    Harness other(UrlOptions("http://127.0.0.1:1/other", state.path));
    CHECK(other.loader.LoadNow() != "");
    CHECK_FALSE(other.loader.LoadPersisted());
    CHECK(other.Models() == 0);
  }
}
