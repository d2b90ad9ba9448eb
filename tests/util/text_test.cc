#include "util/text.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

namespace model_auditor::util {
namespace {

using std::chrono::milliseconds;

std::string Bytes(std::initializer_list<unsigned char> bytes) {
  std::string s;
  for (unsigned char b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST_CASE("IsValidUtf8 accepts well-formed text of every length", "[util][utf8]") {
  SECTION("empty and ASCII, including NUL") {
    CHECK(IsValidUtf8(""));
    CHECK(IsValidUtf8("Qwen3-Next-80B-Optimized"));
    CHECK(IsValidUtf8(std::string("a\0b", 3)));
  }
  SECTION("two, three and four byte sequences") {
    CHECK(IsValidUtf8("caf\xC3\xA9"));                   // U+00E9
    CHECK(IsValidUtf8("\xE9\x80\x9A\xE4\xB9\x89"));      // 通义 (CJK)
    CHECK(IsValidUtf8("\xEF\xBC\xB1wen"));               // full-width Q
    CHECK(IsValidUtf8("\xF0\x9F\x98\x80"));              // U+1F600
  }
  SECTION("boundaries of the ranges") {
    CHECK(IsValidUtf8(Bytes({0x7F})));                    // U+007F
    CHECK(IsValidUtf8(Bytes({0xC2, 0x80})));              // U+0080, smallest 2-byte
    CHECK(IsValidUtf8(Bytes({0xDF, 0xBF})));              // U+07FF
    CHECK(IsValidUtf8(Bytes({0xE0, 0xA0, 0x80})));        // U+0800, smallest 3-byte
    CHECK(IsValidUtf8(Bytes({0xED, 0x9F, 0xBF})));        // U+D7FF, just below surrogates
    CHECK(IsValidUtf8(Bytes({0xEE, 0x80, 0x80})));        // U+E000, just above surrogates
    CHECK(IsValidUtf8(Bytes({0xEF, 0xBF, 0xBF})));        // U+FFFF
    CHECK(IsValidUtf8(Bytes({0xF0, 0x90, 0x80, 0x80})));  // U+10000, smallest 4-byte
    CHECK(IsValidUtf8(Bytes({0xF4, 0x8F, 0xBF, 0xBF})));  // U+10FFFF, the last code point
  }
}

TEST_CASE("IsValidUtf8 rejects overlongs, surrogates, out-of-range and truncation",
          "[util][utf8]") {
  SECTION("overlong encodings") {
    CHECK_FALSE(IsValidUtf8(Bytes({0xC0, 0x80})));              // NUL in 2 bytes
    CHECK_FALSE(IsValidUtf8(Bytes({0xC1, 0xBF})));              // U+007F in 2 bytes
    CHECK_FALSE(IsValidUtf8(Bytes({0xE0, 0x80, 0x80})));        // NUL in 3 bytes
    CHECK_FALSE(IsValidUtf8(Bytes({0xE0, 0x9F, 0xBF})));        // U+07FF in 3 bytes
    CHECK_FALSE(IsValidUtf8(Bytes({0xF0, 0x80, 0x80, 0x80})));  // NUL in 4 bytes
    CHECK_FALSE(IsValidUtf8(Bytes({0xF0, 0x8F, 0xBF, 0xBF})));  // U+FFFF in 4 bytes
    CHECK_FALSE(IsValidUtf8(Bytes({'a', 0xC0, 0xAF})));         // overlong '/'
  }
  SECTION("UTF-16 surrogates") {
    CHECK_FALSE(IsValidUtf8(Bytes({0xED, 0xA0, 0x80})));  // U+D800
    CHECK_FALSE(IsValidUtf8(Bytes({0xED, 0xBF, 0xBF})));  // U+DFFF
    CHECK_FALSE(IsValidUtf8(Bytes({0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80})));  // CESU-8 pair
  }
  SECTION("beyond U+10FFFF and impossible lead bytes") {
    CHECK_FALSE(IsValidUtf8(Bytes({0xF4, 0x90, 0x80, 0x80})));  // U+110000
    CHECK_FALSE(IsValidUtf8(Bytes({0xF5, 0x80, 0x80, 0x80})));
    CHECK_FALSE(IsValidUtf8(Bytes({0xF8, 0x88, 0x80, 0x80, 0x80})));
    CHECK_FALSE(IsValidUtf8(Bytes({0xFE})));
    CHECK_FALSE(IsValidUtf8(Bytes({0xFF})));
  }
  SECTION("stray continuation bytes") {
    CHECK_FALSE(IsValidUtf8(Bytes({0x80})));
    CHECK_FALSE(IsValidUtf8(Bytes({'Q', 0xBF, 'w'})));
    CHECK_FALSE(IsValidUtf8(Bytes({0xC3, 0xA9, 0xA9})));  // one continuation too many
  }
  SECTION("truncated sequences, at the end and in the middle") {
    CHECK_FALSE(IsValidUtf8(Bytes({0xC3})));
    CHECK_FALSE(IsValidUtf8(Bytes({0xE2, 0x82})));
    CHECK_FALSE(IsValidUtf8(Bytes({0xF0, 0x9F, 0x98})));
    CHECK_FALSE(IsValidUtf8(Bytes({0xE2, 0x82, 'a'})));
    CHECK_FALSE(IsValidUtf8(Bytes({0xF0, 0x9F, 'a', 'b'})));
    CHECK_FALSE(IsValidUtf8(Bytes({'a', 0xC3, 'b'})));
  }
}

TEST_CASE("DecodeUtf8 and AppendUtf8 round trip every encoding length", "[util][utf8]") {
  for (char32_t cp : {U'\0', U'A', U'\x7F', U'\x80', U'\xE9', U'\x7FF', U'\x800', U'\xD7FF',
                      U'\xE000', U'\xFF21', U'\xFFFF', U'\x10000', U'\x1F600', U'\x10FFFF'}) {
    std::string s;
    AppendUtf8(s, cp);
    REQUIRE(IsValidUtf8(s));
    std::size_t i = 0;
    CHECK(DecodeUtf8(s, i) == cp);
    CHECK(i == s.size());
  }
}

TEST_CASE("ParseDuration reads Go and Prometheus style durations", "[util][duration]") {
  SECTION("single units") {
    CHECK(ParseDuration("0s") == milliseconds(0));
    CHECK(ParseDuration("500ms") == milliseconds(500));
    CHECK(ParseDuration("30s") == milliseconds(30'000));
    CHECK(ParseDuration("5m") == milliseconds(300'000));
    CHECK(ParseDuration("2h") == milliseconds(7'200'000));
    CHECK(ParseDuration("2d") == milliseconds(172'800'000));
  }
  SECTION("compound durations add up") {
    CHECK(ParseDuration("1h30m") == milliseconds(5'400'000));
    CHECK(ParseDuration("1m30s") == milliseconds(90'000));
    CHECK(ParseDuration("1d2h3m4s5ms") == milliseconds(93'784'005));
  }
  SECTION("leading zeros are plain digits") {
    CHECK(ParseDuration("05m") == milliseconds(300'000));
  }
}

TEST_CASE("ParseDuration rejects everything else", "[util][duration]") {
  for (const char* bad :
       {"", "5", "m", "ms", "-5m", "+5m", "5 m", " 5m", "5m ", "5 minutes", "5M", "5min", "5mm",
        "1.5h", "1h 30m", "5y", "5w", "5us", "h1", "1e3s", "0x10s"}) {
    INFO("input: '" << bad << "'");
    CHECK_FALSE(ParseDuration(bad).has_value());
  }
}

TEST_CASE("ParseDuration rejects values that overflow instead of wrapping", "[util][duration]") {
  // 10^12 days in milliseconds does not fit in 64 bits; it must not wrap into
  // a small or negative duration that passes a config's minimum check.
  CHECK_FALSE(ParseDuration("1000000000000d").has_value());
  CHECK_FALSE(ParseDuration("999999999999d").has_value());
  CHECK_FALSE(ParseDuration("1000000000000h1000000000000h1000000000000h").has_value());
  CHECK_FALSE(ParseDuration("99999999999999999999s").has_value());
  // Large but representable values still parse.
  CHECK(ParseDuration("100000d") == milliseconds(8'640'000'000'000LL));
}

TEST_CASE("FormatDuration writes what ParseDuration reads", "[util][duration]") {
  SECTION("canonical forms") {
    CHECK(FormatDuration(milliseconds(0)) == "0s");
    CHECK(FormatDuration(milliseconds(250)) == "250ms");
    CHECK(FormatDuration(milliseconds(1000)) == "1s");
    CHECK(FormatDuration(milliseconds(90'000)) == "1m30s");
    CHECK(FormatDuration(milliseconds(300'000)) == "5m");
    CHECK(FormatDuration(milliseconds(5'400'000)) == "1h30m");
    CHECK(FormatDuration(milliseconds(86'400'000)) == "1d");
    CHECK(FormatDuration(milliseconds(93'784'005)) == "1d2h3m4s5ms");
  }
  SECTION("round trips through ParseDuration") {
    for (long long ms : {0LL, 1LL, 999LL, 1000LL, 1001LL, 59'999LL, 60'000LL, 3'599'999LL,
                         3'600'000LL, 86'399'999LL, 86'400'000LL, 31'536'000'000LL,
                         123'456'789'012LL}) {
      const std::string text = FormatDuration(milliseconds(ms));
      INFO(ms << " ms formatted as " << text);
      CHECK(ParseDuration(text) == milliseconds(ms));
    }
  }
  SECTION("text round trips for canonical input") {
    for (const char* text : {"500ms", "30s", "5m", "1h30m", "2d", "1d2h3m4s5ms"}) {
      auto d = ParseDuration(text);
      REQUIRE(d);
      CHECK(FormatDuration(*d) == text);
    }
  }
}

TEST_CASE("FormatRfc3339 writes UTC with milliseconds", "[util][time]") {
  CHECK(FormatRfc3339(1) == "1970-01-01T00:00:00.001Z");
  CHECK(FormatRfc3339(1000) == "1970-01-01T00:00:01.000Z");
  CHECK(FormatRfc3339(1'700'000'000'123) == "2023-11-14T22:13:20.123Z");
  CHECK(FormatRfc3339(951'782'400'000) == "2000-02-29T00:00:00.000Z");  // leap day
  CHECK(FormatRfc3339(4'102'444'799'999) == "2099-12-31T23:59:59.999Z");
  SECTION("unknown times are empty") {
    CHECK(FormatRfc3339(0).empty());
    CHECK(FormatRfc3339(-1).empty());
    CHECK(FormatRfc3339(-1'700'000'000'000).empty());
  }
  SECTION("now is formatted as a 24 character timestamp") {
    const std::string now = FormatRfc3339(NowUnixMs());
    CHECK(now.size() == 24);
    CHECK(now.back() == 'Z');
    CHECK(now.substr(0, 2) == "20");
  }
}

TEST_CASE("AsciiLower folds only ASCII letters", "[util]") {
  CHECK(AsciiLower("Qwen3-Next-80B") == "qwen3-next-80b");
  CHECK(AsciiLower("\xEF\xBC\xB1") == "\xEF\xBC\xB1");  // full-width Q untouched
  CHECK(AsciiLower("") == "");
}

TEST_CASE("GlobMatch supports star and question mark", "[util][glob]") {
  SECTION("literal patterns match only themselves") {
    CHECK(GlobMatch("model-inference-requests", "model-inference-requests"));
    CHECK_FALSE(GlobMatch("model-inference-requests", "model-inference-request"));
    CHECK_FALSE(GlobMatch("model-inference-request", "model-inference-requests"));
    CHECK(GlobMatch("", ""));
    CHECK_FALSE(GlobMatch("", "a"));
    CHECK_FALSE(GlobMatch("a", ""));
  }
  SECTION("star matches any run, including the empty one") {
    CHECK(GlobMatch("*", ""));
    CHECK(GlobMatch("*", "anything at all"));
    CHECK(GlobMatch("model-*", "model-"));
    CHECK(GlobMatch("model-*", "model-inference"));
    CHECK_FALSE(GlobMatch("model-*", "x-model-inference"));
    CHECK(GlobMatch("*-requests", "model-inference-requests"));
    CHECK_FALSE(GlobMatch("*-requests", "model-inference-requests-dlq"));
    CHECK(GlobMatch("model-*-requests", "model-inference-requests"));
    CHECK(GlobMatch("a*b*c", "aXXbYYc"));
    CHECK_FALSE(GlobMatch("a*b*c", "aXXbYY"));
    CHECK(GlobMatch("**", "x"));
  }
  SECTION("star backtracks") {
    CHECK(GlobMatch("*ab", "aab"));
    CHECK(GlobMatch("*aab", "aaab"));
    CHECK(GlobMatch("a*abc", "aababc"));
    CHECK_FALSE(GlobMatch("*abc", "aababd"));
  }
  SECTION("question mark matches exactly one byte") {
    CHECK(GlobMatch("topic-?", "topic-1"));
    CHECK_FALSE(GlobMatch("topic-?", "topic-"));
    CHECK_FALSE(GlobMatch("topic-?", "topic-12"));
    CHECK(GlobMatch("?*", "x"));
    CHECK_FALSE(GlobMatch("?*", ""));
  }
  SECTION("matching is case-sensitive") { CHECK_FALSE(GlobMatch("Model-*", "model-x")); }
}

}  // namespace
}  // namespace model_auditor::util
