#include "registry/naming.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "util/error.h"

namespace model_auditor::registry {
namespace {

using Catch::Matchers::Contains;

const std::string kExamplePattern = "^[A-Za-z][A-Za-z0-9.]*(-[A-Za-z0-9.]+)+$";

std::shared_ptr<const Snapshot> Registry(const std::vector<std::string>& names) {
  std::string text = "models:\n";
  for (const auto& n : names) text += "  - \"" + n + "\"\n";
  return ParseSnapshot(text, "registry.yaml");
}

// The rules broken by `name` under `policy`.
std::vector<std::string> RulesBrokenBy(const std::string& name, const NamingPolicy& policy) {
  std::vector<std::string> rules;
  for (const auto& v : LintNames(*Registry({name}), policy)) {
    CHECK(v.model == name);
    rules.push_back(v.rule);
  }
  return rules;
}

using Rules = std::vector<std::string>;

TEST_CASE("forbidden tokens match whole tokens, case-insensitively", "[registry][naming]") {
  const NamingPolicy policy{"", {"Local", "Prod", "Test"}};
  SECTION("a token at the end") {
    CHECK(RulesBrokenBy("Llama3-70B-Local", policy) == Rules{"forbidden_token:Local"});
  }
  SECTION("the phantom model of the audit") {
    CHECK(RulesBrokenBy("Qwen3-Next-80B-Local", policy) == Rules{"forbidden_token:Local"});
  }
  SECTION("any case") {
    CHECK(RulesBrokenBy("llama3-70b-local", policy) == Rules{"forbidden_token:Local"});
    CHECK(RulesBrokenBy("LLAMA3-70B-LOCAL", policy) == Rules{"forbidden_token:Local"});
  }
  SECTION("every separator splits tokens") {
    CHECK(RulesBrokenBy("a_local", policy) == Rules{"forbidden_token:Local"});
    CHECK(RulesBrokenBy("a.local", policy) == Rules{"forbidden_token:Local"});
    CHECK(RulesBrokenBy("org/local", policy) == Rules{"forbidden_token:Local"});
    CHECK(RulesBrokenBy("a local", policy) == Rules{"forbidden_token:Local"});
  }
  SECTION("a token at the start or alone") {
    CHECK(RulesBrokenBy("Prod-Qwen3", policy) == Rules{"forbidden_token:Prod"});
    CHECK(RulesBrokenBy("Test", policy) == Rules{"forbidden_token:Test"});
  }
  SECTION("a token inside a longer word is not the token") {
    CHECK(RulesBrokenBy("Localhost-7B", policy).empty());
    CHECK(RulesBrokenBy("Qwen3-Locale", policy).empty());
    CHECK(RulesBrokenBy("Qwen3-GlobalLocal", policy).empty());
    CHECK(RulesBrokenBy("Production-Qwen", policy).empty());
    CHECK(RulesBrokenBy("Attestation-1B", policy).empty());
    CHECK(RulesBrokenBy("Qwen3Local", policy).empty());
  }
  SECTION("several tokens give several violations, in name order") {
    CHECK(RulesBrokenBy("Test-Qwen-Local", policy) ==
          Rules{"forbidden_token:Test", "forbidden_token:Local"});
  }
  SECTION("the message names the model and the token") {
    const auto v = LintNames(*Registry({"Llama3-70B-Local"}), policy);
    REQUIRE(v.size() == 1);
    CHECK(v[0].message == "name 'Llama3-70B-Local' carries forbidden token 'Local'");
  }
  SECTION("aliases are not linted") {
    const auto s = ParseSnapshot("models:\n  - {name: Qwen3-8B, aliases: [qwen3-8b-local]}\n",
                                 "registry.yaml");
    CHECK(LintNames(*s, policy).empty());
  }
}

TEST_CASE("the naming pattern must match the whole name", "[registry][naming]") {
  const NamingPolicy policy{kExamplePattern, {}};
  CHECK(RulesBrokenBy("Qwen3-Next-80B-Optimized", policy).empty());
  CHECK(RulesBrokenBy("Qwen-Tiny", policy).empty());
  CHECK(RulesBrokenBy("StableDiffusionXL", policy) == Rules{"pattern"});
  CHECK(RulesBrokenBy("qwen3_next_80b_optimized", policy) == Rules{"pattern"});
  CHECK(RulesBrokenBy("3-Qwen", policy) == Rules{"pattern"});
  SECTION("regex_match, not regex_search") {
    const NamingPolicy partial{"[A-Z]+", {}};
    CHECK(RulesBrokenBy("ABC", partial).empty());
    CHECK(RulesBrokenBy("ABCd", partial) == Rules{"pattern"});
  }
  SECTION("the message quotes name and pattern") {
    const auto v = LintNames(*Registry({"StableDiffusionXL"}), policy);
    REQUIRE(v.size() == 1);
    CHECK_THAT(v[0].message, Contains("'StableDiffusionXL'") && Contains(kExamplePattern));
  }
  SECTION("an empty pattern checks nothing") {
    CHECK(RulesBrokenBy("anything goes", NamingPolicy{}).empty());
  }
  SECTION("an invalid pattern throws") {
    CHECK_THROWS_AS(LintNames(*Registry({"a"}), NamingPolicy{"^([", {}}), LoadError);
  }
}

TEST_CASE("LintNames reports every violation of the shipped registry in registry order",
          "[registry][naming]") {
  const auto s = LoadSnapshotFile(std::string(MODEL_AUDITOR_SOURCE_DIR) + "/config/registry.yaml");
  const auto v = LintNames(*s, NamingPolicy{kExamplePattern, {"Local", "Prod", "Test"}});
  REQUIRE(v.size() == 2);
  CHECK(v[0].model == "Llama3-70B-Local");
  CHECK(v[0].rule == "forbidden_token:Local");
  CHECK(v[1].model == "StableDiffusionXL");
  CHECK(v[1].rule == "pattern");
}

}  // namespace
}  // namespace model_auditor::registry
