#include "util/json.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

namespace model_auditor::util {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST_CASE("AppendJsonString escapes quotes, backslashes and control characters", "[util][json]") {
  SECTION("plain text is only quoted") {
    CHECK(Quoted("") == R"("")");
    CHECK(Quoted("Qwen3-Next-80B-Optimized") == R"("Qwen3-Next-80B-Optimized")");
  }
  SECTION("quote and backslash") {
    CHECK(Quoted("say \"hi\"") == R"("say \"hi\"")");
    CHECK(Quoted("C:\\models\\q") == R"("C:\\models\\q")");
    CHECK(Quoted("\\\"") == R"("\\\"")");
  }
  SECTION("short escapes for newline, carriage return and tab") {
    CHECK(Quoted("a\nb\rc\td") == R"("a\nb\rc\td")");
  }
  SECTION("other control characters as \\u00XX") {
    CHECK(Quoted(std::string("\0", 1)) == R"("\u0000")");
    CHECK(Quoted("\x01") == R"("\u0001")");
    CHECK(Quoted("\b\f") == R"("\u0008\u000c")");
    CHECK(Quoted("\x1f") == R"("\u001f")");
  }
  SECTION("printable ASCII, DEL, slash and UTF-8 pass through") {
    CHECK(Quoted(" ~/") == R"(" ~/")");
    CHECK(Quoted("\x7f") == "\"\x7f\"");
    CHECK(Quoted("\xE9\x80\x9A\xE4\xB9\x89") == "\"\xE9\x80\x9A\xE4\xB9\x89\"");
  }
  SECTION("appends to what is already there") {
    std::string out = "x=";
    AppendJsonString(out, "y");
    CHECK(out == "x=\"y\"");
  }
}

TEST_CASE("JsonWriter places commas and colons at every nesting level", "[util][json]") {
  SECTION("empty containers") {
    CHECK(JsonWriter().BeginObject().EndObject().str() == "{}");
    CHECK(JsonWriter().BeginArray().EndArray().str() == "[]");
  }
  SECTION("an object of every value type") {
    JsonWriter w;
    w.BeginObject();
    w.Key("s").String("v");
    w.Key("u").Uint(18446744073709551615ULL);
    w.Key("i").Int(-42);
    w.Key("d").Double(1.5);
    w.Key("t").Bool(true);
    w.Key("f").Bool(false);
    w.Key("n").Null();
    w.EndObject();
    CHECK(w.str() ==
          R"({"s":"v","u":18446744073709551615,"i":-42,"d":1.5,"t":true,"f":false,"n":null})");
  }
  SECTION("nested objects and arrays, like the report") {
    JsonWriter w;
    w.BeginObject();
    w.Key("totals").BeginObject().Key("messages").Uint(3).EndObject();
    w.Key("families").BeginArray();
    for (int f = 0; f < 2; ++f) {
      w.BeginObject().Key("names").BeginArray();
      w.BeginObject().Key("model_name").String("a\"b").EndObject();
      w.BeginObject().Key("topics").BeginArray().String("t1").String("t2").EndArray().EndObject();
      w.EndArray().EndObject();
    }
    w.EndArray();
    w.Key("empty").BeginArray().EndArray();
    w.Key("last").Int(0);
    w.EndObject();
    CHECK(w.str() ==
          R"({"totals":{"messages":3},"families":[)"
          R"({"names":[{"model_name":"a\"b"},{"topics":["t1","t2"]}]},)"
          R"({"names":[{"model_name":"a\"b"},{"topics":["t1","t2"]}]}],"empty":[],"last":0})");
  }
  SECTION("arrays of arrays") {
    JsonWriter w;
    w.BeginArray().BeginArray().Int(1).EndArray().BeginArray().EndArray().Null().EndArray();
    CHECK(w.str() == "[[1],[],null]");
  }
  SECTION("keys are escaped like strings") {
    JsonWriter w;
    w.BeginObject().Key("a\"b\n").Int(1).EndObject();
    CHECK(w.str() == R"({"a\"b\n":1})");
  }
  SECTION("non-finite doubles become null") {
    JsonWriter w;
    w.BeginArray()
        .Double(std::numeric_limits<double>::quiet_NaN())
        .Double(std::numeric_limits<double>::infinity())
        .Double(-std::numeric_limits<double>::infinity())
        .Double(0.25)
        .EndArray();
    CHECK(w.str() == "[null,null,null,0.25]");
  }
  SECTION("Take hands the document over") {
    JsonWriter w;
    w.BeginArray().String("x").EndArray();
    CHECK(w.Take() == R"(["x"])");
  }
}

}  // namespace
}  // namespace model_auditor::util
