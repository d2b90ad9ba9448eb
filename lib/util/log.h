#pragma once
// Logging set-up: spdlog to stderr in logfmt or JSON, as Prometheus exporters
// do (--log.level, --log.format). Messages are written "text key=value ...";
// the formatter turns the leading text into `msg` and the pairs into fields.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace model_auditor::util {

/// Configures the default spdlog logger. Throws LoadError on an unknown level
/// or format. Levels: debug, info, warn, error. Formats: logfmt, json.
void SetupLogging(const std::string& level, const std::string& format);

/// Splits "text k1=v1 k2=v two" into msg and fields (exposed for tests).
struct LogFields {
  std::string msg;
  std::vector<std::pair<std::string, std::string>> fields;
};
LogFields SplitLogMessage(std::string_view text);

}  // namespace model_auditor::util
