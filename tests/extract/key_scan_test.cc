#include "extract/key_scan.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <string_view>

namespace model_auditor::extract {
namespace {

using detail::ContainsBytesWith;
using detail::SearchIsa;
using detail::SupportedSearchIsas;

const char* IsaName(SearchIsa isa) {
  switch (isa) {
    case SearchIsa::kPortable: return "portable";
    case SearchIsa::kSse2: return "sse2";
    case SearchIsa::kAvx2: return "avx2";
    case SearchIsa::kAvx512: return "avx512";
  }
  return "?";
}

TEST_CASE("ContainsBytes agrees with std::string_view::find at every length and position",
          "[extract][key_scan]") {
  // Every haystack length up to 200 (the SIMD block edges and the scalar tail),
  // the needle at every position, and near misses (its last byte changed).
  const std::string needle = "\"model_name\"";
  for (SearchIsa isa : SupportedSearchIsas()) {
    INFO(IsaName(isa));
    for (std::size_t len = 0; len <= 200; ++len) {
      std::string hay(len, 'e');
      for (std::size_t i = 0; i < len; i += 3) hay[i] = 'm';  // probe bytes everywhere
      CHECK_FALSE(ContainsBytesWith(isa, hay, needle));
      for (std::size_t pos = 0; pos + needle.size() <= len; ++pos) {
        std::string h = hay;
        h.replace(pos, needle.size(), needle);
        INFO("len " << len << " pos " << pos);
        REQUIRE(ContainsBytesWith(isa, h, needle));
        h[pos + needle.size() - 1] = 'x';
        REQUIRE(ContainsBytesWith(isa, h, needle) == (h.find(needle) != std::string::npos));
      }
    }
  }
}

TEST_CASE("ContainsBytes agrees with find on random JSON-like text", "[extract][key_scan]") {
  std::mt19937 rng(7);
  const std::string alphabet = "\"model_n:{}[],ae ";
  for (SearchIsa isa : SupportedSearchIsas()) {
    INFO(IsaName(isa));
    for (int round = 0; round < 3000; ++round) {
      std::string hay(rng() % 400, ' ');
      for (char& c : hay) c = alphabet[rng() % alphabet.size()];
      std::string needle(1 + rng() % 12, ' ');
      for (char& c : needle) c = alphabet[rng() % alphabet.size()];
      INFO(hay << " / " << needle);
      REQUIRE(ContainsBytesWith(isa, hay, needle) == (hay.find(needle) != std::string::npos));
    }
  }
}

TEST_CASE("ContainsBytes dispatches to a working implementation", "[extract][key_scan]") {
  CHECK(ContainsBytes(R"({"request_id":"x","model":"Qwen3"})", "\"model\""));
  CHECK_FALSE(ContainsBytes(R"({"request_id":"x","model":"Qwen3"})", "\"model_name\""));
  CHECK(ContainsBytes("abc", ""));
  CHECK_FALSE(ContainsBytes("ab", "abc"));
  CHECK(ContainsBytes("a", "a"));
}

TEST_CASE("RootKeyNeedle quotes a pointer's first token", "[extract][key_scan]") {
  CHECK(RootKeyNeedle("/model_name") == "\"model_name\"");
  CHECK(RootKeyNeedle("/request/model") == "\"request\"");
  CHECK(RootKeyNeedle("/0/model") == "\"0\"");
  CHECK(RootKeyNeedle("/") == "\"\"");
  // No shortcut: the whole document, or tokens whose raw bytes may differ.
  CHECK(RootKeyNeedle("").empty());
  CHECK(RootKeyNeedle("/a~1b").empty());
  CHECK(RootKeyNeedle("/a~0b").empty());
  CHECK(RootKeyNeedle("/a\"b").empty());
  CHECK(RootKeyNeedle("/a\\b").empty());
}

}  // namespace
}  // namespace model_auditor::extract
