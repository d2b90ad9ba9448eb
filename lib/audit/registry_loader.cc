#include "audit/registry_loader.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.h"
#include "util/text.h"

namespace model_auditor::audit {
namespace {

constexpr const char* kPersistedDoc = "registry.last-good";
constexpr const char* kPersistedSource = "registry.last-good.source";

std::string ReadSmallFile(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LoadError(path + ": cannot open: " + std::strerror(errno));
  std::string out;
  out.resize(limit + 1);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(in.gcount()));
  if (out.size() > limit) throw LoadError(path + ": larger than " + std::to_string(limit) + " bytes");
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// write(2) all of `data` to a new file, fsync it, rename it over `path`, and
// fsync the directory: after a crash there is either the old or the new file.
void WriteAtomically(const std::string& dir, const std::string& name, const std::string& data) {
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw LoadError(tmp + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      throw LoadError(tmp + ": " + std::strerror(e));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw LoadError(tmp + ": " + std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw LoadError(path + ": " + std::strerror(errno));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

LoadedRegistry BuildRegistry(std::string_view text, const std::string& source,
                             const classify::MatchOptions& match,
                             const registry::NamingPolicy& naming) {
  auto snapshot = registry::ParseSnapshot(text, source);
  LoadedRegistry out;
  out.violations = registry::LintNames(*snapshot, naming);
  out.index = std::make_shared<const classify::NameIndex>(std::move(snapshot), match);
  return out;
}

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
  if (options_.file.empty() || ::stat(options_.file.c_str(), &st) != 0) return id;
  id.ok = true;
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  id.size = st.st_size;
  id.ino = st.st_ino;
  id.dev = st.st_dev;
  return id;
}

bool RegistryLoader::Fetch(std::string& text) {
  if (!options_.url.empty()) {
    registry::HttpFetchOptions http = options_.http;
    if (!options_.bearer_token_file.empty()) {
      // Re-read per fetch: rotated tokens are picked up without a restart.
      http.bearer_token = Trim(ReadSmallFile(options_.bearer_token_file, std::size_t{64} * 1024));
    }
    http.if_none_match = etag_;
    registry::HttpFetchResult r = registry::HttpFetch(options_.url, http);
    if (r.not_modified) return false;
    etag_ = r.etag;
    text = std::move(r.body);
    return true;
  }
  last_identity_ = Identify();
  struct stat st {};
  if (::stat(options_.file.c_str(), &st) == 0 &&
      static_cast<std::uint64_t>(st.st_size) > options_.http.max_body_bytes) {
    throw LoadError(options_.file + ": registry file is " + std::to_string(st.st_size) +
                    " bytes, over the limit of " + std::to_string(options_.http.max_body_bytes));
  }
  text = ReadSmallFile(options_.file, options_.http.max_body_bytes);
  return true;
}

void RegistryLoader::Install(const LoadedRegistry& loaded, const std::string& text, bool allow_shrink,
                             bool persisted) {
  const registry::Snapshot& snap = loaded.index->snapshot();
  const auto current = holder_.Get();
  if (current) {
    const std::size_t before = current->snapshot().models().size();
    const std::size_t after = snap.models().size();
    if (before > 0 && after == 0) {
      throw LoadError(snap.source() + ": registry is empty while the snapshot in force has " +
                      std::to_string(before) + " models");
    }
    if (!allow_shrink && before > 0 && after < before &&
        static_cast<double>(before - after) / static_cast<double>(before) > options_.max_shrink) {
      throw LoadError(snap.source() + ": registry shrinks from " + std::to_string(before) + " to " +
                      std::to_string(after) + " models, more than max_shrink " +
                      std::to_string(static_cast<int>(options_.max_shrink * 100)) +
                      "%; to accept it, POST /-/reload?allow_shrink=true");
    }
    if (current->snapshot().digest() == snap.digest() && !persisted) {
      // Same document: nothing to swap. If it was in force from the state
      // directory, the source is back: say so.
      metrics::RegistryStatus st = metrics_.Registry();
      if (st.persisted) {
        st.persisted = false;
        metrics_.SetRegistry(std::move(st));
        spdlog::info("registry source is back source={} digest={}", Describe(), snap.digest());
        Persist(text);
      }
      return;
    }
  }
  metrics::RegistryStatus status = DescribeRegistry(loaded);
  status.source = Describe();  // the configured source, also for a persisted copy
  status.persisted = persisted;
  // Export 0 for every model known in advance.
  for (const registry::Model& m : snap.models()) metrics_.Model(m.name, m.status);
  for (const auto& v : loaded.violations) spdlog::warn("naming policy: {}", v.message);
  metrics_.SetRegistry(std::move(status));
  holder_.Set(loaded.index);
  spdlog::info("registry in force source={} format={} models={} digest={} index_entries={}{}",
               Describe(), registry::FormatName(snap.format()), snap.models().size(),
               snap.digest(), loaded.index->index_entries(),
               persisted ? " origin=persisted-last-good" : "");
  if (!persisted) Persist(text);
}

void RegistryLoader::Persist(const std::string& text) {
  if (options_.state_dir.empty()) return;
  try {
    WriteAtomically(options_.state_dir, kPersistedDoc, text);
    WriteAtomically(options_.state_dir, kPersistedSource, Describe() + "\n");
  } catch (const std::exception& e) {
    metrics_.CountPersistFailure();
    spdlog::warn("cannot persist the last good registry snapshot dir={} error={}",
                 options_.state_dir, e.what());
  }
}

std::string RegistryLoader::LoadNow(bool allow_shrink) {
  std::lock_guard load_lock(load_mu_);
  try {
    std::string text;
    if (!Fetch(text)) {
      metrics_.RegistryReloadSucceeded();
      spdlog::debug("registry not modified source={}", Describe());
      return "";
    }
    LoadedRegistry loaded = BuildRegistry(text, Describe(), options_.match, options_.naming);
    Install(loaded, text, allow_shrink, false);
    metrics_.RegistryReloadSucceeded();
    return "";
  } catch (const std::exception& e) {
    metrics_.RegistryReloadFailed(e.what());
    spdlog::error("registry load failed, keeping the last good snapshot: {}", e.what());
    return e.what();
  }
}

bool RegistryLoader::LoadPersisted() {
  if (options_.state_dir.empty()) return false;
  std::lock_guard load_lock(load_mu_);
  const std::string doc = options_.state_dir + "/" + kPersistedDoc;
  try {
    const std::string source = Trim(ReadSmallFile(options_.state_dir + "/" + kPersistedSource, 4096));
    if (source != Describe()) {
      spdlog::warn("persisted registry snapshot is of another source persisted={} configured={}",
                   source, Describe());
      return false;
    }
    const std::string text = ReadSmallFile(doc, options_.http.max_body_bytes);
    LoadedRegistry loaded = BuildRegistry(text, doc, options_.match, options_.naming);
    Install(loaded, text, true, true);
    spdlog::warn("registry source unavailable: using the persisted last good snapshot file={}", doc);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("no usable persisted registry snapshot file={} error={}", doc, e.what());
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
    // Without a snapshot in force (or on a persisted one), retry soon.
    const auto current = holder_.Get();
    const bool degraded = !current || metrics_.Registry().persisted;
    const auto wait = degraded ? std::min(options_.refresh_interval, std::chrono::milliseconds(1000))
                               : options_.refresh_interval;
    cv_.wait_for(lock, wait, [this] { return stop_ || triggered_; });
    if (stop_) break;
    const bool forced = triggered_ || degraded;
    triggered_ = false;
    lock.unlock();
    bool changed = true;
    if (!forced && options_.url.empty()) {
      std::lock_guard load_lock(load_mu_);
      changed = !(Identify() == last_identity_);
    }
    if (changed) LoadNow();
    lock.lock();
  }
}

}  // namespace model_auditor::audit
