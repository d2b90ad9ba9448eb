#include "extract/extractor.h"

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace model_auditor::extract {
namespace {

using config::ExtractionRule;
using config::NameSource;
using Kind = NameSource::Kind;
using Outcome = Extraction::Outcome;

NameSource Header(std::string name) { return {Kind::kHeader, std::move(name)}; }
NameSource Pointer(std::string pointer) { return {Kind::kJsonPointer, std::move(pointer)}; }

ExtractionRule Rule(std::vector<NameSource> sources) { return {"*", std::move(sources)}; }
ExtractionRule DefaultRule() { return Rule(config::DefaultSources()); }

/// Message headers, looked up the way the consumer does. Values are views, like
/// librdkafka's, so a winning header name outlives a temporary Headers.
struct Headers {
  std::map<std::string, std::string_view> values;
  std::optional<std::string_view> operator()(const std::string& key) const {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

const Headers kNoHeaders{};

// Runs one extraction with a value that is present (not a tombstone).
Extraction Run(Extractor& x, const ExtractionRule& rule, const Headers& h, std::string_view value) {
  return x.Extract(rule, h, value, true);
}

void ExpectName(const Extraction& e, std::string_view name, Kind from) {
  CHECK(e.outcome == Outcome::kName);
  CHECK(e.reason == Malformed::kNone);
  CHECK(e.name == name);
  CHECK(e.from == from);
}

void CheckMalformed(const Extraction& e, Malformed reason) {
  CHECK(e.outcome == Outcome::kMalformed);
  CHECK(MalformedName(e.reason) == MalformedName(reason));
  CHECK(e.name.empty());
}

void CheckMissing(const Extraction& e) {
  CHECK(e.outcome == Outcome::kMissing);
  CHECK(e.reason == Malformed::kNone);
  CHECK(e.name.empty());
}

TEST_CASE("the default rule tries the header, then /model_name, then /model", "[extract]") {
  Extractor x;
  const ExtractionRule rule = DefaultRule();
  SECTION("the header wins over the body") {
    const Extraction e = Run(x, rule, Headers{{{"X-Model-Name", "Hdr-1"}}},
                             R"({"model_name":"Body-1","model":"Body-2"})");
    ExpectName(e, "Hdr-1", Kind::kHeader);
  }
  SECTION("without the header, /model_name wins over /model") {
    ExpectName(Run(x, rule, kNoHeaders, R"({"model":"Body-2","model_name":"Body-1"})"), "Body-1",
              Kind::kJsonPointer);
  }
  SECTION("without either, /model") {
    ExpectName(Run(x, rule, kNoHeaders, R"({"prompt":"hi","model":"Qwen3-8B"})"), "Qwen3-8B",
              Kind::kJsonPointer);
  }
  SECTION("header names are looked up exactly as configured") {
    ExpectName(Run(x, rule, Headers{{{"x-model-name", "lower"}}}, R"({"model":"Body"})"), "Body",
              Kind::kJsonPointer);
  }
}

TEST_CASE("empty and null values skip to the next source", "[extract]") {
  Extractor x;
  const ExtractionRule rule = DefaultRule();
  SECTION("an empty header") {
    ExpectName(Run(x, rule, Headers{{{"X-Model-Name", ""}}}, R"({"model":"Body"})"), "Body",
              Kind::kJsonPointer);
  }
  SECTION("an empty string in the body") {
    ExpectName(Run(x, rule, kNoHeaders, R"({"model_name":"","model":"Body"})"), "Body",
              Kind::kJsonPointer);
  }
  SECTION("a JSON null") {
    ExpectName(Run(x, rule, kNoHeaders, R"({"model_name":null,"model":"Body"})"), "Body",
              Kind::kJsonPointer);
  }
  SECTION("nothing yields a name: missing") {
    CheckMissing(Run(x, rule, kNoHeaders, R"({"prompt":"hi"})"));
    CheckMissing(Run(x, rule, kNoHeaders, R"({})"));
    CheckMissing(Run(x, rule, kNoHeaders, R"([])"));
    CheckMissing(Run(x, rule, Headers{{{"X-Model-Name", ""}}},
                     R"({"model_name":null,"model":""})"));
  }
}

TEST_CASE("JSON pointers walk nested objects and arrays", "[extract]") {
  Extractor x;
  SECTION("a nested pointer") {
    const ExtractionRule rule = Rule({Pointer("/request/model")});
    ExpectName(Run(x, rule, kNoHeaders, R"({"id":1,"request":{"stream":true,"model":"Q-1"}})"),
              "Q-1", Kind::kJsonPointer);
    CheckMissing(Run(x, rule, kNoHeaders, R"({"request":{"messages":[]}})"));
    CheckMissing(Run(x, rule, kNoHeaders, R"({"model":"top-level only"})"));
    CheckMissing(Run(x, rule, kNoHeaders, R"({"request":"a string, not an object"})"));
  }
  SECTION("an array index") {
    const ExtractionRule rule = Rule({Pointer("/calls/1/model")});
    ExpectName(Run(x, rule, kNoHeaders, R"({"calls":[{"model":"A-0"},{"model":"A-1"}]})"), "A-1",
              Kind::kJsonPointer);
    CheckMissing(Run(x, rule, kNoHeaders, R"({"calls":[{"model":"A-0"}]})"));
  }
  SECTION("an array at the root") {
    ExpectName(Run(x, Rule({Pointer("/0")}), kNoHeaders, R"(["Root-0","Root-1"])"), "Root-0",
              Kind::kJsonPointer);
  }
  SECTION("escaped keys ~0 and ~1") {
    ExpectName(Run(x, Rule({Pointer("/a~1b/c~0d")}), kNoHeaders, R"({"a/b":{"c~d":"Esc-1"}})"),
              "Esc-1", Kind::kJsonPointer);
  }
  SECTION("a later pointer after a nested miss") {
    const ExtractionRule rule = Rule({Pointer("/request/model"), Pointer("/model")});
    ExpectName(Run(x, rule, kNoHeaders, R"({"request":{},"model":"Flat"})"), "Flat",
              Kind::kJsonPointer);
  }
}

TEST_CASE("escaped JSON strings are decoded", "[extract]") {
  Extractor x;
  const ExtractionRule rule = DefaultRule();
  ExpectName(Run(x, rule, kNoHeaders, R"({"model":"Qwen\u0033"})"), "Qwen3", Kind::kJsonPointer);
  ExpectName(Run(x, rule, kNoHeaders, R"({"model":"a\/b\"c\\d"})"), "a/b\"c\\d",
            Kind::kJsonPointer);
  ExpectName(Run(x, rule, kNoHeaders, R"({"model":"\u901a\u4e49"})"), "\xE9\x80\x9A\xE4\xB9\x89",
            Kind::kJsonPointer);
  ExpectName(Run(x, rule, kNoHeaders, R"({"model":"\ud83d\ude00"})"), "\xF0\x9F\x98\x80",
            Kind::kJsonPointer);
}

TEST_CASE("names over 256 bytes are malformed too_long", "[extract]") {
  Extractor x;
  const ExtractionRule rule = DefaultRule();
  const std::string ok(256, 'a');
  const std::string long_name(257, 'a');
  SECTION("in the body") {
    ExpectName(Run(x, rule, kNoHeaders, R"({"model":")" + ok + R"("})"), ok, Kind::kJsonPointer);
    CheckMalformed(Run(x, rule, kNoHeaders, R"({"model":")" + long_name + R"("})"),
                   Malformed::kTooLong);
  }
  SECTION("in a header") {
    ExpectName(Run(x, rule, Headers{{{"X-Model-Name", ok}}}, "{}"), ok, Kind::kHeader);
    CheckMalformed(Run(x, rule, Headers{{{"X-Model-Name", long_name}}}, R"({"model":"ok"})"),
                   Malformed::kTooLong);
  }
  SECTION("the limit is on the decoded bytes") {
    std::string escaped;
    for (int i = 0; i < 128; ++i) escaped += "\\u00e9";  // 128 x 2 bytes = 256 decoded
    const Extraction e = Run(x, rule, kNoHeaders, R"({"model":")" + escaped + R"("})");
    CHECK(e.outcome == Outcome::kName);
    CHECK(e.name.size() == 256);
    CheckMalformed(Run(x, rule, kNoHeaders, R"({"model":")" + escaped + R"(x"})"),
                   Malformed::kTooLong);
  }
}

TEST_CASE("names that are not UTF-8 are malformed invalid_utf8", "[extract]") {
  Extractor x;
  const ExtractionRule rule = DefaultRule();
  SECTION("in a header") {
    CheckMalformed(Run(x, rule, Headers{{{"X-Model-Name", "Qwen\xFF"}}}, R"({"model":"ok"})"),
                   Malformed::kInvalidUtf8);
    CheckMalformed(Run(x, rule, Headers{{{"X-Model-Name", "\xED\xA0\x80"}}}, "{}"),
                   Malformed::kInvalidUtf8);
  }
  SECTION("in the JSON name") {
    CheckMalformed(Run(x, rule, kNoHeaders, "{\"model\":\"Qwen\xC0\xAF\"}"),
                   Malformed::kInvalidUtf8);
  }
  SECTION("elsewhere in the JSON document") {
    CheckMalformed(Run(x, rule, kNoHeaders, "{\"prompt\":\"\xFF\xFE\",\"model\":\"Qwen3\"}"),
                   Malformed::kInvalidUtf8);
  }
  SECTION("a lone surrogate escape is not a name") {
    const Extraction e = Run(x, rule, kNoHeaders, R"({"model":"Qwen\ud800"})");
    CHECK(e.outcome == Outcome::kMalformed);
  }
}

TEST_CASE("names that are not strings are malformed not_string", "[extract]") {
  Extractor x;
  const ExtractionRule rule = DefaultRule();
  for (const char* body : {R"({"model":42})", R"({"model":-1.5e3})", R"({"model":true})",
                           R"({"model":false})", R"({"model":{"name":"Qwen3"}})",
                           R"({"model":["Qwen3"]})"}) {
    INFO(body);
    CheckMalformed(Run(x, rule, kNoHeaders, body), Malformed::kNotString);
  }
  SECTION("the first non-empty source decides, even when a later one is a string") {
    CheckMalformed(Run(x, rule, kNoHeaders, R"({"model_name":7,"model":"Qwen3"})"),
                   Malformed::kNotString);
  }
}

TEST_CASE("values that are not JSON are malformed where a pointer is needed", "[extract]") {
  Extractor x;
  const ExtractionRule rule = DefaultRule();
  SECTION("invalid JSON") {
    for (const char* body :
         {"not json", "{model: 'Qwen3'}", R"({"model":})", R"({"model" "Qwen3"})",
          R"({"request_id":"r1",})", "{", "}", "]", "nul", "tru", "\x01"}) {
      INFO(body);
      CheckMalformed(Run(x, rule, kNoHeaders, body), Malformed::kInvalidJson);
    }
  }
  SECTION("truncated JSON") {
    for (const char* body : {R"({"model":"Qwen3)", R"({"model":"Qwen3")", R"({"model":"Qwen3",)",
                             R"({"model_name":null,"model":)", R"(["Qwen3")"}) {
      INFO(body);
      CheckMalformed(Run(x, rule, kNoHeaders, body), Malformed::kInvalidJson);
    }
  }
  SECTION("a root that is a scalar") {
    for (const char* body : {"42", R"("Qwen3")", "true", "null", "-0.5"}) {
      INFO(body);
      CheckMalformed(Run(x, rule, kNoHeaders, body), Malformed::kNotObject);
    }
  }
  SECTION("whitespace only") {
    const Extraction e = Run(x, rule, kNoHeaders, "   \n");
    CHECK(e.outcome == Outcome::kMalformed);
  }
  SECTION("a header name does not need the body") {
    ExpectName(Run(x, rule, Headers{{{"X-Model-Name", "Hdr"}}}, "not json"), "Hdr",
              Kind::kHeader);
    ExpectName(Run(x, rule, Headers{{{"X-Model-Name", "Hdr"}}}, "42"), "Hdr", Kind::kHeader);
  }
  SECTION("a header-only rule never parses the body") {
    const ExtractionRule header_only = Rule({Header("X-Model-Name")});
    CheckMissing(Run(x, header_only, kNoHeaders, "not json"));
  }
}

TEST_CASE("the root-key shortcut never changes a verdict", "[extract][key_scan]") {
  // /model_name (first in the default rule) is proven absent by a byte search
  // instead of a walk of the root object; the walk still decides whenever
  // the key's bytes occur anywhere.
  Extractor x;
  const ExtractionRule rule = DefaultRule();
  SECTION("the key's bytes nested deeper, or inside a string, are not a root key") {
    ExpectName(Run(x, rule, kNoHeaders, R"({"meta":{"model_name":"Deep"},"model":"Root"})"),
               "Root", Kind::kJsonPointer);
    ExpectName(Run(x, rule, kNoHeaders, R"({"note":"see \"model_name\"","model":"Root"})"),
               "Root", Kind::kJsonPointer);
    CheckMissing(Run(x, rule, kNoHeaders, R"(["model_name",{"model":"x"}])"));
  }
  SECTION("a root key after many other fields is still found") {
    std::string doc = "{";
    for (int i = 0; i < 200; ++i) doc += "\"f" + std::to_string(i) + "\":[1,{\"m\":\"e\"}],";
    doc += R"("model_name":"Late"})";
    ExpectName(Run(x, rule, kNoHeaders, doc), "Late", Kind::kJsonPointer);
  }
  SECTION("keys are compared as raw bytes, with or without the shortcut") {
    // simdjson does not unescape keys: "model\u005fname" is not /model_name.
    ExpectName(Run(x, rule, kNoHeaders, R"({"model\u005fname":"Escaped","model":"Plain"})"),
               "Plain", Kind::kJsonPointer);
  }
  SECTION("a truncated document is malformed even when no pointer has to walk it") {
    for (const char* body : {R"({"request_id":"r1","n":[1,2)", R"({"request_id":"r1","n":{"a":1})",
                             R"({"model":"Qwen3","messages":[{"role":"user"}])",
                             R"({"model":"Qwen3"} trailing)", R"([{"model":"x"})"}) {
      INFO(body);
      CheckMalformed(Run(x, rule, kNoHeaders, body), Malformed::kInvalidJson);
    }
  }
  SECTION("damage after the name that wins is not looked at") {
    // The document is read as far as the winning name (stage 1 still checks
    // strings, UTF-8 and the root's closing bracket everywhere): whatever the
    // rule's order, a trailing comma after the name does not hide it.
    ExpectName(Run(x, rule, kNoHeaders, R"({"model":"Qwen3",})"), "Qwen3", Kind::kJsonPointer);
    ExpectName(Run(x, rule, kNoHeaders, R"({"model_name":"Qwen3",})"), "Qwen3",
               Kind::kJsonPointer);
    CheckMalformed(Run(x, rule, kNoHeaders, R"({"request_id":"r1",})"), Malformed::kInvalidJson);
  }
  SECTION("names are taken raw unless they hold escapes") {
    ExpectName(Run(x, rule, kNoHeaders, "{\"model\" : \"Qwen3\" \n , \"n\":1}"), "Qwen3",
               Kind::kJsonPointer);
    ExpectName(Run(x, rule, kNoHeaders, R"({"model":"Qwen\u0033-\"x\""})"), "Qwen3-\"x\"",
               Kind::kJsonPointer);
    ExpectName(Run(x, rule, kNoHeaders, "{\"model\":\"\xe9\x80\x9a\xe4\xb9\x89\"}"),
               "\xe9\x80\x9a\xe4\xb9\x89", Kind::kJsonPointer);
    CheckMissing(Run(x, rule, kNoHeaders, R"({"model":""})"));
  }
  SECTION("trailing whitespace is fine") {
    ExpectName(Run(x, rule, kNoHeaders, "{\"model\":\"Qwen3\"} \n\t\r "), "Qwen3",
               Kind::kJsonPointer);
    CheckMissing(Run(x, rule, kNoHeaders, "{\"request_id\":\"r1\"}\n"));
  }
}

TEST_CASE("tombstones and empty values", "[extract]") {
  Extractor x;
  const Headers with_header{{{"X-Model-Name", "Hdr-1"}}};
  SECTION("a pointer on a tombstone is no_value") {
    CheckMalformed(x.Extract(DefaultRule(), kNoHeaders, std::string_view(), false),
                   Malformed::kNoValue);
    CheckMalformed(x.Extract(Rule({Pointer("/model")}), kNoHeaders, std::string_view(), false),
                   Malformed::kNoValue);
  }
  SECTION("a pointer on an empty value is no_value") {
    CheckMalformed(x.Extract(DefaultRule(), kNoHeaders, "", true), Malformed::kNoValue);
  }
  SECTION("a header-only rule on a tombstone: the header, or missing") {
    const ExtractionRule header_only = Rule({Header("X-Model-Name")});
    ExpectName(x.Extract(header_only, with_header, std::string_view(), false), "Hdr-1",
              Kind::kHeader);
    CheckMissing(x.Extract(header_only, kNoHeaders, std::string_view(), false));
  }
  SECTION("the header wins before the tombstone matters") {
    const Extraction e = x.Extract(DefaultRule(), with_header, std::string_view(), false);
    ExpectName(e, "Hdr-1", Kind::kHeader);
    CHECK(e.other.empty());
  }
  SECTION("a header after the pointers is not reached") {
    CheckMalformed(x.Extract(Rule({Pointer("/model"), Header("X-Model-Name")}), with_header,
                             std::string_view(), false),
                   Malformed::kNoValue);
  }
}

TEST_CASE("the other field carries the first name of the other kind", "[extract]") {
  Extractor x;
  const Headers hdr{{{"X-Model-Name", "Hdr-1"}}};
  SECTION("the header wins and the body names another model") {
    const Extraction e = Run(x, DefaultRule(), hdr, R"({"model":"Body-1"})");
    ExpectName(e, "Hdr-1", Kind::kHeader);
    CHECK(e.other == "Body-1");
  }
  SECTION("the header wins and the body names the same model") {
    const Extraction e = Run(x, DefaultRule(), hdr, R"({"model_name":"Hdr-1"})");
    ExpectName(e, "Hdr-1", Kind::kHeader);
    CHECK(e.other == "Hdr-1");
  }
  SECTION("the first body pointer that yields a name") {
    const Extraction e =
        Run(x, DefaultRule(), hdr, R"({"model_name":"","model":"Body-2"})");
    CHECK(e.other == "Body-2");
    const Extraction f =
        Run(x, DefaultRule(), hdr, R"({"model_name":"Body-1","model":"Body-2"})");
    CHECK(f.other == "Body-1");
  }
  SECTION("a body without a name") {
    const Extraction e = Run(x, DefaultRule(), hdr, R"({"prompt":"hi"})");
    ExpectName(e, "Hdr-1", Kind::kHeader);
    CHECK(e.other.empty());
  }
  SECTION("a broken body does not spoil the header's name") {
    for (const char* body : {"not json", "42", R"({"model":7})", R"({"model":"Qwen3)",
                             "{\"model\":\"\xFF\"}"}) {
      INFO(body);
      const Extraction e = Run(x, DefaultRule(), hdr, body);
      ExpectName(e, "Hdr-1", Kind::kHeader);
      CHECK(e.other.empty());
    }
    const std::string too_long = R"({"model":")" + std::string(300, 'z') + R"("})";
    const Extraction e = Run(x, DefaultRule(), hdr, too_long);
    ExpectName(e, "Hdr-1", Kind::kHeader);
    CHECK(e.other.empty());
  }
  SECTION("a body that breaks while one pointer walks it is not walked again") {
    // /model_name is not found and the walk hits the garbage after the array,
    // which abandons simdjson's document; /model is then tried for the
    // conflict check. Found by fuzz/extract_fuzzer (a null dereference).
    for (const char* body : {R"({"model":"Body-1","messages":[{"role":"user"}]i)",
                             R"({"prompt":[1,2]]} "model":"Body-1"})"}) {
      INFO(body);
      const Extraction e = Run(x, DefaultRule(), hdr, body);
      ExpectName(e, "Hdr-1", Kind::kHeader);
      CHECK(e.other.empty());
      // The Extractor still serves the next message.
      const Extraction f = Run(x, DefaultRule(), hdr, R"({"model":"Body-2"})");
      CHECK(f.other == "Body-2");
    }
  }
  SECTION("the body wins when its pointer comes first") {
    const ExtractionRule body_first = Rule({Pointer("/model"), Header("X-Model-Name")});
    const Extraction e = Run(x, body_first, hdr, R"({"model":"Body-1"})");
    ExpectName(e, "Body-1", Kind::kJsonPointer);
    CHECK(e.other == "Hdr-1");
  }
  SECTION("the body wins when the header is absent") {
    const Extraction e = Run(x, DefaultRule(), kNoHeaders, R"({"model":"Body-1"})");
    ExpectName(e, "Body-1", Kind::kJsonPointer);
    CHECK(e.other.empty());
  }
  SECTION("a malformed header of the other kind is ignored") {
    const ExtractionRule body_first = Rule({Pointer("/model"), Header("X-Model-Name")});
    const Extraction e =
        Run(x, body_first, Headers{{{"X-Model-Name", "\xFF"}}}, R"({"model":"Body-1"})");
    ExpectName(e, "Body-1", Kind::kJsonPointer);
    CHECK(e.other.empty());
  }
  SECTION("the first header of several") {
    const ExtractionRule rule =
        Rule({Pointer("/model"), Header("X-A"), Header("X-B")});
    const Extraction e =
        Run(x, rule, Headers{{{"X-A", ""}, {"X-B", "B-1"}}}, R"({"model":"Body-1"})");
    ExpectName(e, "Body-1", Kind::kJsonPointer);
    CHECK(e.other == "B-1");
  }
  SECTION("sources of the winning kind are not other names") {
    const ExtractionRule rule = Rule({Header("X-A"), Header("X-B")});
    const Extraction e = Run(x, rule, Headers{{{"X-A", "A-1"}, {"X-B", "B-1"}}}, "{}");
    ExpectName(e, "A-1", Kind::kHeader);
    CHECK(e.other.empty());
  }
  SECTION("other and name both stay valid") {
    const Extraction e = Run(x, DefaultRule(), hdr, R"({"model":"B\u006fdy-1"})");
    CHECK(e.name == "Hdr-1");
    CHECK(e.other == "Body-1");
    const ExtractionRule body_first = Rule({Pointer("/model"), Header("X-Model-Name")});
    const Extraction f = Run(x, body_first, hdr, R"({"model":"B\u006fdy-1"})");
    CHECK(f.name == "Body-1");
    CHECK(f.other == "Hdr-1");
  }
}

TEST_CASE("10,000-deep nesting is survived and judged like any other document", "[extract]") {
  // On-demand parsing walks and skips nested values iteratively, so depth can
  // neither overflow the stack nor hide a name; RFC 8259 JSON of any depth is
  // judged by what the pointers find. Broken nesting is malformed.
  Extractor x;
  const int depth = 10'000;
  SECTION("the name sits behind a deep value") {
    std::string body = "{\"prompt\":";
    for (int i = 0; i < depth; ++i) body += "{\"a\":";
    body += "1" + std::string(depth, '}') + ",\"model\":\"Qwen3\"}";
    ExpectName(Run(x, DefaultRule(), kNoHeaders, body), "Qwen3", Kind::kJsonPointer);
  }
  SECTION("the name's key holds a deep value: not_string") {
    std::string body = "{\"model\":";
    for (int i = 0; i < depth; ++i) body += "{\"a\":";
    body += "\"x\"" + std::string(depth, '}') + "}";
    CheckMalformed(Run(x, DefaultRule(), kNoHeaders, body), Malformed::kNotString);
  }
  SECTION("deep arrays without a name: missing") {
    CheckMissing(
        Run(x, DefaultRule(), kNoHeaders, std::string(depth, '[') + std::string(depth, ']')));
  }
  SECTION("a pointer 100 levels into a 10,000-deep document") {
    std::string pointer;
    for (int i = 0; i < 100; ++i) pointer += "/0";
    const std::string deep = std::string(depth, '[') + std::string(depth, ']');
    CheckMalformed(Run(x, Rule({Pointer(pointer)}), kNoHeaders, deep), Malformed::kNotString);
    const std::string named = std::string(100, '[') + "\"Deep-1\"" + std::string(100, ']');
    ExpectName(Run(x, Rule({Pointer(pointer)}), kNoHeaders, named), "Deep-1", Kind::kJsonPointer);
  }
  SECTION("unbalanced deep nesting is invalid_json") {
    CheckMalformed(Run(x, DefaultRule(), kNoHeaders, std::string(depth, '[')),
                   Malformed::kInvalidJson);
    std::string body = "{\"model_name\":";
    for (int i = 0; i < depth; ++i) body += "{\"a\":";
    body += "1" + std::string(depth / 2, '}');
    CHECK(Run(x, DefaultRule(), kNoHeaders, body).outcome == Outcome::kMalformed);
  }
  SECTION("the extractor still works afterwards") {
    (void)Run(x, DefaultRule(), kNoHeaders, std::string(depth, '['));
    (void)Run(x, DefaultRule(), kNoHeaders, std::string(depth, '[') + std::string(depth, ']'));
    ExpectName(Run(x, DefaultRule(), kNoHeaders, R"({"model":"After"})"), "After",
               Kind::kJsonPointer);
  }
}

TEST_CASE("large values parse, values over the limit are too_large", "[extract]") {
  Extractor x;
  SECTION("a 1 MB value with the name after the prompt") {
    const std::string body =
        R"({"prompt":")" + std::string(1 << 20, 'p') + R"(","model":"Qwen3-Big"})";
    ExpectName(Run(x, DefaultRule(), kNoHeaders, body), "Qwen3-Big", Kind::kJsonPointer);
  }
  SECTION("a value over kMaxJsonBytes") {
    std::string body = R"({"model":"Qwen3","pad":")";
    body += std::string(kMaxJsonBytes, ' ');
    body += "\"}";
    CheckMalformed(Run(x, DefaultRule(), kNoHeaders, body), Malformed::kTooLarge);
    ExpectName(Run(x, DefaultRule(), Headers{{{"X-Model-Name", "Hdr"}}}, body), "Hdr",
              Kind::kHeader);
  }
}

