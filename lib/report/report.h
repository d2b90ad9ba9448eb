#pragma once
// The report module owns the audit report: the same findings as /metrics, but
// grouped into families (normalized name, decorations stripped) so a dozen
// spellings of one phantom model read as one finding. Rendered as JSON
// (/api/v1/report, `scan`), HTML (the landing page) and Markdown (`scan`).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "classify/verdict.h"
#include "metrics/audit_metrics.h"

namespace model_auditor::report {

struct NameRow {
  std::string model_name;
  classify::Verdict verdict = classify::Verdict::kUnknown;
  std::string suggestion;
  std::uint64_t messages = 0;
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::vector<std::string> topics;
  /// Tracked beyond the series cap: `messages` may over-count by `error`.
  bool approximate = false;
  std::uint64_t error = 0;
};

struct FamilyRow {
  std::string normalized;
  std::uint64_t messages = 0;
  std::vector<NameRow> names;  // heaviest first
};

/// The whole audit at one instant.
struct Report {
  std::int64_t generated_at_ms = 0;
  metrics::RegistryStatus registry;
  std::uint64_t total_messages = 0;
  std::array<std::uint64_t, classify::kVerdictCount> by_verdict{};
  std::vector<FamilyRow> families;  // heaviest first
  std::uint64_t overflow_messages = 0;
  std::size_t series_cap = 0;
  // Batch scans only: the audit window (message timestamps) and sources.
  std::int64_t window_from_ms = 0;
  std::int64_t window_to_ms = 0;
  std::vector<std::string> sources;
};

/// Builds the report from the live counters (safe while they change).
Report BuildReport(const metrics::AuditMetrics& metrics, std::size_t series_cap);

/// The SPEC's /api/v1/report JSON document.
std::string ToJson(const Report& report);

/// Facts about the running daemon shown on the landing page.
struct PageInfo {
  std::string version;
  std::string librdkafka_version;
  std::string telemetry_path = "/metrics";
  bool ready = false;
  std::string kafka_state;  // e.g. "joined group model-auditor (3 partitions)"
};

/// The landing page: plain HTML + CSS, no JavaScript; every name escaped.
std::string ToHtml(const Report& report, const PageInfo& info);

}  // namespace model_auditor::report
