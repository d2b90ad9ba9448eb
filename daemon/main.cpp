// model-auditor: audits the model names that inference traffic uses against
// the model registry, live from Kafka, and exports the findings to Prometheus.
//
// This file parses flags, handles signals, wires the modules and maps errors
// to exit codes; everything else lives in lib/.

#include <CLI/CLI.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "audit/auditor.h"
#include "audit/registry_holder.h"
#include "audit/registry_loader.h"
#include "config/config.h"
#include "demo/demo.h"
#include "http/server.h"
#include "kafka/consumer.h"
#include "metrics/audit_metrics.h"
#include "metrics/process_collector.h"
#include "registry/http_fetch.h"
#include "scan/scan.h"
#include "util/error.h"
#include "util/log.h"
#include "util/systemd.h"
#include "util/text.h"
#include "util/version.h"
#include "web/basic_auth.h"
#include "web/routes.h"
#include "web/web_config.h"

namespace ma = model_auditor;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

struct Flags {
  std::string config_file = "/etc/model-auditor/config.yaml";
  bool config_check = false;
  std::string listen_address;  // empty: from the config (default 127.0.0.1:9847)
  std::string telemetry_path;  // empty: from the config (default /metrics)
  std::string web_config_file;  // empty: plain HTTP, no authentication
  std::string log_level = "info";
  std::string log_format = "logfmt";
  int demo_rate = 200;
  ma::scan::Options scan;
  std::string registry_file;  // scan: overrides registry.file
};

ma::registry::NamingPolicy Policy(const ma::config::Config& c) {
  return {c.naming.pattern, c.naming.forbidden_tokens};
}

ma::audit::RegistryLoader::Options LoaderOptions(const ma::config::Config& cfg) {
  ma::audit::RegistryLoader::Options o;
  o.file = cfg.registry.file;
  o.url = cfg.registry.url;
  o.refresh_interval = cfg.registry.refresh_interval;
  o.http.connect_timeout = cfg.registry.connect_timeout;
  o.http.total_timeout = cfg.registry.timeout;
  o.http.max_body_bytes = cfg.registry.max_bytes;
  o.http.ca_file = cfg.registry.ca_file;
  o.bearer_token_file = cfg.registry.bearer_token_file;
  o.state_dir = cfg.registry.state_dir;
  if (o.state_dir.empty()) {
    // systemd's StateDirectory= exports this.
    if (const char* sd = std::getenv("STATE_DIRECTORY"); sd && *sd) o.state_dir = sd;
  }
  o.max_shrink = cfg.registry.max_shrink;
  o.match = cfg.audit.match;
  o.naming = Policy(cfg);
  return o;
}

void RequireRegistrySource(const ma::config::Config& cfg) {
  if (cfg.registry.file.empty() && cfg.registry.url.empty()) {
    throw ma::LoadError(cfg.path + ": registry.file or registry.url is required");
  }
}

// Validates the config and the registry it names; prints naming violations.
int CheckConfig(const ma::config::Config& cfg) {
  RequireRegistrySource(cfg);
  ma::audit::LoadedRegistry loaded;
  if (!cfg.registry.file.empty()) {
    loaded = ma::audit::LoadRegistry(cfg.registry.file, cfg.audit.match, Policy(cfg));
  } else {
    const auto o = LoaderOptions(cfg);
    auto http = o.http;
    const auto fetched = ma::registry::HttpFetch(cfg.registry.url, http);
    loaded = ma::audit::BuildRegistry(fetched.body, cfg.registry.url, cfg.audit.match, Policy(cfg));
  }
  const auto& snap = loaded.index->snapshot();
  std::cout << cfg.path << ": config OK\n"
            << snap.source() << ": registry OK (" << snap.models().size() << " models, "
            << ma::registry::FormatName(snap.format()) << " format)\n";
  for (const auto& v : loaded.violations) {
    std::cout << snap.source() << ": naming policy: " << v.message << "\n";
  }
  if (!loaded.violations.empty()) {
    std::cout << loaded.violations.size() << " naming policy warning(s); they never reject traffic\n";
  }
  return kExitOk;
}