TEST_CASE("one Extractor serves many messages of different sizes", "[extract]") {
  Extractor x;
  const ExtractionRule rule = DefaultRule();
  SECTION("growing and shrinking values") {
    for (int i = 0; i < 400; ++i) {
      const std::size_t pad = static_cast<std::size_t>((i * 7919) % 5000);
      const std::string name = "M-" + std::to_string(i);
      const std::string body =
          R"({"p":")" + std::string(pad, 'x') + R"(","model":")" + name + R"("})";
      const Extraction e = Run(x, rule, kNoHeaders, body);
      REQUIRE(e.outcome == Outcome::kName);
      REQUIRE(e.name == name);
      if (i % 3 == 0) {
        // Interleave failures, so error state cannot leak into the next message.
        REQUIRE(Run(x, rule, kNoHeaders, body.substr(0, body.size() / 2)).outcome ==
                Outcome::kMalformed);
        REQUIRE(x.Extract(rule, kNoHeaders, std::string_view(), false).reason ==
                Malformed::kNoValue);
      }
    }
  }
  SECTION("a big value followed by a small one") {
    const std::string big =
        R"({"model_name":")" + std::string(200'000, 'b') + R"(","model":"Big"})";
    const Extraction e1 = Run(x, rule, kNoHeaders, big);
    CheckMalformed(e1, Malformed::kTooLong);
    ExpectName(Run(x, rule, kNoHeaders, R"({"model":"S"})"), "S", Kind::kJsonPointer);
    CheckMissing(Run(x, rule, kNoHeaders, R"({"m":1})"));
  }
  SECTION("the same buffer rewritten with a message of the same length") {
    // The consumer may hand over a recycled buffer at the same address.
    std::string buf = R"({"model":"AAAA"})";
    ExpectName(Run(x, rule, kNoHeaders, buf), "AAAA", Kind::kJsonPointer);
    buf = R"({"model":"BBBB"})";
    ExpectName(Run(x, rule, kNoHeaders, buf), "BBBB", Kind::kJsonPointer);
    buf = R"({"model":1234.0})";
    CheckMalformed(Run(x, rule, kNoHeaders, buf), Malformed::kNotString);
    buf = R"({"model":"CCCC"})";
    ExpectName(Run(x, rule, kNoHeaders, buf), "CCCC", Kind::kJsonPointer);
  }
  SECTION("values at the end of a page") {
    // Parsing in place must not depend on what lies after the value.
    std::vector<char> page(8192, 'X');
    const std::string body = R"({"model":"Edge"})";
    for (std::size_t end : {std::size_t{4096}, std::size_t{4095}, std::size_t{8192} - 1}) {
      std::copy(body.begin(), body.end(), page.begin() + static_cast<long>(end - body.size()));
      ExpectName(Run(x, rule, kNoHeaders, std::string_view(page.data() + end - body.size(),
                                                          body.size())),
                "Edge", Kind::kJsonPointer);
    }
  }
}

