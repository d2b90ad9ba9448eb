#pragma once

#include <optional>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace model_auditor::metrics {

/// Exports the standard `process_*` metrics of the current process from /proc, named and typed
/// as the Go and Python clients do. Thread-safe: Collect() reads files and shares no state.
class ProcessCollector : public prometheus::Collectable {
 public:
  /// `proc_root` exists for tests, which point it at a fake tree holding `stat`, `self/stat`
  /// and `self/fd/`.
  explicit ProcessCollector(std::string proc_root = "/proc");

  /// Families that cannot be read right now are left out; never throws for I/O or parse errors.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string proc_root_;
  long ticks_per_second_;
  long page_size_;
  // Boot time never changes while we run, so /proc/stat (large on big machines) is read once.
  std::optional<double> boot_time_seconds_;
};

}  // namespace model_auditor::metrics
