#pragma once
// State one batch scan shares across its inputs: the auditor every message
// goes through, the list of malformed inputs kept for the report, the span of
// message timestamps seen, progress and the stop flag. Not thread-safe: the
// scan runs its inputs one after another on one thread.

#include <atomic>
#include <cstdint>
#include <vector>

#include "audit/auditor.h"
#include "report/report.h"
#include "scan/progress.h"

namespace model_auditor::scan {

struct Session {
  audit::Auditor& auditor;
  const std::atomic<bool>& stop;
  Progress& progress;
  std::size_t max_malformed = 20;
  std::vector<report::InputError> malformed;
  std::uint64_t malformed_total = 0;
  std::int64_t first_ms = 0;  // earliest message timestamp seen (0: none)
  std::int64_t last_ms = 0;

  void Observe(std::int64_t ms) {
    if (ms <= 0) return;
    if (first_ms == 0 || ms < first_ms) first_ms = ms;
    if (ms > last_ms) last_ms = ms;
  }
  void Malformed(report::InputError e) {
    ++malformed_total;
    if (malformed.size() < max_malformed) malformed.push_back(std::move(e));
  }
};

}  // namespace model_auditor::scan
