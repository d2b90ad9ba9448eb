#pragma once
// Reading a whole (small, operator-provided) file: configs, web configs,
// secrets referenced by ${file:...}.

#include <string>

namespace model_auditor::util {

/// Reads all of `path` into `out`. Returns false (errno set by the failed
/// open) when it cannot be opened.
bool ReadWholeFile(const std::string& path, std::string& out);

}  // namespace model_auditor::util
