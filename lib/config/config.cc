#include "config/config.h"

#include <librdkafka/rdkafka.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>

#include "util/error.h"
#include "util/file.h"
#include "util/text.h"

namespace model_auditor::config {
namespace {

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  std::string At(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return m.line >= 0 ? path_ + ":" + std::to_string(m.line + 1) : path_;
  }
  [[noreturn]] void Fail(const YAML::Node& n, const std::string& what) const {
    throw LoadError(At(n) + ": " + what);
  }

  // Calls f(key, value) for each entry of mapping `n`, rejecting keys not in `allowed`.
  template <typename F>
  void ForEach(const YAML::Node& n, const std::string& section,
               const std::vector<std::string>& allowed, F&& f) const {
    if (n.IsNull()) return;
    if (!n.IsMap()) Fail(n, "'" + section + "' must be a mapping");
    std::set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) Fail(kv.first, "keys in '" + section + "' must be strings");
      const std::string key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        Fail(kv.first, "unknown key '" + key + "' in " + section + " (expected one of: " + list +
                           ")");
      }
      if (!seen.insert(key).second) Fail(kv.first, "duplicate key '" + key + "' in " + section);
      f(key, kv.second);
    }
  }

  // Expands ${env:NAME} and ${file:PATH} in a property value; "$${" stays a literal "${".
  // Errors name the reference, never the value it would have produced. `expanded` tells the
  // caller that the result holds a secret.
  std::string Expand(const YAML::Node& n, const std::string& what, const std::string& value,
                     bool& expanded) const {
    std::string out;
    expanded = false;
    for (std::size_t i = 0; i < value.size();) {
      if (value.compare(i, 3, "$${") == 0) {
        out += "${";
        i += 3;
        continue;
      }
      if (value.compare(i, 2, "${") != 0) {
        out += value[i++];
        continue;
      }
      const std::size_t close = value.find('}', i);
      if (close == std::string::npos) {
        Fail(n, "'" + what + "': unterminated '${' (write '$${' for a literal)");
      }
      const std::string ref = value.substr(i + 2, close - i - 2);
      if (ref.rfind("env:", 0) == 0) {
        const std::string name = ref.substr(4);
        const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
        if (v == nullptr) Fail(n, "'" + what + "': environment variable '" + name + "' is not set");
        out += v;
      } else if (ref.rfind("file:", 0) == 0) {
        std::filesystem::path file(ref.substr(5));
        if (file.empty()) Fail(n, "'" + what + "': empty path in ${file:}");
        if (file.is_relative() && !path_.empty()) {
          file = (std::filesystem::path(path_).parent_path() / file).lexically_normal();
        }
        std::string content;
        if (!util::ReadWholeFile(file.string(), content)) {
          Fail(n, "'" + what + "': cannot read " + file.string() + ": " + std::strerror(errno));
        }
        // Secret files usually end with a newline that is not part of the secret.
        while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
          content.pop_back();
        }
        out += content;
      } else {
        Fail(n, "'" + what + "': unknown reference '${" + ref.substr(0, ref.find(':')) +
                    ":...}' (use ${env:NAME} or ${file:PATH}; '$${' for a literal)");
      }
      expanded = true;
      i = close + 1;
    }
    return out;
  }

  std::string String(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) Fail(n, "'" + what + "' must be a string");
    return n.Scalar();
  }
  std::string NonEmpty(const YAML::Node& n, const std::string& what) const {
    std::string s = String(n, what);
    if (s.empty()) Fail(n, "'" + what + "' must not be empty");
    return s;
  }
  std::uint64_t Unsigned(const YAML::Node& n, const std::string& what, std::uint64_t min,
                         std::uint64_t max) const {
    const std::string s = String(n, what);
    std::uint64_t v = 0;
    if (s.empty() || s.size() > 19 ||
        s.find_first_not_of("0123456789") != std::string::npos) {
      Fail(n, "'" + what + "' must be a whole number, got '" + s + "'");
    }
    v = std::stoull(s);
    if (v < min || v > max) {
      Fail(n, "'" + what + "' must be between " + std::to_string(min) + " and " +
                  std::to_string(max) + ", got " + s);
    }
    return v;
  }
  std::chrono::milliseconds Duration(const YAML::Node& n, const std::string& what,
                                     std::chrono::milliseconds min) const {
    const std::string s = String(n, what);
    auto d = util::ParseDuration(s);
    if (!d) Fail(n, "'" + what + "' must be a duration like 500ms, 30s, 5m or 1h, got '" + s + "'");
    if (*d < min) Fail(n, "'" + what + "' must be at least " + util::FormatDuration(min));
    return *d;
  }
  std::vector<std::string> StringList(const YAML::Node& n, const std::string& what) const {
    std::vector<std::string> out;
    if (n.IsNull()) return out;
    if (!n.IsSequence()) Fail(n, "'" + what + "' must be a list of strings");
    for (const auto& e : n) out.push_back(NonEmpty(e, what + " entry"));
    return out;
  }
  void CheckRegex(const YAML::Node& n, const std::string& re, const std::string& what) const {
    // ECMAScript forbids a quantifier on a quantifier ("a++": nothing to
    // repeat); libstdc++ accepts it and then backtracks exponentially.
    bool in_class = false;
    bool after_quantifier = false;
    for (std::size_t i = 0; i < re.size(); ++i) {
      const char c = re[i];
      if (c == '\\') {
        ++i;
        after_quantifier = false;
        continue;
      }
      if (in_class) {
        in_class = c != ']';
        continue;
      }
      const bool quantifier = c == '*' || c == '+' || c == '{';
      if (quantifier && after_quantifier) {
        Fail(n, "'" + what + "' is not a valid regular expression: a quantifier follows a quantifier");
      }
      if (c == '[') in_class = true;
      if (c == '{') {
        const std::size_t close = re.find('}', i);
        if (close != std::string::npos) i = close;
      }
      // A single '?' after a quantifier makes it lazy and is itself no quantifier.
      if (c == '?' && after_quantifier) {
        after_quantifier = false;
        if (i + 1 < re.size() && (re[i + 1] == '*' || re[i + 1] == '+' || re[i + 1] == '{' || re[i + 1] == '?')) {
          Fail(n, "'" + what + "' is not a valid regular expression: a quantifier follows a quantifier");
        }
        continue;
      }
      after_quantifier = quantifier || c == '?';
    }
    try {
      std::regex compiled(re, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      Fail(n, "'" + what + "' is not a valid regular expression: " + e.what());
    }
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void ParseKafka(const Reader& r, const YAML::Node& n, KafkaConfig& k) {
  r.ForEach(n, "kafka",
            {"brokers", "group_id", "topics", "topic_regex", "properties", "commit_interval",
             "close_timeout", "lag_interval"},
            [&](const std::string& key, const YAML::Node& v) {
              if (key == "brokers") {
                if (v.IsSequence()) {
                  std::string joined;
                  for (const auto& b : r.StringList(v, "brokers")) {
                    joined += (joined.empty() ? "" : ",") + b;
                  }
                  k.brokers = joined;
                } else {
                  k.brokers = r.NonEmpty(v, "brokers");
                }
              } else if (key == "group_id") {
                k.group_id = r.NonEmpty(v, "group_id");
              } else if (key == "topics") {
                k.topics = r.StringList(v, "topics");
                if (!k.topics.empty() && !k.topic_regex.empty()) {
                  r.Fail(v, "kafka: set either 'topics' or 'topic_regex', not both");
                }
                for (const auto& t : k.topics) {
                  if (t.starts_with("^")) {
                    r.Fail(v, "topic '" + t + "' looks like a regex: use 'topic_regex' for that");
                  }
                }
              } else if (key == "topic_regex") {
                k.topic_regex = r.NonEmpty(v, "topic_regex");
                if (!k.topic_regex.starts_with("^")) {
                  r.Fail(v, "'topic_regex' must start with '^' (librdkafka treats only such "
                            "subscriptions as patterns)");
                }
                r.CheckRegex(v, k.topic_regex, "topic_regex");
                if (!k.topics.empty()) {
                  r.Fail(v, "kafka: set either 'topics' or 'topic_regex', not both");
                }
              } else if (key == "properties") {
                if (v.IsNull()) return;
                if (!v.IsMap()) r.Fail(v, "'properties' must be a mapping of librdkafka properties");
                std::set<std::string> seen;
                for (const auto& p : v) {
                  const std::string name = r.NonEmpty(p.first, "property name");
                  if (!seen.insert(name).second) {
                    r.Fail(p.first, "duplicate key '" + name + "' in kafka.properties");
                  }
                  static const std::set<std::string> kOwned = {
                      "bootstrap.servers", "group.id", "enable.auto.offset.store",
                      "enable.auto.commit", "auto.commit.interval.ms"};
                  if (kOwned.count(name)) {
                    r.Fail(p.first, "property '" + name +
                                        "' is managed by model-auditor (use kafka.brokers, "
                                        "kafka.group_id or kafka.commit_interval)");
                  }
                  bool secret = false;
                  k.properties[name] = r.Expand(p.second, name, r.String(p.second, name), secret);
                  if (secret) k.secret_properties.insert(name);
                  // Ask librdkafka now, so a typo fails at start with its line.
                  rd_kafka_conf_t* scratch = rd_kafka_conf_new();
                  char err[512];
                  const bool ok = rd_kafka_conf_set(scratch, name.c_str(), k.properties[name].c_str(),
                                                    err, sizeof err) == RD_KAFKA_CONF_OK;
                  rd_kafka_conf_destroy(scratch);
                  if (!ok) {
                    // librdkafka quotes invalid values; an expanded one must not be echoed.
                    r.Fail(p.first, "kafka property '" + name + "': " +
                                        (secret ? std::string("invalid value (from a secret "
                                                              "reference, not shown)")
                                                : std::string(err)));
                  }
                }
              } else if (key == "commit_interval") {
                k.commit_interval = r.Duration(v, "commit_interval", std::chrono::milliseconds(100));
              } else if (key == "close_timeout") {
                k.close_timeout = r.Duration(v, "close_timeout", std::chrono::milliseconds(100));
              } else if (key == "lag_interval") {
                k.lag_interval = r.Duration(v, "lag_interval", std::chrono::milliseconds(100));
              }
            });
}

std::vector<NameSource> ParseSources(const Reader& r, const YAML::Node& n) {
  if (!n.IsSequence() || n.size() == 0) {
    r.Fail(n, "'sources' must be a non-empty list of {header: NAME} or {json_pointer: /PATH}");
  }
  std::vector<NameSource> out;
  for (const auto& e : n) {
    NameSource s;
    bool set = false;
    r.ForEach(e, "sources entry", {"header", "json_pointer"},
              [&](const std::string& key, const YAML::Node& v) {
                if (set) r.Fail(v, "a source is either 'header' or 'json_pointer', not both");
                set = true;
                if (key == "header") {
                  s.kind = NameSource::Kind::kHeader;
                  s.key = r.NonEmpty(v, "header");
                } else {
                  s.kind = NameSource::Kind::kJsonPointer;
                  s.key = r.String(v, "json_pointer");
                  if (!s.key.empty() && s.key[0] != '/') {
                    r.Fail(v, "JSON pointer '" + s.key + "' must start with '/' (RFC 6901)");
                  }
                }
              });
    if (!set) r.Fail(e, "empty source: use {header: NAME} or {json_pointer: /PATH}");
    out.push_back(std::move(s));
  }
  return out;
}

void ParseExtraction(const Reader& r, const YAML::Node& n, std::vector<ExtractionRule>& rules) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) r.Fail(n, "'extraction' must be a list of {topics: GLOB, sources: [...]}");
  for (const auto& e : n) {
    ExtractionRule rule;
    bool have_sources = false;
    r.ForEach(e, "extraction rule", {"topics", "sources"},
              [&](const std::string& key, const YAML::Node& v) {
                if (key == "topics") {
                  rule.topics = r.NonEmpty(v, "topics");
                } else {
                  rule.sources = ParseSources(r, v);
                  have_sources = true;
                }
              });
    if (!have_sources) r.Fail(e, "extraction rule without 'sources'");
    rules.push_back(std::move(rule));
  }
}

