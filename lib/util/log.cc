#include "util/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "util/error.h"
#include "util/json.h"
#include "util/text.h"

namespace model_auditor::util {
namespace {

bool IsKeyChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'; }

// Position of the next " key=" at or after `from`, or npos.
std::size_t NextField(std::string_view s, std::size_t from) {
  for (std::size_t i = from; i < s.size(); ++i) {
    if (s[i] != ' ') continue;
    std::size_t j = i + 1;
    while (j < s.size() && IsKeyChar(s[j])) ++j;
    if (j > i + 1 && j < s.size() && s[j] == '=') return i;
  }
  return std::string_view::npos;
}

std::string_view LevelName(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err:
    case spdlog::level::critical: return "error";
    default: return "info";
  }
}

void AppendLogfmtValue(std::string& out, std::string_view v) {
  const bool quote = v.empty() || v.find_first_of(" \"=\t\n") != std::string_view::npos;
  if (!quote) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
}

class Formatter final : public spdlog::formatter {
 public:
  explicit Formatter(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    const LogFields f = SplitLogMessage(std::string_view(msg.payload.data(), msg.payload.size()));
    std::string out;
    if (json_) {
      JsonWriter w;
      w.BeginObject();
      w.Key("ts").String(FormatRfc3339(ms));
      w.Key("level").String(LevelName(msg.level));
      w.Key("msg").String(f.msg);
      for (const auto& [k, v] : f.fields) w.Key(k).String(v);
      w.EndObject();
      out = w.Take();
    } else {
      out = "ts=" + FormatRfc3339(ms) + " level=" + std::string(LevelName(msg.level)) + " msg=";
      AppendLogfmtValue(out, f.msg);
      for (const auto& [k, v] : f.fields) {
        out += " " + k + "=";
        AppendLogfmtValue(out, v);
      }
    }
    out.push_back('\n');
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<Formatter>(json_); }

 private:
  bool json_;
};

}  // namespace

LogFields SplitLogMessage(std::string_view text) {
  LogFields out;
  std::size_t pos = NextField(text, 0);
  out.msg = std::string(text.substr(0, pos));
  while (pos != std::string_view::npos) {
    const std::size_t key_start = pos + 1;
    const std::size_t eq = text.find('=', key_start);
    const std::size_t next = NextField(text, eq + 1);
    std::string value(text.substr(eq + 1, next == std::string_view::npos ? std::string_view::npos : next - eq - 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    out.fields.emplace_back(std::string(text.substr(key_start, eq - key_start)), std::move(value));
    pos = next;
  }
  return out;
}

void SetupLogging(const std::string& level, const std::string& format) {
  spdlog::level::level_enum lvl;
  if (level == "debug") lvl = spdlog::level::debug;
  else if (level == "info") lvl = spdlog::level::info;
  else if (level == "warn") lvl = spdlog::level::warn;
  else if (level == "error") lvl = spdlog::level::err;
  else throw LoadError("--log.level: unknown level '" + level + "' (expected debug, info, warn or error)");
  bool json;
  if (format == "logfmt") json = false;
  else if (format == "json") json = true;
  else throw LoadError("--log.format: unknown format '" + format + "' (expected logfmt or json)");
  auto logger = spdlog::stderr_logger_mt("model-auditor");
  logger->set_formatter(std::make_unique<Formatter>(json));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace model_auditor::util
