#pragma once
// Name normalization and trailing "decoration" tokens (SPEC "Normalization"):
// the folding that makes `qwen3_next_80b_optimized`, `Qwen3Next80BOptimized`
// and `Qwen3-Next-80B-Optimized-Prod` one name.

#include <string>
#include <string_view>
#include <vector>

namespace model_auditor::classify {

/// Folds full-width forms (U+FF01-FF5E, U+3000) to ASCII, lower-cases ASCII and
/// drops every ASCII non-alphanumeric byte; other characters stay in place.
/// Precondition: `name` is valid UTF-8.
std::string Normalize(std::string_view name);

/// The default trailing decorations.
std::vector<std::string> DefaultDecorations();

/// A set of trailing decoration tokens, e.g. "prod", "latest", "v<digits>".
/// Tokens are matched against the end of a normalized name. Immutable after
/// construction, so thread-safe.
class Decorations {
 public:
  /// Each token is normalized; `<digits>` inside a token stands for one or
  /// more ASCII digits. Throws LoadError on an empty token.
  explicit Decorations(const std::vector<std::string>& tokens);

  /// Every form reachable from `normalized` by stripping trailing decorations
  /// one at a time (never down to the empty string), longest first, `normalized`
  /// itself first. Distinct forms only.
  std::vector<std::string> Forms(std::string_view normalized) const;

  /// The family key: `normalized` with trailing decorations stripped for as
  /// long as one applies (longest decoration first), never to empty.
  std::string FamilyKey(std::string_view normalized) const;

 private:
  struct Token {
    std::string prefix;  // before <digits>, or the whole token
    std::string suffix;  // after <digits>
    bool digits = false;
  };
  /// Lengths of the decoration suffixes of `s` that one token matches.
  void Matches(std::string_view s, std::vector<std::size_t>& lengths) const;

  std::vector<Token> tokens_;
};

}  // namespace model_auditor::classify
