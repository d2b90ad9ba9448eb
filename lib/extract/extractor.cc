#include "extract/extractor.h"

#include <cstdint>
#include <cstring>

#include "extract/key_scan.h"
#include "registry/registry.h"
#include "util/text.h"

namespace model_auditor::extract {
namespace {

// librdkafka hands us payloads inside larger heap buffers; when the padding
// simdjson may read lies on the same page as the last byte, reading it cannot
// fault, so we parse in place. Sanitizers would (rightly) flag the over-read,
// so they always get the copy.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kZeroCopy = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
constexpr bool kZeroCopy = false;
#else
constexpr bool kZeroCopy = true;
#endif
#else
constexpr bool kZeroCopy = true;
#endif

bool PaddingOnSamePage(const char* p, std::size_t len) {
  const auto last = reinterpret_cast<std::uintptr_t>(p + len);
  const auto end = last + simdjson::SIMDJSON_PADDING;
  return (last >> 12) == (end >> 12);
}

// True when the root scalar of `doc` really is a JSON value of `type`.
bool RootScalarParses(simdjson::ondemand::document& doc, simdjson::ondemand::json_type type) {
  using simdjson::ondemand::json_type;
  switch (type) {
    case json_type::null: {
      bool is_null = false;
      return !doc.is_null().get(is_null) && is_null;
    }
    case json_type::boolean: {
      bool b;
      return !doc.get_bool().get(b);
    }
    case json_type::number: {
      simdjson::ondemand::number n;
      return !doc.get_number().get(n);
    }
    case json_type::string: {
      std::string_view s;
      return !doc.get_string().get(s);
    }
    default:
      return false;
  }
}

// The last byte that is not JSON whitespace, or 0.
char LastNonSpace(std::string_view v) {
  for (std::size_t i = v.size(); i > 0; --i) {
    const char c = v[i - 1];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return c;
  }
  return 0;
}

}  // namespace

std::string_view MalformedName(Malformed m) {
  switch (m) {
    case Malformed::kNone: return "none";
    case Malformed::kInvalidJson: return "invalid_json";
    case Malformed::kNotObject: return "not_object";
    case Malformed::kNoValue: return "no_value";
    case Malformed::kTooLarge: return "too_large";
    case Malformed::kNotString: return "not_string";
    case Malformed::kTooLong: return "too_long";
    case Malformed::kInvalidUtf8: return "invalid_utf8";
  }
  return "unknown";
}

Malformed CheckName(std::string_view name) {
  if (name.size() > registry::kMaxNameBytes) return Malformed::kTooLong;
  if (!util::IsValidUtf8(name)) return Malformed::kInvalidUtf8;
  return Malformed::kNone;
}

bool Extractor::EnsureDocument(std::string_view value, bool has_value, Malformed& reason) {
  if (doc_for_ == value.data() && doc_len_ == value.size() && doc_for_ != nullptr) {
    reason = doc_error_;
    return doc_error_ == Malformed::kNone;
  }
  doc_for_ = value.data() ? value.data() : "";
  doc_len_ = value.size();
  doc_error_ = Malformed::kNone;
  root_is_object_ = false;
  if (!has_value || value.empty()) {
    doc_error_ = Malformed::kNoValue;
  } else if (value.size() > kMaxJsonBytes) {
    doc_error_ = Malformed::kTooLarge;
  } else {
    simdjson::error_code err;
    if (kZeroCopy && PaddingOnSamePage(value.data(), value.size())) {
      err = parser_.iterate(value.data(), value.size(), value.size() + simdjson::SIMDJSON_PADDING)
                .get(doc_);
    } else {
      if (padded_.size() < value.size() + simdjson::SIMDJSON_PADDING) {
        padded_.resize(value.size() + simdjson::SIMDJSON_PADDING);
      }
      std::memcpy(padded_.data(), value.data(), value.size());
      err = parser_.iterate(padded_.data(), value.size(), padded_.size()).get(doc_);
    }
    if (err == simdjson::UTF8_ERROR) {
      doc_error_ = Malformed::kInvalidUtf8;
    } else if (err) {
      doc_error_ = Malformed::kInvalidJson;
    } else {
      simdjson::ondemand::json_type type;
      if (doc_.type().get(type)) {
        doc_error_ = Malformed::kInvalidJson;
      } else if (type != simdjson::ondemand::json_type::object &&
                 type != simdjson::ondemand::json_type::array) {
        // type() only peeks at the first byte: "not json" looks like null.
        doc_error_ = RootScalarParses(doc_, type) ? Malformed::kNotObject : Malformed::kInvalidJson;
      } else if (LastNonSpace(value) != (type == simdjson::ondemand::json_type::object ? '}' : ']')) {
        // A truncated document. simdjson reports this too, but only once a
        // pointer walks the root; checking here makes the verdict independent
        // of which pointers the key shortcut below skips.
        doc_error_ = Malformed::kInvalidJson;
      } else {
        root_is_object_ = type == simdjson::ondemand::json_type::object;
      }
    }
  }
  reason = doc_error_;
  return doc_error_ == Malformed::kNone;
}

const std::string& Extractor::NeedleFor(const std::string& pointer) {
  for (const auto& [p, needle] : needles_) {
    if (p == pointer) return needle;
  }
  if (needles_.size() >= 64) needles_.clear();  // rules are few; bound it anyway
  return needles_.emplace_back(pointer, RootKeyNeedle(pointer)).second;
}

Extractor::JsonResult Extractor::JsonName(const std::string& pointer, std::string_view value,
                                          bool has_value, std::string_view& name,
                                          Malformed& reason, bool allow_shortcut) {
  if (!EnsureDocument(value, has_value, reason)) return JsonResult::kMalformed;
  if (root_is_object_ && allow_shortcut && key_shortcut_) {
    // A root key whose raw bytes occur nowhere in the document is absent: no
    // need to walk the whole object to find that out (Extract walks it only
    // if no other source yields a name, to judge a damaged document).
    const std::string& needle = NeedleFor(pointer);
    if (!needle.empty() && !ContainsBytes(value, needle)) {
      if (!shortcut_pointer_) shortcut_pointer_ = &pointer;
      return JsonResult::kAbsent;
    }
  }
  simdjson::ondemand::value v;
  simdjson::error_code err = doc_.at_pointer(pointer).get(v);
  if (err == simdjson::NO_SUCH_FIELD || err == simdjson::INDEX_OUT_OF_BOUNDS ||
      err == simdjson::INCORRECT_TYPE || err == simdjson::INVALID_JSON_POINTER) {
    return JsonResult::kAbsent;
  }
  if (err) {
    reason = err == simdjson::UTF8_ERROR ? Malformed::kInvalidUtf8 : Malformed::kInvalidJson;
    // simdjson abandons the document on such an error (its iterator drops the
    // parser), so a later pointer of this message must not walk it again.
    doc_error_ = reason;
    return JsonResult::kMalformed;
  }
  simdjson::ondemand::json_type type;
  if (v.type().get(type)) {
    reason = Malformed::kInvalidJson;
    doc_error_ = reason;
    return JsonResult::kMalformed;
  }
  if (type == simdjson::ondemand::json_type::null) return JsonResult::kAbsent;
  if (type != simdjson::ondemand::json_type::string) {
    reason = Malformed::kNotString;
    return JsonResult::kMalformed;
  }
  std::string_view s;
  // Most names have no escapes: take them straight from the document (stage 1
  // validated its UTF-8 already) instead of unescaping a copy.
  std::string_view raw = v.raw_json_token();
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' ||
                          raw.back() == '\r')) {
    raw.remove_suffix(1);
  }
  if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"' &&
      raw.find('\\', 1) == std::string_view::npos) {
    s = raw.substr(1, raw.size() - 2);
    if (s.empty()) return JsonResult::kAbsent;
    if (s.size() > registry::kMaxNameBytes) {
      reason = Malformed::kTooLong;
      return JsonResult::kMalformed;
    }
    name = s;
    return JsonResult::kName;
  }
  err = v.get_string().get(s);
  if (err) {
    reason = err == simdjson::UTF8_ERROR ? Malformed::kInvalidUtf8 : Malformed::kInvalidJson;
    doc_error_ = reason;
    return JsonResult::kMalformed;
  }
  if (s.empty()) return JsonResult::kAbsent;
  reason = CheckName(s);
  if (reason != Malformed::kNone) return JsonResult::kMalformed;
  name = s;
  return JsonResult::kName;
}

}  // namespace model_auditor::extract
