#pragma once
// The web module maps HTTP paths to the auditor's views: /metrics, the landing
// page, /api/v1/report and the health endpoints. It owns no state; it reads
// AuditMetrics and the callbacks it is given.

#include <prometheus/collectable.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/server.h"
#include "metrics/audit_metrics.h"
#include "report/report.h"

namespace model_auditor::web {

/// What the handler serves.
struct Endpoints {
  const metrics::AuditMetrics* audit = nullptr;
  /// Everything exported on the telemetry path, in order.
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  std::string telemetry_path = "/metrics";
  std::size_t series_cap = 1000;
  report::PageInfo page;
  /// Readiness: "" when ready, else the reason (503 body).
  std::function<std::string()> not_ready_reason;
  /// Liveness: "" when healthy, else the reason (503 body).
  std::function<std::string()> not_healthy_reason;
  /// POST /-/reload[?allow_shrink=true]: reloads the registry now (on the
  /// caller's thread, bounded by the fetch timeouts); returns "" or the error.
  std::function<std::string(bool allow_shrink)> reload;
};

/// Serializes `collectables` in the Prometheus text format 0.0.4.
std::string RenderMetrics(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);
/// The text exposition format of `families` (what prometheus-cpp's
/// TextSerializer writes, numbers in their shortest round-trip form).
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

/// Builds the request handler. The handler is thread-safe if the callbacks are.
http::Handler MakeHandler(Endpoints endpoints);

}  // namespace model_auditor::web
