// The Markdown report: the summary says in words what to do (the phantom
// model's spellings, requests, topics and closest registered model), numbers
// read with thousands separators, and no name can break a table or a code span.

#include <catch2/catch.hpp>

#include "report/report.h"

namespace mr = model_auditor::report;
using model_auditor::classify::Verdict;

namespace {

mr::NameRow Row(std::string name, Verdict v, std::string suggestion, std::uint64_t n,
                std::vector<std::string> topics) {
  mr::NameRow r;
  r.model_name = std::move(name);
  r.verdict = v;
  r.suggestion = std::move(suggestion);
  r.messages = n;
  r.first_seen_ms = 1767225600000;
  r.last_seen_ms = 1767225600000 + 86'400'000;
  r.topics = std::move(topics);
  return r;
}

mr::Report PhantomReport() {
  mr::Report r;
  r.generated_at_ms = 1767225600000;
  r.registry.loaded = true;
  r.registry.source = "registry.yaml";
  r.registry.models = 7;
  r.registry.format = "native";
  r.registry.digest = "abc";
  mr::FamilyRow f;
  f.normalized = "qwen3next80blocal";
  const std::vector<std::string> topics[] = {{"a"}, {"b"}, {"c"}};
  std::uint64_t total = 0;
  for (int i = 0; i < 12; ++i) {
    const std::uint64_t n = i == 0 ? 29'994 : 1'025 - static_cast<std::uint64_t>(i);
    f.names.push_back(
        Row(i == 0 ? "Qwen3-Next-80B-Local" : "qwen3-next-80b-local-v" + std::to_string(i),
            Verdict::kUnknown, "", n, topics[i % 3]));
    total += n;
  }
  f.messages = total;
  r.families.push_back(f);
  r.by_verdict[static_cast<std::size_t>(Verdict::kUnknown)] = total;
  r.by_verdict[static_cast<std::size_t>(Verdict::kRegistered)] = 1'000'000;
  r.total_messages = total + 1'000'000;
  return r;
}

}  // namespace

TEST_CASE("the summary names the phantom model, its spellings, requests and topics",
          "[report][markdown]") {
  mr::Report r = PhantomReport();
  REQUIRE(r.families[0].messages == 41'203);
  const std::string md = mr::ToMarkdown(r);
  CHECK_THAT(md,
             Catch::Contains("**12 spellings of an unregistered model `Qwen3-Next-80B-Local`**, "
                             "41,203 requests from 3 topics"));
  CHECK_THAT(md, Catch::Contains("closest registered model: none"));
  CHECK_THAT(md, Catch::Contains("1,041,203 messages audited"));
  CHECK_THAT(md, Catch::Contains("| unknown | 41,203 | 4.0% |"));
  CHECK_THAT(md, Catch::Contains("### 1. `Qwen3-Next-80B-Local` — 41,203 messages, 12 spellings"));
  CHECK(md.find("Nothing to do") == std::string::npos);
}

TEST_CASE("typos point at the registered model and say how to fix them", "[report][markdown]") {
  mr::Report r;
  mr::FamilyRow f;
  f.normalized = "qwentinny";
  f.names.push_back(Row("Qwen-Tinny", Verdict::kTypo, "Qwen-Tiny", 5, {"t"}));
  f.messages = 5;
  r.families.push_back(f);
  r.total_messages = 5;
  r.by_verdict[static_cast<std::size_t>(Verdict::kTypo)] = 5;
  const std::string md = mr::ToMarkdown(r);
  CHECK_THAT(md,
             Catch::Contains(
                 "**1 spelling of the registered model `Qwen-Tiny`** (typo, e.g. `Qwen-Tinny`)"));
  CHECK_THAT(md, Catch::Contains("declare the spellings as aliases"));
}

TEST_CASE("clean traffic says there is nothing to do", "[report][markdown]") {
  mr::Report r;
  r.total_messages = 1'234;
  r.by_verdict[static_cast<std::size_t>(Verdict::kRegistered)] = 1'234;
  const std::string md = mr::ToMarkdown(r);
  CHECK_THAT(md,
             Catch::Contains(
                 "Every message names a registered model or one of its aliases. Nothing to do."));
  CHECK_THAT(md, Catch::Contains("| **total** | **1,234** | |"));
}

TEST_CASE("names cannot break tables or code spans", "[report][markdown]") {
  mr::Report r;
  mr::FamilyRow f;
  f.normalized = "x";
  f.names.push_back(Row("a|b`c``d\n", Verdict::kUnknown, "", 1, {"t|1"}));
  f.messages = 1;
  r.families.push_back(f);
  r.total_messages = 1;
  r.by_verdict[static_cast<std::size_t>(Verdict::kUnknown)] = 1;
  const std::string md = mr::ToMarkdown(r);
  CHECK_THAT(md, Catch::Contains("| ```a\\|b`c``d\\x0a``` | unknown |"));
  CHECK_THAT(md, Catch::Contains("`t\\|1`"));
}

TEST_CASE("an incomplete scan says so first", "[report][markdown]") {
  mr::Report r;
  r.scan.emplace();
  r.scan->complete = false;
  r.scan->inputs.push_back(
      {"calls.gz", "file", "gzip", 0, 0, 0, 0, 0, "calls.gz: unexpected end of gzip data"});
  const std::string md = mr::ToMarkdown(r);
  CHECK_THAT(md, Catch::Contains("**This audit is incomplete**"));
  CHECK_THAT(md, Catch::Contains("**stopped**: `calls.gz: unexpected end of gzip data`"));
}
