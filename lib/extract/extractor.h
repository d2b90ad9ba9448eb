#pragma once
// The extract module owns pulling the model name out of a message: a header
// first, then JSON pointers into the value, in the order a topic's rule lists
// them; first non-empty wins. It also decides the `malformed` and `missing`
// verdicts. It knows nothing about Kafka: the caller passes the value bytes and
// a header lookup.

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace model_auditor::extract {

/// Why a message is malformed. A bounded set: it becomes a metric label.
enum class Malformed : std::uint8_t {
  kNone,
  kInvalidJson,   // value is not parseable JSON where a pointer needs it
  kNotObject,     // value is JSON but not an object/array a pointer can walk
  kNoValue,       // empty or null value (tombstone) where a pointer needs it
  kTooLarge,      // value over the JSON size limit
  kNotString,     // the name is a number, object, bool...
  kTooLong,       // the name is over 256 bytes
  kInvalidUtf8,   // the name (or the JSON document) is not UTF-8
};
inline constexpr std::size_t kMalformedCount = 8;
std::string_view MalformedName(Malformed m);

/// What extraction found in one message.
struct Extraction {
  enum class Outcome : std::uint8_t { kName, kMissing, kMalformed };
  Outcome outcome = Outcome::kMissing;
  Malformed reason = Malformed::kNone;
  std::string_view name;  // the winning name (valid while the message and Extractor live)
  config::NameSource::Kind from = config::NameSource::Kind::kHeader;
  /// The first name of the other kind (body when the header won and vice
  /// versa), for header/body conflict detection; empty if none.
  std::string_view other;
};

/// Largest value we parse as JSON.
inline constexpr std::size_t kMaxJsonBytes = 8u << 20;

/// Extracts names. Holds a simdjson parser and a padded buffer that are reused
/// across messages, so it is not thread-safe: use one per consumer thread.
class Extractor {
 public:
  /// `header(name)` returns the header's value, or nullopt when absent.
  /// `value` is the message value; `has_value` is false for a null value.
  template <typename HeaderFn>
  Extraction Extract(const config::ExtractionRule& rule, HeaderFn&& header, std::string_view value,
                     bool has_value);

  /// The root-key shortcut (key_scan.h) is on by default; the fuzzer turns it
  /// off in a second Extractor to compare the two.
  void set_key_shortcut(bool on) { key_shortcut_ = on; }

 private:
  enum class JsonResult : std::uint8_t { kName, kAbsent, kMalformed };
  JsonResult JsonName(const std::string& pointer, std::string_view value, bool has_value,
                      std::string_view& name, Malformed& reason, bool allow_shortcut = true);
  bool EnsureDocument(std::string_view value, bool has_value, Malformed& reason);

  /// The raw key bytes that must occur for `pointer` to match (cached per
  /// pointer text; see key_scan.h). Empty: no shortcut.
  const std::string& NeedleFor(const std::string& pointer);

  std::vector<std::pair<std::string, std::string>> needles_;  // pointer -> needle
  bool root_is_object_ = false;
  bool key_shortcut_ = true;
  const std::string* shortcut_pointer_ = nullptr;  // a pointer the key shortcut skipped
  simdjson::ondemand::parser parser_;
  simdjson::ondemand::document doc_;
  std::string padded_;
  const char* doc_for_ = nullptr;  // value the current doc_ was parsed from
  std::size_t doc_len_ = 0;
  Malformed doc_error_ = Malformed::kNone;
};

/// Checks a name candidate: non-empty names must be UTF-8 and <= 256 bytes.
Malformed CheckName(std::string_view name);

template <typename HeaderFn>
Extraction Extractor::Extract(const config::ExtractionRule& rule, HeaderFn&& header,
                              std::string_view value, bool has_value) {
  using Kind = config::NameSource::Kind;
  Extraction out;
  doc_for_ = nullptr;  // a new message: parse lazily, at most once
  shortcut_pointer_ = nullptr;
  bool have_other_kind = false;
  for (const auto& src : rule.sources) {
    if (out.outcome == Extraction::Outcome::kName) {
      if (src.kind == out.from || have_other_kind) continue;
      // A name already won; the first name of the other kind is only for
      // conflict detection, so its errors are ignored.
      std::string_view other;
      if (src.kind == Kind::kHeader) {
        std::optional<std::string_view> h = header(src.key);
        if (h && !h->empty() && CheckName(*h) == Malformed::kNone) other = *h;
      } else {
        Malformed ignored;
        if (JsonName(src.key, value, has_value, other, ignored) != JsonResult::kName) other = {};
      }
      if (!other.empty()) {
        out.other = other;
        have_other_kind = true;
      }
      continue;
    }
    if (src.kind == Kind::kHeader) {
      std::optional<std::string_view> h = header(src.key);
      if (!h || h->empty()) continue;
      if (Malformed m = CheckName(*h); m != Malformed::kNone) {
        out.outcome = Extraction::Outcome::kMalformed;
        out.reason = m;
        return out;
      }
      out.outcome = Extraction::Outcome::kName;
      out.name = *h;
      out.from = Kind::kHeader;
    } else {
      std::string_view name;
      Malformed reason = Malformed::kNone;
      switch (JsonName(src.key, value, has_value, name, reason)) {
        case JsonResult::kAbsent:
          break;
        case JsonResult::kMalformed:
          out.outcome = Extraction::Outcome::kMalformed;
          out.reason = reason;
          return out;
        case JsonResult::kName:
          out.outcome = Extraction::Outcome::kName;
          out.name = name;
          out.from = Kind::kJsonPointer;
          break;
      }
    }
  }
  if (out.outcome == Extraction::Outcome::kMissing && shortcut_pointer_) {
    // No name anywhere, and the key shortcut spared the walk of the root
    // object that would have noticed a damaged document: walk it once, so
    // that such a document is malformed whatever the rule's order.
    std::string_view name;
    Malformed reason = Malformed::kNone;
    if (JsonName(*shortcut_pointer_, value, has_value, name, reason, false) ==
        JsonResult::kMalformed) {
      out.outcome = Extraction::Outcome::kMalformed;
      out.reason = reason;
    }
  }
  return out;
}

}  // namespace model_auditor::extract
