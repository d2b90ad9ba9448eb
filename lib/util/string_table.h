#pragma once
// An insert-only hash table from strings to values, for the per-message
// verdict cache. std::unordered_map cost ~18 ns a lookup there: a modulo by a
// prime per lookup and a node chase; this one is open addressing (linear
// probing) over a power-of-two array of (hash, node) slots, at most half full,
// with the nodes in a deque so that references stay valid until Clear().

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace model_auditor::util {

/// A fast, unseeded hash for short strings (8 bytes a step, multiply-xorshift
/// mixing). Callers bound their tables, so crafted collisions cost CPU only.
inline std::uint64_t HashShortString(std::string_view s) {
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  std::uint64_t tail = 0;
  if (i < s.size()) std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

template <typename V>
class StringTable {
 public:
  /// The value for `key`, or nullptr.
  V* Find(std::string_view key) {
    if (slots_.empty()) return nullptr;
    const std::uint64_t h = HashShortString(key);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (!s.node) return nullptr;
      if (s.hash == h && s.node->first == key) return &s.node->second;
    }
  }

  /// Adds `key` (which must be absent) and returns its value.
  V& Insert(std::string_view key, V value) {
    if ((nodes_.size() + 1) * 2 > slots_.size()) Grow();
    Node& n = nodes_.emplace_back(std::string(key), std::move(value));
    Place(HashShortString(key), &n);
    return n.second;
  }

  /// Removes everything; invalidates all references.
  void Clear() {
    nodes_.clear();
    slots_.assign(kInitialSlots, Slot{});
  }

  std::size_t size() const { return nodes_.size(); }

 private:
  using Node = std::pair<std::string, V>;
  struct Slot {
    std::uint64_t hash = 0;
    Node* node = nullptr;
  };
  static constexpr std::size_t kInitialSlots = 64;

  void Place(std::uint64_t h, Node* n) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = h & mask;
    while (slots_[i].node) i = (i + 1) & mask;
    slots_[i] = Slot{h, n};
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? kInitialSlots : old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.node) Place(s.hash, s.node);
    }
  }

  std::vector<Slot> slots_;
  std::deque<Node> nodes_;
};

}  // namespace model_auditor::util
