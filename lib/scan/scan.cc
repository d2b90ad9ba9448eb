#include "scan/scan.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "audit/auditor.h"
#include "audit/registry_holder.h"
#include "audit/registry_loader.h"
#include "metrics/audit_metrics.h"
#include "report/report.h"
#include "scan/file_scan.h"
#include "scan/kafka_scan.h"
#include "scan/progress.h"
#include "scan/session.h"
#include "scan/timestamp.h"
#include "util/error.h"
#include "util/text.h"

namespace model_auditor::scan {
namespace {

std::optional<std::int64_t> Bound(const std::string& flag, const std::string& value,
                                  std::int64_t now_ms) {
  if (value.empty()) return std::nullopt;
  auto t = ParseTimeBound(value, now_ms);
  if (!t) {
    throw LoadError(flag + " '" + value +
                    "': expected an RFC 3339 time (2026-01-31T00:00:00Z), a date (2026-01-31), "
                    "`now` or `now-<duration>` (now-24h)");
  }
  return t;
}

void CheckInput(const std::string& path) {
  if (path == "-") return;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw LoadError(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw LoadError(path + ": is a directory, not a call-log file");
  if (::access(path.c_str(), R_OK) != 0)
    throw LoadError(path + ": cannot open: " + std::strerror(errno));
}

void Write(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fflush(stdout) != 0) {
      throw std::runtime_error(std::string("cannot write the report to stdout: ") +
                               std::strerror(errno));
    }
    return;
  }
  // Written beside and renamed: a reader (or a cron job's next step) never
  // sees half a report.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(path + ": cannot write the report: " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = std::strerror(errno);
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot write the report: " + e);
  }
}

}  // namespace

