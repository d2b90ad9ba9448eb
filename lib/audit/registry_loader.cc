#include "audit/registry_loader.h"

#include <spdlog/spdlog.h>

#include "util/error.h"
#include "util/text.h"

namespace model_auditor::audit {

LoadedRegistry LoadRegistry(const std::string& file, const classify::MatchOptions& match,
                            const registry::NamingPolicy& naming) {
  auto snapshot = registry::LoadSnapshotFile(file);
  LoadedRegistry out;
  out.violations = registry::LintNames(*snapshot, naming);
  out.index = std::make_shared<const classify::NameIndex>(std::move(snapshot), match);
  return out;
}

metrics::RegistryStatus DescribeRegistry(const LoadedRegistry& loaded) {
  const registry::Snapshot& snap = loaded.index->snapshot();
  metrics::RegistryStatus status;
  status.loaded = true;
  status.source = snap.source();
  status.digest = snap.digest();
  status.format = std::string(registry::FormatName(snap.format()));
  status.loaded_at_ms = snap.loaded_at_ms();
  status.models = snap.models().size();
  for (registry::Status s : registry::kAllStatuses) {
    status.by_status[static_cast<std::size_t>(s)] = snap.CountByStatus(s);
  }
  for (const auto& v : loaded.violations) status.naming_violations.emplace_back(v.model, v.rule);
  return status;
}

RegistryLoader::RegistryLoader(Options options, RegistryHolder& holder,
                               metrics::AuditMetrics& metrics)
    : options_(std::move(options)), holder_(holder), metrics_(metrics) {}

RegistryLoader::~RegistryLoader() { Stop(); }

RegistryLoader::FileIdentity RegistryLoader::Identify() const {
  FileIdentity id;
  struct stat st {};
  if (::stat(options_.file.c_str(), &st) != 0) return id;
  id.ok = true;
  id.mtime = st.st_mtim;
  id.size = st.st_size;
  id.ino = st.st_ino;
  id.dev = st.st_dev;
  return id;
}

bool RegistryLoader::LoadNow() {
  std::lock_guard load_lock(load_mu_);
  const FileIdentity identity = Identify();
  try {
    LoadedRegistry loaded = LoadRegistry(options_.file, options_.match, options_.naming);
    const auto current = holder_.Get();
    const registry::Snapshot& snap = loaded.index->snapshot();
    if (current && !current->snapshot().models().empty() && snap.models().empty()) {
      throw LoadError(options_.file +
                      ": registry is empty while the snapshot in force has " +
                      std::to_string(current->snapshot().models().size()) +
                      " models; keeping the last good snapshot");
    }
    metrics::RegistryStatus status = DescribeRegistry(loaded);
    // Export 0 for every model known in advance.
    for (const registry::Model& m : snap.models()) metrics_.Model(m.name, m.status);
    for (const auto& v : loaded.violations) spdlog::warn("naming policy: {}", v.message);
    metrics_.SetRegistry(std::move(status));
    metrics_.RegistryReloadSucceeded();
    holder_.Set(loaded.index);
    last_identity_ = identity;
    spdlog::info("registry loaded source={} format={} models={} digest={} index_entries={}",
                 snap.source(), registry::FormatName(snap.format()), snap.models().size(),
                 snap.digest(), loaded.index->index_entries());
    return true;
  } catch (const std::exception& e) {
    last_identity_ = identity;  // do not retry the same broken file every poll
    metrics_.RegistryReloadFailed(e.what());
    spdlog::error("registry load failed, keeping the last good snapshot: {}", e.what());
    return false;
  }
}

void RegistryLoader::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void RegistryLoader::Trigger() {
  {
    std::lock_guard lock(mu_);
    triggered_ = true;
  }
  cv_.notify_all();
}

void RegistryLoader::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RegistryLoader::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    // Without a snapshot in force, retry soon: the consumer waits for one.
    const auto wait = holder_.Get() ? options_.refresh_interval
                                    : std::min(options_.refresh_interval,
                                               std::chrono::milliseconds(1000));
    cv_.wait_for(lock, wait, [this] { return stop_ || triggered_; });
    if (stop_) break;
    const bool forced = triggered_ || !holder_.Get();
    triggered_ = false;
    lock.unlock();
    if (forced || !(Identify() == last_identity_)) LoadNow();
    lock.lock();
  }
}

}  // namespace model_auditor::audit
