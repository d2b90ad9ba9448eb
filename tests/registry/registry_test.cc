#include "registry/registry.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "util/error.h"

namespace model_auditor::registry {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

const std::string kSource = "registry.yaml";

std::string Shipped(const std::string& name) {
  return std::string(MODEL_AUDITOR_SOURCE_DIR) + "/config/" + name;
}

std::shared_ptr<const Snapshot> Parse(const std::string& text) {
  return ParseSnapshot(text, kSource);
}

// The LoadError message of parsing `text`; fails the test when it parses.
std::string ErrorOf(const std::string& text) {
  try {
    Parse(text);
  } catch (const LoadError& e) {
    return e.what();
  }
  FAIL("expected a LoadError for:\n" << text);
  return {};
}

std::string At(int line) { return kSource + ":" + std::to_string(line) + ": "; }

// Index of the model called `name`; fails when there is none.
std::uint32_t IndexOf(const Snapshot& s, const std::string& name) {
  auto hit = s.FindExact(name);
  REQUIRE(hit);
  REQUIRE_FALSE(hit->alias);
  return hit->model;
}

// Canonical name of Replacement(name), or "" for -1.
std::string ReplacementOf(const Snapshot& s, const std::string& name) {
  const std::int32_t r = s.Replacement(IndexOf(s, name));
  return r < 0 ? std::string() : s.models()[static_cast<std::size_t>(r)].name;
}

TEST_CASE("native YAML registries parse with every field", "[registry]") {
  const auto s = Parse(
      "version: 3\n"
      "models:\n"
      "  - name: Qwen3-Next-80B-Optimized\n"
      "    status: online\n"
      "    aliases: [qwen3_next_80b_optimized, q80]\n"
      "    owner: platform\n"
      "    description: the real one\n"
      "  - name: Qwen3-14B-Chat\n"
      "    status: deprecated\n"
      "    replaced_by: Qwen3-Next-80B-Optimized\n"
      "  - name: Draft-Model\n"
      "    status: planned\n"
      "    aliases:\n"
      "    replaced_by:\n");
  CHECK(s->format() == Format::kNative);
  CHECK(s->source() == kSource);
  REQUIRE(s->models().size() == 3);
  const Model& q = s->models()[0];
  CHECK(q.name == "Qwen3-Next-80B-Optimized");
  CHECK(q.status == Status::kOnline);
  CHECK(q.aliases == std::vector<std::string>{"qwen3_next_80b_optimized", "q80"});
  CHECK(q.replaced_by.empty());
  CHECK(s->models()[1].status == Status::kDeprecated);
  CHECK(s->models()[1].replaced_by == "Qwen3-Next-80B-Optimized");
  CHECK(s->models()[2].status == Status::kPlanned);
  CHECK(s->models()[2].aliases.empty());
  CHECK(s->models()[2].replaced_by.empty());
  CHECK(s->loaded_at_ms() > 0);
}

TEST_CASE("status defaults to online and bare strings are online models", "[registry]") {
  const auto s = Parse(
      "models:\n"
      "  - name: A-1\n"
      "  - B-2\n"
      "  - name: C-3\n"
      "    status: testing\n");
  REQUIRE(s->models().size() == 3);
  CHECK(s->models()[0].status == Status::kOnline);
  CHECK(s->models()[1].name == "B-2");
  CHECK(s->models()[1].status == Status::kOnline);
  CHECK(s->models()[1].aliases.empty());
  CHECK(s->models()[2].status == Status::kTesting);
}

TEST_CASE("native JSON registries parse like YAML", "[registry]") {
  const auto s = Parse(R"({"models": [
      {"name": "Qwen3-Next-80B-Optimized", "aliases": ["q80"]},
      {"name": "Qwen2-7B", "status": "retired", "replaced_by": "Qwen3-Next-80B-Optimized",
       "metadata": {"team": "x"}, "labels": {"a": "b"}},
      "Bare-Name",
      {"name": "Qwen\u0033-Escaped"}
    ], "generated_at": "2026-01-01T00:00:00Z"})");
  CHECK(s->format() == Format::kNative);
  REQUIRE(s->models().size() == 4);
  CHECK(s->models()[1].status == Status::kRetired);
  CHECK(s->models()[2].name == "Bare-Name");
  CHECK(s->models()[3].name == "Qwen3-Escaped");
  CHECK(s->FindExact("q80"));
}

TEST_CASE("compact single-line JSON registries parse", "[registry]") {
  const auto s = Parse(R"({"models":[{"name":"A-1","status":"online"},{"name":"B-2"}]})");
  CHECK(s->models().size() == 2);
}

