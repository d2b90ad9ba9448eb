#pragma once
// The config module owns the daemon's YAML configuration: its schema, its
// defaults (which live here, in code, so a minimal config just works) and its
// validation. Every error names the file and line ("auditor.yaml:12: unknown
// key 'brokerz' in kafka"). A Config is immutable once loaded.

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "classify/classifier.h"

namespace model_auditor::config {

/// Where a model name may come from, tried in order; first non-empty wins.
struct NameSource {
  enum class Kind : std::uint8_t { kHeader, kJsonPointer };
  Kind kind = Kind::kHeader;
  std::string key;  // header name, or JSON pointer such as "/model_name"
};

/// The extraction rule for the topics matching a glob.
struct ExtractionRule {
  std::string topics = "*";
  std::vector<NameSource> sources;
};

/// Default sources: header X-Model-Name, then /model_name, then /model.
std::vector<NameSource> DefaultSources();

struct KafkaConfig {
  std::string brokers = "127.0.0.1:9092";
  std::string group_id = "model-auditor";
  std::vector<std::string> topics;  // explicit names; or
  std::string topic_regex;          // e.g. "^model-inference-.*"
  // librdkafka passthrough. Values may hold ${env:NAME} and ${file:/path} references, expanded
  // at load ("$${" is a literal "${"); see README "Security".
  std::map<std::string, std::string> properties;
  // Properties whose value came (partly) from ${env:...}/${file:...}: never logged or echoed.
  std::set<std::string> secret_properties;
  std::chrono::milliseconds commit_interval{5000};
  std::chrono::milliseconds close_timeout{5000};
  std::chrono::milliseconds lag_interval{1000};
};

struct RegistryConfig {
  std::string file;  // path of the registry document; or
  std::string url;   // http(s) URL of a native document or an OpenAI /v1/models list
  std::chrono::milliseconds refresh_interval{30'000};
  std::chrono::milliseconds connect_timeout{3'000};
  std::chrono::milliseconds timeout{10'000};  // whole fetch
  std::size_t max_bytes = 32u << 20;
  std::string ca_file;            // PEM CA bundle for https (default: system CAs)
  std::string bearer_token_file;  // token sent as "Authorization: Bearer ..."
  std::string state_dir;          // last good snapshot is persisted here ("" = $STATE_DIRECTORY or off)
  double max_shrink = 0.5;        // reject a snapshot with more than this fraction fewer models
};

struct AuditConfig {
  std::chrono::milliseconds alert_window{5 * 60 * 1000};
  std::size_t max_unregistered_series = 1000;
  std::size_t verdict_cache_size = 100'000;
  classify::MatchOptions match;
};

struct NamingConfig {
  std::string pattern;                    // regex canonical names must match; empty = none
  std::vector<std::string> forbidden_tokens;  // e.g. Local, Prod, Test
};

struct WebConfig {
  std::string listen_address = "127.0.0.1:9847";
  std::string telemetry_path = "/metrics";
  std::size_t max_connections = 64;
};

/// The whole configuration.
struct Config {
  std::string path;  // file it came from ("" for defaults)
  KafkaConfig kafka;
  std::vector<ExtractionRule> extraction;  // first matching glob wins; "*" fallback added
  RegistryConfig registry;
  AuditConfig audit;
  NamingConfig naming;
  WebConfig web;

  /// The rule for `topic` (the first whose glob matches; defaults otherwise).
  const ExtractionRule& RuleFor(const std::string& topic) const;
};

/// Parses YAML text. `path` names it in errors; relative paths inside (the
/// registry file) are resolved against the directory of `path`. Throws LoadError.
Config ParseConfig(const std::string& text, const std::string& path);

/// Reads and parses a config file. Throws LoadError.
Config LoadConfigFile(const std::string& path);

}  // namespace model_auditor::config