int Run(const config::Config& config, const Options& o, const std::atomic<bool>& stop) {
  // Everything that can be wrong with the request is checked before reading.
  if (o.format != "json" && o.format != "markdown") {
    throw LoadError("--format '" + o.format + "': expected json or markdown");
  }
  if (o.fail_on != "never" && o.fail_on != "unknown" && o.fail_on != "unregistered") {
    throw LoadError("--fail-on '" + o.fail_on + "': expected never, unknown or unregistered");
  }
  if (o.progress != "auto" && o.progress != "always" && o.progress != "never") {
    throw LoadError("--progress '" + o.progress + "': expected auto, always or never");
  }
  if (!o.time_field.empty() && o.time_field[0] != '/') {
    throw LoadError("--time-field '" + o.time_field +
                    "': expected a JSON pointer such as /timestamp");
  }
  const std::int64_t clock_ms = util::NowUnixMs();
  std::optional<std::int64_t> now_ms;
  if (!o.now.empty()) {
    now_ms = ParseRfc3339(o.now);
    if (!now_ms) throw LoadError("--now '" + o.now + "': expected an RFC 3339 time");
  }
  const auto from = Bound("--from", o.from, now_ms.value_or(clock_ms));
  const auto to = Bound("--to", o.to, now_ms.value_or(clock_ms));
  if (from && o.from_offset) throw LoadError("--from and --from-offset exclude each other");
  if (to && o.to_offset) throw LoadError("--to and --to-offset exclude each other");
  if (from && to && *from >= *to) {
    throw LoadError("--from (" + util::FormatRfc3339(*from) + ") must be before --to (" +
                    util::FormatRfc3339(*to) + ")");
  }
  if (o.from_offset && *o.from_offset < 0) throw LoadError("--from-offset must be >= 0");
  if (o.to_offset && *o.to_offset < 0) throw LoadError("--to-offset must be >= 0");
  if (o.from_offset && o.to_offset && *o.from_offset >= *o.to_offset) {
    throw LoadError("--from-offset must be below --to-offset");
  }
  const bool use_kafka = o.inputs.empty() || !o.topics.empty();
  if (!use_kafka && (o.from_offset || o.to_offset)) {
    throw LoadError("--from-offset/--to-offset apply to Kafka topics, not to --input files");
  }
  if ((from || to) && !o.inputs.empty() && o.time_field.empty()) {
    throw LoadError("--from/--to with --input need --time-field (the lines' timestamp)");
  }
  if (std::count(o.inputs.begin(), o.inputs.end(), std::string("-")) > 1) {
    throw LoadError("--input - (stdin) can be given only once");
  }
  for (const std::string& in : o.inputs) CheckInput(in);
  if (!o.output.empty() && o.output != "-") {
    // Fail now, not after an hour of scanning.
    const std::string parent = std::filesystem::path(o.output).parent_path().string();
    if (::access(parent.empty() ? "." : parent.c_str(), W_OK) != 0) {
      throw LoadError("--output " + o.output + ": cannot write there: " + std::strerror(errno));
    }
  }
  if (config.registry.file.empty()) throw LoadError(config.path + ": registry.file is required");

  const audit::LoadedRegistry loaded =
      audit::LoadRegistry(config.registry.file, config.audit.match,
                          {config.naming.pattern, config.naming.forbidden_tokens});
  metrics::AuditMetrics metrics(
      {config.audit.max_unregistered_series, config.audit.alert_window, ""});
  metrics::RegistryStatus status = audit::DescribeRegistry(loaded);
  if (now_ms) status.loaded_at_ms = *now_ms;
  metrics.SetRegistry(std::move(status));
  audit::RegistryHolder holder;
  holder.Set(loaded.index);
  audit::Auditor auditor(config, metrics, holder);
  auditor.RefreshRegistry();

  std::optional<KafkaScan> kafka;
  if (use_kafka) {
    KafkaScanOptions k;
    k.topics = o.topics;
    if (k.topics.empty()) {
      k.topics = config.kafka.topics;
      k.topic_regex = config.kafka.topic_regex;
      if (!k.topic_regex.empty()) k.topics.clear();
    }
    k.from_ms = from;
    k.to_ms = to;
    k.from_offset = o.from_offset;
    k.to_offset = o.to_offset;
    k.timeout = o.kafka_timeout;
    kafka.emplace(config, std::move(k));
    kafka->Plan();
    spdlog::info("scan kafka brokers={} topics={} messages_in_range={} group_id={} commits=never",
                 config.kafka.brokers, kafka->topic_count(), kafka->planned_messages(),
                 kafka->group_id());
  }

  const bool show_progress =
      o.progress == "always" || (o.progress == "auto" && ::isatty(STDERR_FILENO) == 1);
  Progress progress(show_progress);
  Session session{auditor, stop, progress, o.max_malformed, {}, 0, 0, 0};
  report::ScanInfo info;
  std::vector<std::string> sources;
  if (kafka) {
    for (report::ScanInput& in : kafka->Run(session)) {
      sources.push_back("kafka:" + in.name);
      info.inputs.push_back(std::move(in));
    }
  }
  FileScanOptions fo;
  fo.time_pointer = o.time_field;
  fo.from_ms = from;
  fo.to_ms = to;
  fo.label = o.input_topic;
  for (const std::string& path : o.inputs) {
    if (stop.load()) break;
    report::ScanInput in = ScanFile(path, fo, session);
    sources.push_back("file:" + (path == "-" ? std::string("stdin") : path));
    info.inputs.push_back(std::move(in));
  }
  info.complete =
      !stop.load() && std::all_of(info.inputs.begin(), info.inputs.end(),
                                  [](const report::ScanInput& in) { return in.error.empty(); });
  if (stop.load() && info.inputs.size() < o.inputs.size() + (kafka ? 1 : 0)) info.complete = false;
  info.malformed = std::move(session.malformed);
  info.malformed_total = session.malformed_total;

  report::Report r = report::BuildReport(metrics, config.audit.max_unregistered_series);
  r.generated_at_ms = now_ms.value_or(clock_ms);
  r.window_from_ms = from.value_or(session.first_ms);
  r.window_to_ms = to.value_or(session.last_ms);
  r.sources = std::move(sources);
  r.scan = std::move(info);
  Write(o.output, o.format == "markdown" ? report::ToMarkdown(r) : report::ToJson(r));

  for (const auto& in : r.scan->inputs) {
    if (!in.error.empty()) spdlog::error("scan of {} stopped early: {}", in.name, in.error);
  }
  if (!r.scan->complete) return kExitFailure;
  const auto count = [&](classify::Verdict v) { return r.by_verdict[static_cast<std::size_t>(v)]; };
  const std::uint64_t unknown = count(classify::Verdict::kUnknown);
  const std::uint64_t unregistered = unknown + count(classify::Verdict::kTypo) +
                                     count(classify::Verdict::kVariant) +
                                     count(classify::Verdict::kInactive);
  if ((o.fail_on == "unknown" && unknown > 0) ||
      (o.fail_on == "unregistered" && unregistered > 0)) {
    return kExitFindings;
  }
  return kExitOk;
}

}  // namespace model_auditor::scan