void ParseAudit(const Reader& r, const YAML::Node& n, AuditConfig& a) {
  r.ForEach(n, "audit",
            {"alert_window", "max_unregistered_series", "verdict_cache_size", "fuzzy_max_distance",
             "decorations"},
            [&](const std::string& key, const YAML::Node& v) {
              if (key == "alert_window") {
                a.alert_window = r.Duration(v, "alert_window", std::chrono::seconds(1));
              } else if (key == "max_unregistered_series") {
                a.max_unregistered_series = r.Unsigned(v, key, 1, 1'000'000);
              } else if (key == "verdict_cache_size") {
                a.verdict_cache_size = r.Unsigned(v, key, 1, 100'000'000);
              } else if (key == "fuzzy_max_distance") {
                a.match.max_distance = static_cast<int>(r.Unsigned(v, key, 0, 2));
              } else if (key == "decorations") {
                a.match.decorations = r.StringList(v, "decorations");
                try {
                  classify::Decorations check(a.match.decorations);
                } catch (const LoadError& e) {
                  r.Fail(v, e.what());
                }
              }
            });
}

void ParseRegistry(const Reader& r, const YAML::Node& n, RegistryConfig& c) {
  r.ForEach(n, "registry",
            {"file", "url", "refresh_interval", "connect_timeout", "timeout", "max_bytes", "ca_file",
             "bearer_token_file", "state_dir", "max_shrink"},
            [&](const std::string& key, const YAML::Node& v) {
              if (key == "file") {
                c.file = r.NonEmpty(v, key);
              } else if (key == "url") {
                c.url = r.NonEmpty(v, key);
                if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0) {
                  r.Fail(v, "'url' must start with http:// or https://");
                }
              } else if (key == "refresh_interval") {
                c.refresh_interval = r.Duration(v, key, std::chrono::seconds(1));
              } else if (key == "connect_timeout") {
                c.connect_timeout = r.Duration(v, key, std::chrono::milliseconds(10));
              } else if (key == "timeout") {
                c.timeout = r.Duration(v, key, std::chrono::milliseconds(10));
              } else if (key == "max_bytes") {
                c.max_bytes = r.Unsigned(v, key, 1024, 256u << 20);
              } else if (key == "ca_file") {
                c.ca_file = r.NonEmpty(v, key);
              } else if (key == "bearer_token_file") {
                c.bearer_token_file = r.NonEmpty(v, key);
              } else if (key == "state_dir") {
                c.state_dir = r.NonEmpty(v, key);
              } else if (key == "max_shrink") {
                const std::string s = r.String(v, key);
                char* end = nullptr;
                const double f = std::strtod(s.c_str(), &end);
                if (s.empty() || *end != '\0' || !(f >= 0.0 && f <= 1.0)) {
                  r.Fail(v, "'max_shrink' must be a fraction between 0 and 1, got '" + s + "'");
                }
                c.max_shrink = f;
              }
            });
  if (!c.file.empty() && !c.url.empty()) r.Fail(n, "registry: set either 'file' or 'url', not both");
}

}  // namespace

