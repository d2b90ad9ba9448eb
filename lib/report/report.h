#pragma once
// The report module owns the audit report: the same findings as /metrics, but
// grouped into families (normalized name, decorations stripped) so a dozen
// spellings of one phantom model read as one finding. Rendered as JSON
// (/api/v1/report, `scan`), HTML (the landing page) and Markdown (`scan`).

#include <array>
#include <cstdint>
#include <optional>
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

/// One input of a batch scan: a Kafka topic or an NDJSON call-log file.
struct ScanInput {
  std::string name;            // topic, or file path ("-" = stdin)
  std::string kind;            // "kafka" or "file"
  std::string detail;          // e.g. "3 partitions, 1200 offsets" or "gzip"
  std::uint64_t messages = 0;  // audited (each counts under one verdict)
  std::uint64_t bytes = 0;     // message values / decompressed text read
  std::uint64_t blank = 0;     // files: empty lines, not messages
  std::uint64_t outside_window = 0;  // files: timestamp outside --from/--to, or none while a window is set
  std::uint64_t untimed = 0;   // files: audited lines without a usable timestamp
  std::string error;           // why reading stopped early ("" = read to the end)
};

/// A malformed line or message of a batch scan, so the reader can find it.
struct InputError {
  std::string source;
  std::uint64_t line = 0;       // files: 1-based line number (0 for Kafka)
  std::int32_t partition = -1;  // Kafka only
  std::int64_t offset = -1;     // Kafka only
  std::string reason;           // a malformed reason: invalid_json, not_string, ...
};

/// What only a batch scan knows.
struct ScanInfo {
  bool complete = true;  // false: interrupted or an input failed part-way
  std::vector<ScanInput> inputs;
  std::vector<InputError> malformed;  // the first ones, in input order
  std::uint64_t malformed_total = 0;
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
  std::optional<ScanInfo> scan;
};

/// Builds the report from the live counters (safe while they change).
Report BuildReport(const metrics::AuditMetrics& metrics, std::size_t series_cap);

/// The SPEC's /api/v1/report JSON document.
std::string ToJson(const Report& report);

/// The report as Markdown for people (`scan --format=markdown`): a summary
/// that says what to do, then totals, findings by family, bad input, registry.
std::string ToMarkdown(const Report& report);

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
