#pragma once
// The scan module owns `model-auditor scan`, the batch audit: the live
// daemon's classification (audit::Auditor, same config, same registry) run
// over history — Kafka topics between two points in time, or NDJSON call-log
// files / stdin — ending in the report (JSON or Markdown) and an exit status
// that CI pipelines and cron jobs can act on.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace model_auditor::scan {

/// Exit statuses of `scan` (the daemon's 0/1/2, plus 3 for findings).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // an input failed part-way, or interrupted
inline constexpr int kExitInvalid =
    2;  // bad flags/config/registry, missing input or topic, deleted range
inline constexpr int kExitFindings = 3;  // --fail-on class found

struct Options {
  /// NDJSON inputs ("-" = stdin). With none, Kafka is scanned.
  std::vector<std::string> inputs;
  /// Kafka topics (default: kafka.topics / kafka.topic_regex of the config).
  /// Given together with inputs, both are scanned.
  std::vector<std::string> topics;
  /// Window bounds: RFC 3339, a date, `now` or `now-<duration>`; "" = open.
  /// `from` is inclusive, `to` exclusive.
  std::string from;
  std::string to;
  /// Kafka only, instead of from/to: offsets applied to every partition.
  std::optional<std::int64_t> from_offset;
  std::optional<std::int64_t> to_offset;
  /// Files: JSON pointer of a line's timestamp; "" = none.
  std::string time_field = "/timestamp";
  /// Files: topic label (report, extraction rule); "" = each file's basename.
  std::string input_topic;
  std::string format = "json";     // json | markdown
  std::string fail_on = "never";   // never | unknown | unregistered
  std::string output;              // "" or "-" = stdout
  std::string now;                 // RFC 3339: fixes generated_at (reproducible reports)
  std::string progress = "auto";   // auto (stderr is a terminal) | always | never
  std::size_t max_malformed = 20;  // malformed inputs listed in the report
  std::chrono::milliseconds kafka_timeout{30'000};
};

/// Runs the scan and writes the report; returns an exit status above. Throws
/// LoadError (exit 2) for invalid options, registry, inputs or topics before
/// anything is read, std::runtime_error (exit 1) when Kafka cannot be reached
/// or the report cannot be written. `stop` ends the scan early (SIGINT): the
/// report is still written, marked incomplete, and the status is 1.
int Run(const config::Config& config, const Options& options, const std::atomic<bool>& stop);

}  // namespace model_auditor::scan