TEST_CASE("the header lookup may be a std::function", "[extract]") {
  Extractor x;
  int calls = 0;
  std::function<std::optional<std::string_view>(const std::string&)> lookup =
      [&calls](const std::string& key) -> std::optional<std::string_view> {
    ++calls;
    if (key == "X-Model-Name") return std::string_view("Fn-1");
    return std::nullopt;
  };
  ExpectName(x.Extract(DefaultRule(), lookup, R"({"model":"Body"})", true), "Fn-1",
            Kind::kHeader);
  CHECK(calls == 1);
}

TEST_CASE("CheckName and MalformedName", "[extract]") {
  CHECK(CheckName("Qwen3") == Malformed::kNone);
  CHECK(CheckName("") == Malformed::kNone);
  CHECK(CheckName(std::string(257, 'a')) == Malformed::kTooLong);
  CHECK(CheckName("\xFF") == Malformed::kInvalidUtf8);
  CHECK(MalformedName(Malformed::kInvalidJson) == "invalid_json");
  CHECK(MalformedName(Malformed::kNotObject) == "not_object");
  CHECK(MalformedName(Malformed::kNoValue) == "no_value");
  CHECK(MalformedName(Malformed::kTooLarge) == "too_large");
  CHECK(MalformedName(Malformed::kNotString) == "not_string");
  CHECK(MalformedName(Malformed::kTooLong) == "too_long");
  CHECK(MalformedName(Malformed::kInvalidUtf8) == "invalid_utf8");
}

}  // namespace
}  // namespace model_auditor::extract