// Blocks SIGTERM/SIGINT/SIGHUP in every thread; one thread takes them with
// sigwait(), so handlers never run async-signal-unsafe code.
sigset_t BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int RunDaemon(ma::config::Config cfg, const Flags& flags, const ma::web::WebConfigFile& web_config,
              ma::demo::Demo* demo, sigset_t signals) {
  if (!flags.listen_address.empty()) cfg.web.listen_address = flags.listen_address;
  if (!flags.telemetry_path.empty()) cfg.web.telemetry_path = flags.telemetry_path;
  RequireRegistrySource(cfg);

  const std::string rdk_version = ma::kafka::LibrdkafkaVersion();
  auto audit = std::make_shared<ma::metrics::AuditMetrics>(ma::metrics::AuditMetrics::Options{
      cfg.audit.max_unregistered_series, cfg.audit.alert_window, rdk_version});
  ma::audit::RegistryHolder holder;
  ma::audit::RegistryLoader loader(LoaderOptions(cfg), holder, *audit);
  // A failure is logged and counted; then the persisted last good snapshot, if
  // any, is used; with neither we stay not-ready and keep retrying.
  if (!loader.LoadNow().empty()) loader.LoadPersisted();
  loader.Start();

  ma::audit::Auditor auditor(cfg, *audit, holder);
  ma::kafka::Consumer consumer(cfg, auditor, *audit);

  ma::web::Endpoints ep;
  ep.audit = audit.get();
  ep.collectables = {audit, std::make_shared<ma::metrics::ProcessCollector>()};
  ep.telemetry_path = cfg.web.telemetry_path;
  ep.series_cap = cfg.audit.max_unregistered_series;
  ep.page.version = ma::kVersion;
  ep.page.librdkafka_version = rdk_version;
  ep.page.telemetry_path = cfg.web.telemetry_path;
  ep.page.kafka_state = "brokers " + cfg.kafka.brokers + ", group " + cfg.kafka.group_id;
  ep.not_ready_reason = [&holder, audit]() -> std::string {
    if (!holder.Get()) return "no registry snapshot loaded";
    if (!audit->group_joined()) return "consumer has not joined its group yet";
    return "";
  };
  const auto stall_limit = std::chrono::seconds(60);
  ep.not_healthy_reason = [&consumer, stall_limit]() -> std::string {
    const auto last = consumer.last_loop();
    if (last.time_since_epoch().count() == 0) return "";  // still starting
    const auto idle = std::chrono::steady_clock::now() - last;
    if (idle > stall_limit) {
      return "poll loop stalled for " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(idle).count()) + "s";
    }
    return "";
  };
  ep.reload = [&loader](bool allow_shrink) -> std::string { return loader.LoadNow(allow_shrink); };
  ma::http::ServerOptions web_opts;
  web_opts.listen_address = cfg.web.listen_address;
  web_opts.max_connections = cfg.web.max_connections;
  web_opts.tls = web_config.tls;
  ma::http::Handler handler = ma::web::MakeHandler(std::move(ep));
  if (!web_config.basic_auth_users.empty()) {
    handler = ma::web::WithBasicAuth(
        std::make_shared<ma::web::BasicAuth>(web_config.basic_auth_users), std::move(handler));
  }
  ma::http::Server server(web_opts, std::move(handler));
  server.Start();
  // Counts only: user names and hashes stay out of the logs.
  spdlog::info("model-auditor {} listening address={} telemetry_path={} config={} tls={} "
               "basic_auth_users={}",
               ma::kVersion, server.BoundAddress(), cfg.web.telemetry_path, cfg.path,
               web_config.tls ? "on" : "off", web_config.basic_auth_users.size());
  if (demo) {
    std::fprintf(stdout,
                 "\n  model-auditor demo is running: open %s://%s/ (metrics at "
                 "%s://%s%s)\n  Press Ctrl-C to stop.\n\n",
                 web_config.tls ? "https" : "http", server.BoundAddress().c_str(),
                 web_config.tls ? "https" : "http", server.BoundAddress().c_str(),
                 cfg.web.telemetry_path.c_str());
    std::fflush(stdout);
  }

  std::atomic<bool> stop{false};
  std::thread signal_thread([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        spdlog::info("SIGHUP: reloading the registry");
        loader.Trigger();
        continue;
      }
      spdlog::info("{}: finishing the batch, committing and exiting",
                   sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal");
      stop.store(true);
      return;
    }
  });

  // systemd: READY=1 once the listener is up and a registry is loaded;
  // WATCHDOG=1 only from the poll loop, so a stuck consumer gets restarted.
  bool notified_ready = false;
  const auto watchdog = ma::util::SdWatchdogInterval();
  auto last_ping = std::chrono::steady_clock::now();
  int exit_code = kExitOk;
  try {
    consumer.Run(stop, [&] {
      if (!notified_ready && holder.Get()) {
        ma::util::SdNotify("READY=1");
        notified_ready = true;
      }
      if (watchdog) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ping >= *watchdog / 2) {
          ma::util::SdNotify("WATCHDOG=1");
          last_ping = now;
        }
      }
    });
  } catch (const std::exception& e) {
    spdlog::error("consumer failed: {}", e.what());
    exit_code = kExitRuntime;
  }
  ma::util::SdNotify("STOPPING=1");
  if (!stop.load()) {
    stop.store(true);
    // SIGTERM is blocked in every thread; this only wakes sigwait() in the
    // signal thread, which then returns.
    pthread_kill(signal_thread.native_handle(), SIGTERM);  // NOLINT(bugprone-bad-signal-to-kill-thread)
  }
  signal_thread.join();
  if (demo) demo->Stop();
  server.Stop();
  loader.Stop();
  spdlog::info("model-auditor stopped messages={}", consumer.messages());
  return exit_code;
}