std::vector<NameSource> DefaultSources() {
  return {{NameSource::Kind::kHeader, "X-Model-Name"},
          {NameSource::Kind::kJsonPointer, "/model_name"},
          {NameSource::Kind::kJsonPointer, "/model"}};
}

const ExtractionRule& Config::RuleFor(const std::string& topic) const {
  for (const auto& rule : extraction) {
    if (util::GlobMatch(rule.topics, topic)) return rule;
  }
  static const ExtractionRule kDefault{"*", DefaultSources()};
  return kDefault;
}

Config ParseConfig(const std::string& text, const std::string& path) {
  Config cfg;
  cfg.path = path;
  Reader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw LoadError((e.mark.line >= 0 ? path + ":" + std::to_string(e.mark.line + 1) : path) +
                    ": invalid YAML: " + e.msg);
  }
  try {
    if (root && !root.IsNull()) {
      r.ForEach(root, "the config", {"kafka", "extraction", "registry", "audit", "naming", "web"},
                [&](const std::string& key, const YAML::Node& v) {
                  if (key == "kafka") {
                    ParseKafka(r, v, cfg.kafka);
                  } else if (key == "extraction") {
                    ParseExtraction(r, v, cfg.extraction);
                  } else if (key == "registry") {
                    ParseRegistry(r, v, cfg.registry);
                  } else if (key == "audit") {
                    ParseAudit(r, v, cfg.audit);
                  } else if (key == "naming") {
                    r.ForEach(v, "naming", {"pattern", "forbidden_tokens"},
                              [&](const std::string& k2, const YAML::Node& v2) {
                                if (k2 == "pattern") {
                                  cfg.naming.pattern = r.NonEmpty(v2, "pattern");
                                  r.CheckRegex(v2, cfg.naming.pattern, "pattern");
                                } else {
                                  cfg.naming.forbidden_tokens =
                                      r.StringList(v2, "forbidden_tokens");
                                }
                              });
                  } else if (key == "web") {
                    r.ForEach(v, "web", {"listen_address", "telemetry_path", "max_connections"},
                              [&](const std::string& k2, const YAML::Node& v2) {
                                if (k2 == "listen_address") {
                                  cfg.web.listen_address = r.NonEmpty(v2, "listen_address");
                                } else if (k2 == "telemetry_path") {
                                  cfg.web.telemetry_path = r.NonEmpty(v2, "telemetry_path");
                                  if (cfg.web.telemetry_path[0] != '/') {
                                    r.Fail(v2, "'telemetry_path' must start with '/'");
                                  }
                                } else {
                                  cfg.web.max_connections = r.Unsigned(v2, k2, 1, 10'000);
                                }
                              });
                  }
                });
    }
  } catch (const YAML::Exception& e) {
    throw LoadError((e.mark.line >= 0 ? path + ":" + std::to_string(e.mark.line + 1) : path) +
                    ": " + e.msg);
  }
  if (cfg.kafka.topics.empty() && cfg.kafka.topic_regex.empty()) {
    cfg.kafka.topics = {"model-inference-requests"};
  }
  // Paths inside the config are relative to the config file's directory.
  for (std::string* f : {&cfg.registry.file, &cfg.registry.ca_file, &cfg.registry.bearer_token_file,
                         &cfg.registry.state_dir}) {
    if (f->empty() || path.empty()) continue;
    std::filesystem::path p(*f);
    if (p.is_relative()) *f = (std::filesystem::path(path).parent_path() / p).lexically_normal().string();
  }
  return cfg;
}

Config LoadConfigFile(const std::string& path) {
  std::string text;
  if (!util::ReadWholeFile(path, text)) {
    throw LoadError(path + ": cannot open config file: " + std::strerror(errno));
  }
  return ParseConfig(text, path);
}

}  // namespace model_auditor::config
