#pragma once
// Keeps the registry snapshot in force up to date and guarded. The source is a
// file (re-read when its identity — mtime, size, inode — changes, which covers
// editors' renames and Kubernetes ConfigMap symlink swaps) or an http(s) URL
// (polled with If-None-Match). SIGHUP and POST /-/reload force a reload.
//
// A candidate snapshot is rejected, keeping the last good one in force, when
// fetching, parsing or validation fails, when it is empty while the snapshot in
// force is not, or when it has more than `max_shrink` fewer models (unless the
// operator allows that one reload). The last good document is persisted
// atomically in the state directory; at start-up, when the source is
// unavailable, the persisted copy is used. With neither, nothing is in force and
// the daemon stays not-ready rather than calling every name unknown.
//
// Fetching, parsing and index building run on the loader's own thread (or the
// caller of LoadNow), never on the consumer's poll thread.

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
#include "registry/http_fetch.h"
#include "registry/naming.h"

namespace model_auditor::audit {

/// A fully built registry: snapshot, index and naming lint.
struct LoadedRegistry {
  std::shared_ptr<const classify::NameIndex> index;
  std::vector<registry::NamingViolation> violations;
};

/// Parses, validates, indexes and lints a registry document. Throws LoadError.
LoadedRegistry BuildRegistry(std::string_view text, const std::string& source,
                             const classify::MatchOptions& match,
                             const registry::NamingPolicy& naming);

/// Loads, validates, indexes and lints a registry file. Throws LoadError.
LoadedRegistry LoadRegistry(const std::string& file, const classify::MatchOptions& match,
                            const registry::NamingPolicy& naming);

/// The registry facts that metrics and reports show for a loaded registry.
metrics::RegistryStatus DescribeRegistry(const LoadedRegistry& loaded);

/// Background reloader. The class is thread-safe.
class RegistryLoader {
 public:
  struct Options {
    std::string file;  // one of file or url
    std::string url;
    std::chrono::milliseconds refresh_interval{30'000};
    registry::HttpFetchOptions http;  // timeouts, size cap, CA file
    std::string bearer_token_file;
    std::string state_dir;  // "" = no persistence
    double max_shrink = 0.5;
    classify::MatchOptions match;
    registry::NamingPolicy naming;
  };
  RegistryLoader(Options options, RegistryHolder& holder, metrics::AuditMetrics& metrics);
  ~RegistryLoader();

  /// Fetches and loads now. Returns "" on success (including "not modified"),
  /// else the error; on failure the previous snapshot stays in force.
  /// `allow_shrink` lets this one load shrink the registry beyond max_shrink.
  std::string LoadNow(bool allow_shrink = false);
  /// At start-up, after LoadNow failed: puts the persisted last good snapshot in
  /// force, if there is one. Returns true if it did.
  bool LoadPersisted();
  /// Starts the polling thread.
  void Start();
  /// Asks the polling thread for a forced reload.
  void Trigger();
  void Stop();
  std::string Describe() const { return options_.url.empty() ? options_.file : options_.url; }

 private:
  struct FileIdentity {
    bool ok = false;
    std::int64_t mtime_ns = 0;
    off_t size = 0;
    ino_t ino = 0;
    dev_t dev = 0;
    bool operator==(const FileIdentity&) const = default;
  };
  FileIdentity Identify() const;
  /// Fetches the document; returns false for "not modified".
  bool Fetch(std::string& text);
  /// Guards, swaps in, persists. Throws LoadError.
  void Install(const LoadedRegistry& loaded, const std::string& text, bool allow_shrink,
               bool persisted);
  void Persist(const std::string& text);
  void Run();

  Options options_;
  RegistryHolder& holder_;
  metrics::AuditMetrics& metrics_;
  std::mutex load_mu_;  // one load at a time; guards the fields below
  FileIdentity last_identity_;
  std::string etag_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool triggered_ = false;
  std::thread thread_;
};

}  // namespace model_auditor::audit
