#include "util/string_table.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace model_auditor::util {
namespace {

TEST_CASE("StringTable finds what was inserted and nothing else", "[util][string_table]") {
  StringTable<int> t;
  CHECK(t.Find("a") == nullptr);  // empty, never grown
  std::vector<int*> refs;
  for (int i = 0; i < 5000; ++i) refs.push_back(&t.Insert("name-" + std::to_string(i), i));
  CHECK(t.size() == 5000);
  for (int i = 0; i < 5000; ++i) {
    int* v = t.Find("name-" + std::to_string(i));
    REQUIRE(v != nullptr);
    CHECK(*v == i);
    CHECK(v == refs[static_cast<std::size_t>(i)]);  // references survive growth
  }
  CHECK(t.Find("name-5000") == nullptr);
  CHECK(t.Find("") == nullptr);
  CHECK(t.Find("name-") == nullptr);
  t.Insert("", -1);  // the empty key is a key like any other
  REQUIRE(t.Find("") != nullptr);
  CHECK(*t.Find("") == -1);
  t.Clear();
  CHECK(t.size() == 0);
  CHECK(t.Find("name-1") == nullptr);
  t.Insert("name-1", 7);
  CHECK(*t.Find("name-1") == 7);
}

TEST_CASE("keys that share a prefix, differ in length or collide in a slot stay apart",
          "[util][string_table]") {
  StringTable<std::string> t;
  const std::vector<std::string> keys = {"Qwen3-Next-80B-Optimized", "Qwen3-Next-80B-Optimized ",
                                         "Qwen3-Next-80B-Optimize",  "qwen3-next-80b-optimized",
                                         "Qwen3-Next-80B-Local",     std::string("a\0b", 3),
                                         std::string("a\0c", 3),     "12345678",
                                         "123456789"};
  for (const auto& k : keys) t.Insert(k, k);
  for (const auto& k : keys) {
    INFO(k);
    REQUIRE(t.Find(k) != nullptr);
    CHECK(*t.Find(k) == k);
  }
}

TEST_CASE("HashShortString depends on every byte and on the length", "[util][string_table]") {
  CHECK(HashShortString("abcdefgh") != HashShortString("abcdefgi"));
  CHECK(HashShortString("abcdefghi") != HashShortString("abcdefghj"));
  CHECK(HashShortString(std::string("a\0", 2)) != HashShortString("a"));
  CHECK(HashShortString("") == HashShortString(""));
}

}  // namespace
}  // namespace model_auditor::util
