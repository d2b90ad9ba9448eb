#include "web/routes.h"

#include <prometheus/text_serializer.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <mutex>
#include <sstream>
#include <string_view>

namespace model_auditor::web {

namespace {

// Escapes per the text exposition format: label values escape backslash,
// double quote and line feed; HELP text only backslash and line feed
// (prometheus-cpp 1.0 writes HELP unescaped).
void AppendEscaped(std::string& out, std::string_view s, bool quotes = true) {
  for (const char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        if (quotes) {
          out += "\\\"";
          break;
        }
        [[fallthrough]];
      default: out += c;
    }
  }
}

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    out.append(buf, r.ptr);
  }
}

// Counter, gauge and untyped families (all the daemon exports) written
// straight into one string: prometheus-cpp's ostream-based serializer spent
// most of a 12,000-sample scrape in stream sentries and xsputn.
bool AppendSimpleFamily(std::string& out, const prometheus::MetricFamily& f) {
  const char* type = nullptr;
  switch (f.type) {
    case prometheus::MetricType::Counter: type = "counter"; break;
    case prometheus::MetricType::Gauge: type = "gauge"; break;
    case prometheus::MetricType::Untyped: type = "untyped"; break;
    default: return false;  // summaries, histograms: prometheus-cpp's serializer
  }
  if (!f.help.empty()) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    AppendEscaped(out, f.help, /*quotes=*/false);
    out += '\n';
  }
  out += "# TYPE ";
  out += f.name;
  out += ' ';
  out += type;
  out += '\n';
  for (const prometheus::ClientMetric& m : f.metric) {
    out += f.name;
    if (!m.label.empty()) {
      out += '{';
      bool first = true;
      for (const auto& l : m.label) {
        if (!first) out += ',';
        first = false;
        out += l.name;
        out += "=\"";
        AppendEscaped(out, l.value);
        out += '"';
      }
      out += '}';
    }
    out += ' ';
    AppendDouble(out, f.type == prometheus::MetricType::Counter ? m.counter.value
                      : f.type == prometheus::MetricType::Gauge ? m.gauge.value
                                                                 : m.untyped.value);
    if (m.timestamp_ms != 0) {
      out += ' ';
      out += std::to_string(m.timestamp_ms);
    }
    out += '\n';
  }
  return true;
}

}  // namespace

std::string SerializeText(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  std::size_t samples = 0;
  for (const auto& f : families) samples += f.metric.size();
  out.reserve(samples * 96 + families.size() * 128);
  for (const auto& f : families) {
    if (!AppendSimpleFamily(out, f)) {
      std::ostringstream other;
      prometheus::TextSerializer().Serialize(other, {f});
      out += other.str();
    }
  }
  return out;
}

std::string RenderMetrics(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : collectables) {
    auto f = c->Collect();
    families.insert(families.end(), std::make_move_iterator(f.begin()),
                    std::make_move_iterator(f.end()));
  }
  return SerializeText(families);
}

namespace {

// Scrapes arriving closer together than kMinRenderInterval share one rendering. A scraper every
// few seconds always gets a fresh one; a flood of requests (thousands per second from a
// misbehaving or hostile client) costs one rendering per interval instead of one per request,
// so it cannot take the CPU the consumer needs.
constexpr std::chrono::milliseconds kMinRenderInterval{100};

class MetricsCache {
 public:
  std::string Get(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (!valid_ || now - rendered_at_ >= kMinRenderInterval) {
      body_ = RenderMetrics(collectables);
      rendered_at_ = now;
      valid_ = true;
    }
    return body_;
  }
  // After a state change made through the API (reload), the next scrape must show it.
  void Invalidate() {
    std::lock_guard lock(mutex_);
    valid_ = false;
  }

 private:
  std::mutex mutex_;
  bool valid_ = false;
  std::chrono::steady_clock::time_point rendered_at_;
  std::string body_;
};

}  // namespace

http::Handler MakeHandler(Endpoints ep) {
  auto shared = std::make_shared<Endpoints>(std::move(ep));
  auto cache = std::make_shared<MetricsCache>();
  return [e = std::move(shared),
          cache = std::move(cache)](const http::Request& req) -> http::Response {
    http::Response res;
    const bool read = req.method == "GET" || req.method == "HEAD";
    if (req.path == e->telemetry_path) {
      if (!read) return {405, "text/plain; charset=utf-8", "use GET\n", {{"Allow", "GET, HEAD"}}};
      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
      res.body = cache->Get(e->collectables);
      return res;
    }
    if (req.path == "/-/healthy") {
      const std::string why = e->not_healthy_reason ? e->not_healthy_reason() : "";
      if (!why.empty()) return {503, "text/plain; charset=utf-8", "not healthy: " + why + "\n", {}};
      res.body = "model-auditor is healthy.\n";
      return res;
    }
    if (req.path == "/-/ready") {
      const std::string why = e->not_ready_reason ? e->not_ready_reason() : "";
      if (!why.empty()) return {503, "text/plain; charset=utf-8", "not ready: " + why + "\n", {}};
      res.body = "model-auditor is ready.\n";
      return res;
    }
    if (req.path == "/-/reload") {
      if (req.method != "POST" && req.method != "PUT") {
        return {405, "text/plain; charset=utf-8", "use POST\n", {{"Allow", "POST, PUT"}}};
      }
      const bool allow_shrink = req.query.find("allow_shrink=true") != std::string_view::npos ||
                                req.query.find("allow_shrink=1") != std::string_view::npos;
      const std::string err = e->reload ? e->reload(allow_shrink) : "reload is not available";
      cache->Invalidate();  // counters changed either way
      if (!err.empty()) return {500, "text/plain; charset=utf-8", "reload failed: " + err + "\n", {}};
      res.body = "registry reloaded.\n";
      return res;
    }
    if (req.path == "/api/v1/report") {
      if (!read) return {405, "text/plain; charset=utf-8", "use GET\n", {{"Allow", "GET, HEAD"}}};
      res.content_type = "application/json";
      res.body = report::ToJson(report::BuildReport(*e->audit, e->series_cap));
      return res;
    }
    if (req.path == "/" || req.path == "/index.html") {
      if (!read) return {405, "text/plain; charset=utf-8", "use GET\n", {{"Allow", "GET, HEAD"}}};
      report::PageInfo info = e->page;
      info.ready = !e->not_ready_reason || e->not_ready_reason().empty();
      res.content_type = "text/html; charset=utf-8";
      res.body = report::ToHtml(report::BuildReport(*e->audit, e->series_cap), info);
      return res;
    }
    return {404, "text/plain; charset=utf-8", "not found; try /, " + e->telemetry_path +
                                                  ", /api/v1/report, /-/healthy or /-/ready\n", {}};
  };
}

}  // namespace model_auditor::web
