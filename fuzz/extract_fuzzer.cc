// libFuzzer harness: name extraction from one message (header + value bytes)
// under a few extraction rules, then classification of whatever name comes
// out against config/registry.yaml.
//
// Input layout (so seeds stay readable text):
//   byte 0   rule selector (mod the rules below; '0' picks the default rule)
//   byte 1   flags: bit 0 = null value (tombstone), bit 1 = no header ('0' = both present)
//   then     the X-Model-Name header value, up to the first '\n'
//   rest     the message value
// The value is passed in place: libFuzzer's buffer ends exactly at the input's
// end, so any read past the value is an ASan report.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "classify/classifier.h"
#include "config/config.h"
#include "extract/extractor.h"
#include "fuzz_support.h"

namespace {

using namespace model_auditor;
using Kind = config::NameSource::Kind;

struct Fixture {
  std::vector<config::ExtractionRule> rules;
  classify::NameIndex index;
};

const Fixture& GetFixture() {
  static const Fixture fixture{
      {
          {"*", config::DefaultSources()},
          {"*", {{Kind::kHeader, "X-Model-Name"}}},
          {"*", {{Kind::kJsonPointer, "/model"}}},
          // body first, header as the conflict check
          {"*",
           {{Kind::kJsonPointer, "/metadata/model"},
            {Kind::kJsonPointer, "/model"},
            {Kind::kHeader, "X-Model-Name"}}},
          {"*", {{Kind::kJsonPointer, "/0/model"}, {Kind::kJsonPointer, "/requests/1/model"}}},
          // the root itself, and escaped pointer tokens
          {"*", {{Kind::kJsonPointer, ""}, {Kind::kJsonPointer, "/a~1b/m~0n"}}},
      },
      classify::NameIndex(fuzz::ExampleSnapshot(), classify::MatchOptions{}),
  };
  return fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static extract::Extractor extractor;  // reused across messages, as on a consumer thread
  const Fixture& fx = GetFixture();
  if (size < 2) return 0;
  const config::ExtractionRule& rule = fx.rules[data[0] % fx.rules.size()];
  const bool has_value = (data[1] & 1) == 0;
  const bool has_header = (data[1] & 2) == 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::size_t nl = rest.find('\n');
  const std::string_view header_value = rest.substr(0, nl);
  const std::string_view value = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);

  auto header = [&](const std::string& name) -> std::optional<std::string_view> {
    if (!has_header || name != "X-Model-Name") return std::nullopt;
    return header_value;
  };
  const extract::Extraction ex =
      extractor.Extract(rule, header, has_value ? value : std::string_view(), has_value);

  // Differential: the same message without the root-key shortcut (which walks
  // the whole root object to prove a key absent). They agree whenever the walk
  // finds the document sound; on a damaged one the shortcut may still return a
  // name read before the damage (README "Reliability"), never `missing`.
  static extract::Extractor walker = [] {
    extract::Extractor x;
    x.set_key_shortcut(false);
    return x;
  }();
  const extract::Extraction ref =
      walker.Extract(rule, header, has_value ? value : std::string_view(), has_value);
  using Outcome = extract::Extraction::Outcome;
  if (ref.outcome == Outcome::kMalformed) {
    FUZZ_CHECK(ex.outcome != Outcome::kMissing);
  } else {
    FUZZ_CHECK(ex.outcome == ref.outcome);
    FUZZ_CHECK(ex.name == ref.name);
    if (ex.outcome == Outcome::kName) FUZZ_CHECK(ex.from == ref.from);
    if (!ref.other.empty()) FUZZ_CHECK(ex.other == ref.other);
  }

  switch (ex.outcome) {
    case Outcome::kName:
      FUZZ_CHECK(ex.reason == extract::Malformed::kNone);
      FUZZ_CHECK(!ex.name.empty());
      FUZZ_CHECK(extract::CheckName(ex.name) == extract::Malformed::kNone);
      if (ex.from == Kind::kHeader) FUZZ_CHECK(ex.name == header_value);
      fuzz::ClassifyChecked(ex.name, fx.index);
      if (!ex.other.empty()) {
        // The conflict-check name passed the same checks as a winning one.
        FUZZ_CHECK(extract::CheckName(ex.other) == extract::Malformed::kNone);
        fuzz::ClassifyChecked(ex.other, fx.index);
      }
      break;
    case Outcome::kMalformed:
      FUZZ_CHECK(ex.reason != extract::Malformed::kNone);
      FUZZ_CHECK(extract::MalformedName(ex.reason) != "unknown");
      break;
    case Outcome::kMissing:
      FUZZ_CHECK(ex.reason == extract::Malformed::kNone && ex.name.empty());
      break;
  }
  return 0;
}
