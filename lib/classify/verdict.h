#pragma once
// Verdicts: the one answer the auditor gives per message (SPEC "Verdicts").

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace model_auditor::classify {

/// One verdict per message; the first that applies, in this order.
enum class Verdict : std::uint8_t {
  kMalformed,
  kMissing,
  kRegistered,
  kAlias,
  kInactive,
  kVariant,
  kTypo,
  kUnknown,
};
inline constexpr std::size_t kVerdictCount = 8;
inline constexpr std::array<Verdict, kVerdictCount> kAllVerdicts = {
    Verdict::kMalformed, Verdict::kMissing, Verdict::kRegistered, Verdict::kAlias,
    Verdict::kInactive,  Verdict::kVariant, Verdict::kTypo,       Verdict::kUnknown};

constexpr std::string_view VerdictName(Verdict v) {
  constexpr std::array<std::string_view, kVerdictCount> kNames = {
      "malformed", "missing", "registered", "alias", "inactive", "variant", "typo", "unknown"};
  return kNames[static_cast<std::size_t>(v)];
}

std::optional<Verdict> ParseVerdict(std::string_view s);

/// Verdicts that name an entry of the registry exactly.
constexpr bool NamesRegistryEntry(Verdict v) {
  return v == Verdict::kRegistered || v == Verdict::kAlias || v == Verdict::kInactive;
}

/// Verdicts of names that are not a serving registry name or alias: these get
/// an `unregistered_requests_total` series and raise `unknown_model_active`.
constexpr bool IsUnregistered(Verdict v) {
  return v == Verdict::kInactive || v == Verdict::kVariant || v == Verdict::kTypo ||
         v == Verdict::kUnknown;
}

}  // namespace model_auditor::classify
