#pragma once
// Keeps the registry snapshot in force up to date: loads the registry file at
// start, then on change (polled stat identity) and on demand (SIGHUP). A load
// that fails to read, parse or validate, or that would replace a non-empty
// registry with an empty one, is rejected: the last good snapshot stays in
// force, and the failure shows in metrics and logs. Loading, validation and
// index building run on the loader's own thread, never on the consumer's.

#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/registry_holder.h"
#include "classify/classifier.h"
#include "metrics/audit_metrics.h"
#include "registry/naming.h"

namespace model_auditor::audit {

/// A fully built registry: snapshot, index and naming lint.
struct LoadedRegistry {
  std::shared_ptr<const classify::NameIndex> index;
  std::vector<registry::NamingViolation> violations;
};

/// Loads, validates, indexes and lints a registry file. Throws LoadError.
LoadedRegistry LoadRegistry(const std::string& file, const classify::MatchOptions& match,
                            const registry::NamingPolicy& naming);

/// The registry facts that metrics and reports show for a loaded registry.
metrics::RegistryStatus DescribeRegistry(const LoadedRegistry& loaded);

/// Background reloader. The class is thread-safe.
class RegistryLoader {
 public:
  struct Options {
    std::string file;
    std::chrono::milliseconds refresh_interval{30'000};
    classify::MatchOptions match;
    registry::NamingPolicy naming;
  };
  RegistryLoader(Options options, RegistryHolder& holder, metrics::AuditMetrics& metrics);
  ~RegistryLoader();

  /// Loads now (even if the file looks unchanged). Returns true when the load
  /// succeeded; on failure the previous snapshot, if any, stays in force.
  bool LoadNow();
  /// Starts the polling thread.
  void Start();
  /// Asks the polling thread for a forced reload (async-signal-unsafe: call it
  /// from a normal thread, e.g. the signal-handling thread).
  void Trigger();
  void Stop();

 private:
  struct FileIdentity {
    bool ok = false;
    struct timespec mtime {};
    off_t size = 0;
    ino_t ino = 0;
    dev_t dev = 0;
    bool operator==(const FileIdentity& o) const {
      return ok == o.ok && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
             size == o.size && ino == o.ino && dev == o.dev;
    }
  };
  FileIdentity Identify() const;
  void Run();

  Options options_;
  RegistryHolder& holder_;
  metrics::AuditMetrics& metrics_;
  std::mutex load_mu_;  // one load at a time
  FileIdentity last_identity_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool triggered_ = false;
  std::thread thread_;
};

}  // namespace model_auditor::audit
