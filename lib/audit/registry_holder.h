#pragma once
// The registry snapshot in force, shared between the loader (writer) and the
// consumer threads (readers). Readers check a generation counter per batch and
// take a new snapshot only when it changed; the snapshot itself is immutable.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "classify/classifier.h"

namespace model_auditor::audit {

/// Holds the current NameIndex. The class is thread-safe.
class RegistryHolder {
 public:
  std::shared_ptr<const classify::NameIndex> Get() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  /// Incremented on every Set; cheap to poll from the hot loop.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  void Set(std::shared_ptr<const classify::NameIndex> index) {
    {
      std::lock_guard lock(mu_);
      current_ = std::move(index);
    }
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const classify::NameIndex> current_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace model_auditor::audit