TEST_CASE("OpenAI /v1/models lists make every id an online model", "[registry]") {
  const auto s = Parse(
      R"({"object":"list","data":[{"id":"a","object":"model","created":1,"owned_by":"vllm",)"
      R"("root":"a","parent":null,"permission":[{"id":"p","allow_view":true}]},{"id":"b"}]})");
  CHECK(s->format() == Format::kOpenAiList);
  REQUIRE(s->models().size() == 2);
  CHECK(s->models()[0].name == "a");
  CHECK(s->models()[1].name == "b");
  CHECK(s->models()[0].status == Status::kOnline);
  CHECK(s->CountByStatus(Status::kOnline) == 2);
  SECTION("an empty list is an empty registry") {
    CHECK(Parse(R"({"object":"list","data":[]})")->models().empty());
  }
  SECTION("an entry without id") {
    const std::string e = ErrorOf("object: list\ndata:\n  - id: a\n  - name: b\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("without 'id'"));
  }
  SECTION("duplicate ids") {
    CHECK_THAT(ErrorOf(R"({"object":"list","data":[{"id":"a"},{"id":"a"}]})"),
               Contains("duplicate model name 'a'"));
  }
}

TEST_CASE("the shipped registries load", "[registry]") {
  SECTION("config/registry.yaml") {
    const auto s = LoadSnapshotFile(Shipped("registry.yaml"));
    CHECK(s->format() == Format::kNative);
    CHECK(s->source() == Shipped("registry.yaml"));
    CHECK(s->models().size() == 7);
    CHECK(s->CountByStatus(Status::kOnline) == 4);
    CHECK(s->CountByStatus(Status::kTesting) == 1);
    CHECK(s->CountByStatus(Status::kDeprecated) == 1);
    CHECK(s->CountByStatus(Status::kRetired) == 1);
    CHECK(s->CountByStatus(Status::kPlanned) == 0);
    CHECK(ReplacementOf(*s, "Qwen2-7B") == "Qwen3-Next-72B-Cloud");
    CHECK(ReplacementOf(*s, "Qwen3-14B-Chat") == "Qwen3-Next-80B-Optimized");
    auto alias = s->FindExact("qwen3_next_80b_optimized");
    REQUIRE(alias);
    CHECK(alias->alias);
    CHECK(s->models()[alias->model].name == "Qwen3-Next-80B-Optimized");
    CHECK_FALSE(s->FindExact("Qwen3-Next-80B-Local"));
  }
  SECTION("config/registry.v1-models.json") {
    const auto s = LoadSnapshotFile(Shipped("registry.v1-models.json"));
    CHECK(s->format() == Format::kOpenAiList);
    REQUIRE(s->models().size() == 3);
    CHECK(s->models()[0].name == "qwen3_next_80b_optimized");
    CHECK(s->CountByStatus(Status::kOnline) == 3);
  }
  SECTION("a missing file") {
    CHECK_THROWS_WITH(LoadSnapshotFile("/nonexistent/registry.yaml"),
                      StartsWith("/nonexistent/registry.yaml: ") &&
                          Contains("cannot open registry file"));
  }
}

TEST_CASE("duplicate names and aliases are rejected", "[registry]") {
  SECTION("duplicate name") {
    CHECK_THAT(ErrorOf("models:\n  - name: A-1\n  - name: B-2\n  - name: A-1\n"),
               StartsWith(kSource + ": ") && Contains("duplicate model name 'A-1'"));
  }
  SECTION("alias equal to another model's name") {
    const std::string e = ErrorOf(
        "models:\n"
        "  - name: A-1\n"
        "    aliases: [B-2]\n"
        "  - name: B-2\n");
    CHECK_THAT(e, Contains("alias 'B-2' of model 'A-1' is already a model name"));
  }
  SECTION("alias equal to another model's alias") {
    const std::string e = ErrorOf(
        "models:\n"
        "  - name: A-1\n"
        "    aliases: [shared]\n"
        "  - name: B-2\n"
        "    aliases: [other, shared]\n");
    CHECK_THAT(e, Contains("alias 'shared' of model 'B-2' is already an alias of 'A-1'"));
  }
  SECTION("alias equal to the model's own name") {
    CHECK_THAT(ErrorOf("models:\n  - name: A-1\n    aliases: [A-1]\n"),
               Contains("alias 'A-1' of model 'A-1' is already a model name"));
  }
  SECTION("names are case-sensitive, so these are distinct") {
    CHECK(Parse("models: [A-1, a-1]\n")->models().size() == 2);
  }
}

TEST_CASE("model fields are validated with the line of the problem", "[registry]") {
  SECTION("unknown status") {
    const std::string e = ErrorOf(
        "models:\n"
        "  - name: A-1\n"
        "    status: online\n"
        "  - name: B-2\n"
        "    status: live\n");
    CHECK_THAT(e, StartsWith(At(5)));
    CHECK_THAT(e, Contains("unknown status 'live'"));
    CHECK_THAT(e, Contains("online, testing, deprecated, retired or planned"));
  }
  SECTION("status is case-sensitive") {
    CHECK_THAT(ErrorOf("models:\n  - name: A-1\n    status: Online\n"),
               StartsWith(At(3)) && Contains("unknown status 'Online'"));
  }
  SECTION("unknown key in a model") {
    const std::string e = ErrorOf(
        "models:\n"
        "  - name: A-1\n"
        "    aliases: [a]\n"
        "    replaced-by: B-2\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("unknown key 'replaced-by' in model"));
    CHECK_THAT(e, Contains("name, status, aliases, replaced_by"));
  }
  SECTION("unknown top-level key") {
    const std::string e = ErrorOf("models: [A-1]\nmodel: [B-2]\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("unknown top-level key 'model'"));
  }
  SECTION("model without name") {
    CHECK_THAT(ErrorOf("models:\n  - name: A-1\n  - status: online\n"),
               StartsWith(At(3)) && Contains("model without 'name'"));
  }
  SECTION("empty name") {
    CHECK_THAT(ErrorOf("models:\n  - name: ''\n"),
               StartsWith(At(2)) && Contains("'name' must not be empty"));
  }
  SECTION("name that is not a string") {
    CHECK_THAT(ErrorOf("models:\n  - name: [a, b]\n"),
               StartsWith(At(2)) && Contains("'name' must be a string"));
  }
  SECTION("a model that is a list") {
    CHECK_THAT(ErrorOf("models:\n  - [a, b]\n"), StartsWith(At(2)) && Contains("mapping"));
  }
  SECTION("aliases that are not a list") {
    CHECK_THAT(ErrorOf("models:\n  - name: A-1\n    aliases: a\n"),
               StartsWith(At(3)) && Contains("'aliases' must be a list"));
  }
  SECTION("models that are not a list") {
    CHECK_THAT(ErrorOf("models:\n  name: A-1\n"),
               StartsWith(At(2)) && Contains("'models' must be a list"));
  }
}

TEST_CASE("names are limited to 256 bytes of UTF-8", "[registry]") {
  SECTION("256 bytes is fine") {
    const std::string name(kMaxNameBytes, 'a');
    CHECK(Parse("models:\n  - name: " + name + "\n")->models()[0].name == name);
  }
  SECTION("257 bytes is rejected") {
    const std::string e = ErrorOf("models:\n  - name: " + std::string(257, 'a') + "\n");
    CHECK_THAT(e, StartsWith(At(2)));
    CHECK_THAT(e, Contains("longer than 256 bytes"));
  }
  SECTION("an over-long alias is rejected") {
    const std::string e =
        ErrorOf("models:\n  - name: A-1\n    aliases:\n      - " + std::string(300, 'b') + "\n");
    CHECK_THAT(e, StartsWith(At(4)));
    CHECK_THAT(e, Contains("alias is longer than 256 bytes"));
  }
  SECTION("multi-byte names count bytes, not characters") {
    std::string name;
    for (int i = 0; i < 86; ++i) name += "\xE9\x80\x9A";  // 258 bytes, 86 characters
    CHECK_THAT(ErrorOf("models:\n  - name: " + name + "\n"), Contains("longer than 256 bytes"));
  }
  SECTION("a non-UTF-8 name is rejected") {
    const std::string e = ErrorOf("models:\n  - name: A-1\n  - name: \"Qwen\xFF\xFE\"\n");
    CHECK_THAT(e, StartsWith(At(3)));
    CHECK_THAT(e, Contains("not valid UTF-8"));
  }
  SECTION("a non-UTF-8 bare name is rejected") {
    CHECK_THAT(ErrorOf("models:\n  - A-1\n  - Qwen\xC0\xAF\n"), Contains("not valid UTF-8"));
  }
  SECTION("a non-UTF-8 OpenAI id is rejected") {
    CHECK_THAT(ErrorOf("{\"object\":\"list\",\"data\":[{\"id\":\"q\xED\xA0\x80\"}]}"),
               Contains("not valid UTF-8"));
  }
  SECTION("UTF-8 names are fine") {
    const auto s = Parse("models:\n  - name: \xE9\x80\x9A\xE4\xB9\x89-Qwen3\n");
    CHECK(s->FindExact("\xE9\x80\x9A\xE4\xB9\x89-Qwen3"));
  }
}

TEST_CASE("replaced_by must name another model", "[registry]") {
  SECTION("naming nothing") {
    CHECK_THAT(ErrorOf("models:\n  - name: A-1\n    status: retired\n    replaced_by: Nope\n"),
               Contains("model 'A-1' is replaced_by 'Nope', which is not a model name"));
  }
  SECTION("naming an alias") {
    const std::string e = ErrorOf(
        "models:\n"
        "  - name: A-1\n"
        "    status: retired\n"
        "    replaced_by: b-alias\n"
        "  - name: B-2\n"
        "    aliases: [b-alias]\n");
    CHECK_THAT(e, Contains("model 'A-1' is replaced_by 'b-alias', which is not a model name"));
  }
  SECTION("naming itself") {
    CHECK_THAT(ErrorOf("models:\n  - name: A-1\n    status: retired\n    replaced_by: A-1\n"),
               Contains("model 'A-1' is replaced_by itself"));
  }
  SECTION("a cycle of non-serving models") {
    const std::string e = ErrorOf(
        "models:\n"
        "  - {name: A-1, status: retired, replaced_by: B-2}\n"
        "  - {name: B-2, status: deprecated, replaced_by: C-3}\n"
        "  - {name: C-3, status: retired, replaced_by: A-1}\n");
    CHECK_THAT(e, Contains("forms a cycle"));
  }
  SECTION("a cycle of two") {
    CHECK_THAT(ErrorOf("models:\n"
                       "  - {name: A-1, status: retired, replaced_by: B-2}\n"
                       "  - {name: B-2, status: retired, replaced_by: A-1}\n"),
               Contains("forms a cycle"));
  }
  SECTION("a cycle through a serving model is still a cycle") {
    CHECK_THAT(ErrorOf("models:\n"
                       "  - {name: A-1, status: online, replaced_by: B-2}\n"
                       "  - {name: B-2, status: retired, replaced_by: A-1}\n"),
               Contains("forms a cycle"));
  }
  SECTION("a cycle reached from outside it") {
    CHECK_THAT(ErrorOf("models:\n"
                       "  - {name: X-0, status: retired, replaced_by: A-1}\n"
                       "  - {name: A-1, status: retired, replaced_by: B-2}\n"
                       "  - {name: B-2, status: retired, replaced_by: A-1}\n"),
               Contains("forms a cycle"));
  }
}

TEST_CASE("Replacement follows replaced_by to the first serving model", "[registry]") {
  const auto s = Parse(
      "models:\n"
      "  - {name: Old-1, status: retired, replaced_by: Mid-2}\n"
      "  - {name: Mid-2, status: deprecated, replaced_by: Test-3}\n"
      "  - {name: Test-3, status: testing, replaced_by: New-4}\n"
      "  - {name: New-4, status: online}\n"
      "  - {name: Dead-5, status: retired}\n"
      "  - {name: Gone-6, status: retired, replaced_by: Gone-7}\n"
      "  - {name: Gone-7, status: planned}\n"
      "  - {name: Live-8, status: online, replaced_by: New-4}\n");
  SECTION("a serving model replaces itself") {
    CHECK(ReplacementOf(*s, "New-4") == "New-4");
    CHECK(ReplacementOf(*s, "Test-3") == "Test-3");
    CHECK(ReplacementOf(*s, "Live-8") == "Live-8");
  }
  SECTION("the chain stops at the first serving model") {
    CHECK(ReplacementOf(*s, "Old-1") == "Test-3");
    CHECK(ReplacementOf(*s, "Mid-2") == "Test-3");
  }
  SECTION("no replacement declared") { CHECK(s->Replacement(IndexOf(*s, "Dead-5")) == -1); }
  SECTION("a chain of non-serving models ends at its last model") {
    CHECK(ReplacementOf(*s, "Gone-6") == "Gone-7");
    CHECK(s->Replacement(IndexOf(*s, "Gone-7")) == -1);
  }
}

TEST_CASE("CountByStatus counts every status", "[registry]") {
  const auto s = Parse(
      "models:\n"
      "  - {name: a, status: online}\n"
      "  - b\n"
      "  - {name: c, status: testing}\n"
      "  - {name: d, status: deprecated}\n"
      "  - {name: e, status: retired}\n"
      "  - {name: f, status: retired}\n"
      "  - {name: g, status: planned}\n"
      "  - {name: h, status: planned}\n"
      "  - {name: i, status: planned}\n");
  CHECK(s->CountByStatus(Status::kOnline) == 2);
  CHECK(s->CountByStatus(Status::kTesting) == 1);
  CHECK(s->CountByStatus(Status::kDeprecated) == 1);
  CHECK(s->CountByStatus(Status::kRetired) == 2);
  CHECK(s->CountByStatus(Status::kPlanned) == 3);
  std::size_t total = 0;
  for (Status st : kAllStatuses) total += s->CountByStatus(st);
  CHECK(total == s->models().size());
}

TEST_CASE("status and format names round trip", "[registry]") {
  for (Status st : kAllStatuses) CHECK(ParseStatus(StatusName(st)) == st);
  CHECK_FALSE(ParseStatus("active"));
  CHECK_FALSE(ParseStatus(""));
  CHECK(Serves(Status::kOnline));
  CHECK(Serves(Status::kTesting));
  CHECK_FALSE(Serves(Status::kDeprecated));
  CHECK_FALSE(Serves(Status::kRetired));
  CHECK_FALSE(Serves(Status::kPlanned));
  CHECK(FormatName(Format::kNative) == "native");
  CHECK(FormatName(Format::kOpenAiList) == "openai");
}

TEST_CASE("FindExact finds names and aliases byte for byte", "[registry]") {
  const auto s = Parse(
      "models:\n"
      "  - {name: Qwen3-Next-80B-Optimized, aliases: [qwen3_next_80b_optimized, q80]}\n"
      "  - {name: Qwen2-7B, status: retired}\n");
  SECTION("a canonical name") {
    auto hit = s->FindExact("Qwen2-7B");
    REQUIRE(hit);
    CHECK(hit->model == 1);
    CHECK_FALSE(hit->alias);
  }
  SECTION("an alias points at its model") {
    for (const char* a : {"qwen3_next_80b_optimized", "q80"}) {
      auto hit = s->FindExact(a);
      REQUIRE(hit);
      CHECK(hit->model == 0);
      CHECK(hit->alias);
    }
  }
  SECTION("no normalization, no prefixes") {
    CHECK_FALSE(s->FindExact("qwen3-next-80b-optimized"));
    CHECK_FALSE(s->FindExact("Qwen2-7B "));
    CHECK_FALSE(s->FindExact("Qwen2"));
    CHECK_FALSE(s->FindExact(""));
  }
  SECTION("a string_view into a larger buffer") {
    const std::string buf = "xxQwen2-7Byy";
    CHECK(s->FindExact(std::string_view(buf).substr(2, 8)));
  }
}

TEST_CASE("the digest identifies the document", "[registry]") {
  const std::string a = "models: [A-1, B-2]\n";
  const std::string b = "models: [A-1, B-3]\n";
  CHECK(Parse(a)->digest() == Parse(a)->digest());
  CHECK(Parse(a)->digest() != Parse(b)->digest());
  CHECK(Parse(a)->digest() != Parse(a + "# comment\n")->digest());
  CHECK(Parse(a)->digest().size() == 16);
  CHECK(Parse(a)->digest().find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("documents that are not registries are rejected", "[registry]") {
  SECTION("empty document") {
    CHECK_THAT(ErrorOf(""), StartsWith(kSource + ": ") && Contains("empty"));
    CHECK_THAT(ErrorOf("# only a comment\n"), Contains("empty"));
  }
  SECTION("a list at the root") {
    const std::string e = ErrorOf("- A-1\n- B-2\n");
    CHECK_THAT(e, StartsWith(At(1)));
    CHECK_THAT(e, Contains("must be a mapping"));
  }
  SECTION("a scalar at the root") {
    CHECK_THAT(ErrorOf("just text\n"), Contains("must be a mapping"));
  }
  SECTION("a mapping of neither format") {
    CHECK_THAT(ErrorOf("object: list\nitems: []\n"), Contains("'models'"));
    CHECK_THAT(ErrorOf("{\"object\":\"model\",\"data\":[]}"), Contains("'models'"));
  }
  SECTION("invalid YAML") {
    CHECK_THAT(ErrorOf("models:\n  - name: A-1\n  - [unclosed\n"),
               StartsWith(kSource + ":") && Contains("cannot parse registry"));
  }
  SECTION("invalid JSON") {
    CHECK_THAT(ErrorOf("{\"models\": [{\"name\": \"A-1\"},]"), Contains("cannot parse registry"));
  }
  SECTION("an empty models list is an empty registry, not an error") {
    CHECK(Parse("models: []\n")->models().empty());
    CHECK(Parse("models:\n")->models().empty());
  }
}

}  // namespace
}  // namespace model_auditor::registry
