#pragma once
// Audits NDJSON call logs (one JSON object per line; plain, gzip or zstd; a
// file or stdin) with the extraction rules of the config: JSON pointers apply,
// header sources yield nothing. A bad line is counted as malformed and its
// number kept; it never stops the scan.

#include <cstdint>
#include <optional>
#include <string>

#include "report/report.h"
#include "scan/session.h"

namespace model_auditor::scan {

struct FileScanOptions {
  /// JSON pointer of a line's timestamp (RFC 3339 string, or epoch seconds /
  /// milliseconds as a number); "" = lines carry no timestamp.
  std::string time_pointer;
  /// Audit window [from, to): with either bound set, lines without a usable
  /// timestamp or outside it are skipped (counted, not audited).
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;
  /// Topic label for the report and the extraction rule; "" = file basename.
  std::string label;
};

/// The label a file gets when none is given: its basename ("stdin" for "-").
std::string FileLabel(const std::string& path);

/// Reads one input to its end (or until session.stop). Throws LoadError when
/// it cannot be opened; a read or decompression error part-way ends the input
/// and is returned in ScanInput::error (what was read stays counted).
report::ScanInput ScanFile(const std::string& path, const FileScanOptions& options,
                           Session& session);

}  // namespace model_auditor::scan
