#pragma once
// The classifier: a pure function of (name, registry index) -> verdict and
// suggestion. No Kafka, no HTTP, no clocks; the whole SPEC "Verdicts" table
// (except `malformed`/`missing`, decided by extraction) lives here.
//
// NameIndex is built once per registry snapshot, off the hot path, and is
// immutable afterwards. It holds the exact table of the snapshot, the table of
// normalized names and aliases (for `variant`) and a deletion-neighbourhood
// index (for `typo`), so a never-seen name is matched without scanning the
// registry.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "classify/normalize.h"
#include "classify/verdict.h"
#include "registry/registry.h"

namespace model_auditor::classify {

/// Tunables of the name matching, from the `audit:` config section.
struct MatchOptions {
  int max_distance = 2;  // fuzzy edit distance cap (also capped at len/5)
  std::vector<std::string> decorations = DefaultDecorations();
};

/// The outcome for one name.
struct Classification {
  Verdict verdict = Verdict::kUnknown;
  /// Registry model the name resolves to (exactly, as variant or as typo), or -1.
  std::int32_t model = -1;
  /// Model whose canonical name is the suggestion, or -1 for none.
  std::int32_t suggestion = -1;
  /// Edit distance of a typo (0 otherwise).
  std::uint8_t distance = 0;
};

/// Registry snapshot plus the lookup structures the classifier needs.
/// Immutable after construction; thread-safe for concurrent readers.
class NameIndex {
 public:
  /// Builds every table for `snapshot`. Cost grows with the registry
  /// (~230 index entries per name at distance 2), so build it off the hot path.
  NameIndex(std::shared_ptr<const registry::Snapshot> snapshot, const MatchOptions& options);

  const registry::Snapshot& snapshot() const { return *snapshot_; }
  const std::shared_ptr<const registry::Snapshot>& snapshot_ptr() const { return snapshot_; }
  const Decorations& decorations() const { return decorations_; }
  int max_distance() const { return max_distance_; }
  std::size_t index_entries() const { return hashes_.size(); }

  /// Distinct registry models whose normalized name or alias equals `normalized`.
  const std::vector<std::uint32_t>* FindNormalized(const std::string& normalized) const;

  /// Result of a fuzzy search: the smallest distance found and the distinct
  /// models at that distance (empty when nothing is within `max_d`).
  struct Near {
    int distance = 0;
    std::vector<std::uint32_t> models;
  };
  /// Registry names/aliases within OSA distance `max_d` of `query` (normalized
  /// code points) whose digit runs equal those of `query`.
  Near FindNear(const std::u32string& query, int max_d) const;

 private:
  struct Key {
    std::u32string text;
    std::string digits;  // digit runs joined by '.', the "numbers never fuzz" signature
    std::vector<std::uint32_t> models;
  };
  void AddDeletions(const std::u32string& s, int depth, std::uint32_t key,
                    std::vector<std::pair<std::uint64_t, std::uint32_t>>& out) const;

  std::shared_ptr<const registry::Snapshot> snapshot_;
  Decorations decorations_;
  int max_distance_;
  std::unordered_map<std::string, std::uint32_t> by_normalized_;
  std::vector<Key> keys_;
  std::vector<bool> has_length_;  // has_length_[n]: some key has n code points
  // Deletion-neighbourhood index in CSR form: bucket b's entries are
  // [bucket_start_[b], bucket_start_[b+1]) of hashes_/key_ids_.
  int bucket_bits_ = 0;
  std::vector<std::uint32_t> bucket_start_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint32_t> key_ids_;
  int filter_bits_ = 6;
  std::vector<std::uint64_t> filter_;  // bit set of hashes_ (low bits)
};

/// Classifies a name that extraction found (valid UTF-8, 1..256 bytes).
/// Never returns kMalformed or kMissing.
Classification Classify(std::string_view name, const NameIndex& index);

/// The canonical name a classification suggests, or "" for none.
std::string_view SuggestionName(const Classification& c, const registry::Snapshot& snapshot);

/// Optimal-string-alignment Damerau-Levenshtein distance, or `limit + 1` as
/// soon as it is known to exceed `limit`.
int OsaDistance(std::u32string_view a, std::u32string_view b, int limit);

/// Decodes a normalized (valid UTF-8) string into code points.
std::u32string ToCodePoints(std::string_view s);

/// Digit-run signature of a name: its ASCII digit runs joined by '.'.
std::string DigitRuns(std::u32string_view s);

}  // namespace model_auditor::classify