// `scan` is a foreground command: the first SIGINT/SIGTERM ends the scan and
// still writes the (incomplete) report; a second one exits at once.
int RunScan(const ma::config::Config& cfg, const Flags& flags, sigset_t signals) {
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    while (!done.load()) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0 || done.load()) continue;
      if (sig == SIGHUP) continue;
      if (stop.exchange(true)) std::_Exit(130);
      spdlog::warn(
          "{}: stopping the scan; the report will be marked incomplete (again to quit now)",
          sig == SIGTERM ? "SIGTERM" : "SIGINT");
    }
  });
  struct Joiner {
    std::thread& t;
    std::atomic<bool>& done;
    ~Joiner() {
      done.store(true);
      pthread_kill(t.native_handle(), SIGHUP);
      t.join();
    }
  } joiner{signal_thread, done};
  return ma::scan::Run(cfg, flags.scan, stop);
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists (librdkafka, HTTP, demo producer), so that every
  // thread inherits the mask and only the signal thread sees these signals.
  const sigset_t signals = BlockSignals();
  Flags flags;
  CLI::App app{
      "model-auditor: audits the model names that inference traffic really uses against the "
      "model registry, live from Kafka, and exports counters and an unknown-model alert metric "
      "for Prometheus.",
      "model-auditor"};
  app.fallthrough();  // global flags may follow the subcommand too
  app.set_version_flag("--version", std::string("model-auditor ") + ma::kVersion +
                                        " (librdkafka " + ma::kafka::LibrdkafkaVersion() + ")");
  app.add_option("--config.file", flags.config_file, "Path to the YAML configuration file")
      ->capture_default_str();
  app.add_flag("--config.check", flags.config_check,
               "Validate the config and the registry, print naming-policy warnings, and exit "
               "(0: valid, 2: errors)");
  app.add_option("--web.listen-address", flags.listen_address,
                 "Address to serve HTTP on, host:port (default from config: 127.0.0.1:9847; port "
                 "0 picks a free one)");
  app.add_option("--web.config.file", flags.web_config_file,
                 "Path to a web config file (exporter-toolkit format) enabling TLS "
                 "(tls_server_config: cert_file, key_file, client_ca_file, client_auth_type, "
                 "min_version TLS12|TLS13; files re-read when they change) and basic auth "
                 "(basic_auth_users: user: bcrypt hash) on every endpoint. Default: plain HTTP, "
                 "no auth. See README 'Security'");
  app.add_option("--web.telemetry-path", flags.telemetry_path,
                 "Path under which to expose metrics (default from config: /metrics)");
  app.add_option("--log.level", flags.log_level, "Log level: debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--log.format", flags.log_format, "Log format: logfmt or json")
      ->capture_default_str();
  CLI::App* demo_cmd = app.add_subcommand(
      "demo",
      "Run a live demo: an in-process mock Kafka cluster with realistic traffic (the phantom "
      "Qwen3-Next-80B-Local among it) feeding the ordinary consumer path. Default config: "
      "config/demo.yaml");
  demo_cmd->add_option("--rate", flags.demo_rate, "Messages per second to produce")
      ->capture_default_str();
  ma::scan::Options& so = flags.scan;
  CLI::App* scan_cmd = app.add_subcommand(
      "scan",
      "Batch audit: run the same classification over Kafka topics between two points in time "
      "(partitions assigned directly, nothing committed) or over NDJSON call-log files / stdin "
      "(plain, gzip or zstd), then write the report and exit. Exit codes: 0 done, 1 an input "
      "failed part-way or interrupted (report marked incomplete), 2 invalid flags, config, "
      "registry, missing input or topic, or a window whose start was deleted; 3 findings of the "
      "--fail-on class.");
  scan_cmd->add_option("--input,-i", so.inputs,
                       "NDJSON call-log file(s), one JSON object per line; gzip/zstd detected from "
                       "the content; - reads stdin. Repeatable. Without --input, Kafka is scanned");
  scan_cmd->add_option("--topic", so.topics,
                       "Kafka topic to scan (repeatable; default: kafka.topics or "
                       "kafka.topic_regex of the config)");
  scan_cmd->add_option("--from", so.from,
                       "Window start, inclusive: RFC 3339 (2026-01-01T00:00:00Z), a date "
                       "(2026-01-01 = midnight UTC), now, or now-<duration> (now-24h). Kafka: the "
                       "first offset whose timestamp is >= it; files: needs --time-field. Default: "
                       "everything retained");
  scan_cmd->add_option("--to", so.to,
                       "Window end, exclusive (same syntax). Kafka default: the high watermark "
                       "read when the scan starts");
  scan_cmd->add_option("--from-offset", so.from_offset,
                       "Kafka: start offset for every partition, inclusive (instead of --from)");
  scan_cmd->add_option("--to-offset", so.to_offset,
                       "Kafka: end offset for every partition, exclusive (instead of --to)");
  scan_cmd->add_option("--time-field", so.time_field,
                       "Files: JSON pointer of a line's timestamp (RFC 3339 string or epoch "
                       "seconds/milliseconds); empty: none")
      ->capture_default_str();
  scan_cmd->add_option("--input-topic", so.input_topic,
                       "Files: the topic name lines are reported under and whose extraction rule "
                       "applies (default: each file's basename)");
  scan_cmd->add_option("--format", so.format, "Report format: json or markdown")
      ->check(CLI::IsMember({"json", "markdown"}))
      ->capture_default_str();
  scan_cmd->add_option("--output,-o", so.output, "Write the report to this file (default: stdout)");
  scan_cmd->add_option("--fail-on", so.fail_on,
                       "Exit 3 when findings of this class exist: unknown (verdict unknown), "
                       "unregistered (inactive, variant, typo or unknown), never")
      ->check(CLI::IsMember({"never", "unknown", "unregistered"}))
      ->capture_default_str();
  scan_cmd->add_option("--registry", flags.registry_file,
                       "Registry file; overrides registry.file (and makes --config.file optional)");
  scan_cmd->add_option("--now", so.now,
                       "Report time, RFC 3339 (generated_at and registry loaded_at), for "
                       "reproducible reports; also the `now` of --from/--to");
  scan_cmd->add_option("--progress", so.progress,
                       "Progress on stderr: auto (when stderr is a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  scan_cmd->add_option("--max-malformed", so.max_malformed,
                       "Malformed lines/messages listed (with line number or offset) in the report")
      ->capture_default_str();
  app.footer(
      "Exit codes: 0 success, 1 runtime failure, 2 invalid flags, config or registry (scan: 3 "
      "findings of the --fail-on class).\n"
      "Signals: SIGTERM/SIGINT finish the batch, commit offsets and exit 0; SIGHUP reloads the "
      "registry.\nDocs: README.md and SPEC.md in the source tree.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitConfig;
  }
  const bool is_demo = demo_cmd->parsed();
  if (is_demo && app.get_option("--config.file")->count() == 0) flags.config_file = "config/demo.yaml";

  try {
    ma::util::SetupLogging(flags.log_level, flags.log_format);
    const bool is_scan = scan_cmd->parsed();
    const bool config_given = app.get_option("--config.file")->count() > 0;
    ma::config::Config cfg = is_scan && !config_given && !flags.registry_file.empty()
                                 ? ma::config::ParseConfig("{}", "")
                                 : ma::config::LoadConfigFile(flags.config_file);
    if (!flags.registry_file.empty()) cfg.registry.file = flags.registry_file;
    ma::web::WebConfigFile web_config;
    if (!flags.web_config_file.empty()) {
      web_config = ma::web::LoadWebConfigFile(flags.web_config_file);
    }
    if (flags.config_check) {
      if (!flags.web_config_file.empty()) {
        std::cout << flags.web_config_file << ": web config OK\n";
      }
      return CheckConfig(cfg);
    }
    if (is_scan) return RunScan(cfg, flags, signals);
    if (!is_demo) return RunDaemon(std::move(cfg), flags, web_config, nullptr, signals);

    ma::demo::Demo demo({cfg.kafka.topics.empty() ? "model-inference-requests" : cfg.kafka.topics[0],
                         3, flags.demo_rate});
    demo.Start();
    cfg.kafka.brokers = demo.bootstrap();
    return RunDaemon(std::move(cfg), flags, web_config, &demo, signals);
  } catch (const ma::LoadError& e) {
    std::fprintf(stderr, "model-auditor: %s\n", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "model-auditor: %s\n", e.what());
    return kExitRuntime;
  }
}
