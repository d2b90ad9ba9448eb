#pragma once
// The registry module owns the model registry snapshot: what models exist,
// their lifecycle status, aliases and replacements. A snapshot is parsed from a
// native YAML/JSON document or an OpenAI-compatible `/v1/models` list, validated
// as a whole, and then immutable: it is shared as `shared_ptr<const Snapshot>`
// and swapped in whole, never mutated under readers.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace model_auditor::registry {

/// Lifecycle status of a registry model. Only kOnline and kTesting serve traffic.
enum class Status : std::uint8_t { kOnline, kTesting, kDeprecated, kRetired, kPlanned };
inline constexpr std::size_t kStatusCount = 5;
inline constexpr std::array<Status, kStatusCount> kAllStatuses = {
    Status::kOnline, Status::kTesting, Status::kDeprecated, Status::kRetired, Status::kPlanned};

std::string_view StatusName(Status s);
std::optional<Status> ParseStatus(std::string_view s);
inline bool Serves(Status s) { return s == Status::kOnline || s == Status::kTesting; }

/// One registry entry as declared.
struct Model {
  std::string name;
  Status status = Status::kOnline;
  std::vector<std::string> aliases;
  std::string replaced_by;  // canonical name of the replacement, or empty
};

/// Which document shape a snapshot came from.
enum class Format : std::uint8_t { kNative, kOpenAiList };
std::string_view FormatName(Format f);

/// A validated, immutable registry. Thread-safe: all members are const after
/// construction, so any number of threads may read it concurrently.
class Snapshot {
 public:
  /// Result of an exact (byte-for-byte) lookup of a name or alias.
  struct ExactHit {
    std::uint32_t model;
    bool alias;
  };

  /// Validates `models` and builds the lookup tables. Throws LoadError naming
  /// the first problem: duplicate names or aliases, a `replaced_by` naming no
  /// model or forming a cycle, an empty or over-long name.
  Snapshot(std::vector<Model> models, Format format, std::string source, std::int64_t loaded_at_ms,
           std::string digest);

  const std::vector<Model>& models() const { return models_; }
  std::optional<ExactHit> FindExact(std::string_view name) const;
  /// The model to send a caller to instead of `model`: the model itself when it
  /// serves, else the first serving model down its `replaced_by` chain, else
  /// the end of that chain, else -1 (nothing declared).
  std::int32_t Replacement(std::uint32_t model) const { return replacement_[model]; }
  std::size_t CountByStatus(Status s) const { return by_status_[static_cast<std::size_t>(s)]; }

  Format format() const { return format_; }
  const std::string& source() const { return source_; }
  std::int64_t loaded_at_ms() const { return loaded_at_ms_; }
  /// Hex SHA-256 prefix of the document the snapshot was parsed from.
  const std::string& digest() const { return digest_; }

 private:
  std::vector<Model> models_;
  Format format_;
  std::string source_;
  std::int64_t loaded_at_ms_;
  std::string digest_;
  std::unordered_map<std::string, ExactHit> exact_;
  std::vector<std::int32_t> replacement_;
  std::array<std::size_t, kStatusCount> by_status_{};
};

/// Maximum length of a model name, alias or traffic name, in bytes.
inline constexpr std::size_t kMaxNameBytes = 256;
/// Maximum size of a registry document.
inline constexpr std::size_t kMaxDocumentBytes = 32u << 20;

/// Parses a registry document. The format is detected from content: a mapping
/// with `models` is native, one with `object: list` and `data` is the OpenAI
/// list. `source` names the document in errors ("registry.yaml:7: ...").
/// Throws LoadError.
std::shared_ptr<const Snapshot> ParseSnapshot(std::string_view text, const std::string& source);

/// Reads and parses a registry file. Throws LoadError.
std::shared_ptr<const Snapshot> LoadSnapshotFile(const std::string& path);

}  // namespace model_auditor::registry
