// The verdict table of SPEC "Verdicts", name by name, plus property tests of
// normalization, digit runs and the deletion-neighbourhood index.

#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "classify/classifier.h"
#include "registry/registry.h"
#include "util/text.h"

namespace ma = model_auditor;
using ma::classify::Classify;
using ma::classify::Verdict;

namespace {

const char* kRegistry = R"(
models:
  - name: Qwen3-Next-80B-Optimized
    status: online
    aliases: [qwen3_next_80b_optimized, Qwen80B]
  - name: Qwen3-Next-72B-Cloud
  - name: Llama3-70B-Local
  - name: Qwen-Tiny
  - name: StableDiffusionXL
    status: testing
  - name: Qwen2-7B
    status: retired
    replaced_by: Qwen3-Next-72B-Cloud
    aliases: [qwen2_7b_chat]
  - name: Qwen3-14B-Chat
    status: deprecated
    replaced_by: Qwen3-Next-80B-Optimized
  - name: Qwen3-7B
  - name: Mistral-7B-Instruct
    status: planned
  - name: GLM-4-Air
  - name: GLM-4-Aim
  - name: 通义千问-Max
  - name: DeepSeek-V3
  - name: Yi-34B
  - name: yi_34b
)";

std::shared_ptr<const ma::classify::NameIndex> Index() {
  static auto index = std::make_shared<const ma::classify::NameIndex>(
      ma::registry::ParseSnapshot(kRegistry, "test-registry"), ma::classify::MatchOptions{});
  return index;
}

struct Case {
  const char* name;
  Verdict verdict;
  const char* suggestion;
};

}  // namespace

TEST_CASE("every verdict of the SPEC table, name by name", "[classify]") {
  const auto index = Index();
  // clang-format off
  const std::vector<Case> cases = {
      // registered: exact canonical names of serving models
      {"Qwen3-Next-80B-Optimized", Verdict::kRegistered, ""},
      {"Qwen-Tiny", Verdict::kRegistered, ""},
      {"StableDiffusionXL", Verdict::kRegistered, ""},  // testing serves
      {"通义千问-Max", Verdict::kRegistered, ""},
      {"DeepSeek-V3", Verdict::kRegistered, ""},
      // alias
      {"qwen3_next_80b_optimized", Verdict::kAlias, "Qwen3-Next-80B-Optimized"},
      {"Qwen80B", Verdict::kAlias, "Qwen3-Next-80B-Optimized"},
      // inactive: exact names and aliases of models that must not get traffic
      {"Qwen2-7B", Verdict::kInactive, "Qwen3-Next-72B-Cloud"},
      {"qwen2_7b_chat", Verdict::kInactive, "Qwen3-Next-72B-Cloud"},
      {"Qwen3-14B-Chat", Verdict::kInactive, "Qwen3-Next-80B-Optimized"},
      {"Mistral-7B-Instruct", Verdict::kInactive, ""},  // planned, no replacement
      // variant: case, separators, full-width, decorations
      {"qwen3-next-80b-optimized", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3Next80BOptimized", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"QWEN3_NEXT_80B_OPTIMIZED", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3.Next.80B.Optimized", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"qwen3/next/80b/optimized", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {" Qwen3-Next-80B-Optimized ", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Prod", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Model", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-v2", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Deployment", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Instance", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Production", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Staging", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Test", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Cluster", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Service", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-svc", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-latest", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized-Prod-v1", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"Qwen3-Next-80B-Optimized\u3000Prod", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"\uFF31\uFF57\uFF45\uFF4E\uFF13\uFF0D\uFF2E\uFF45\uFF58\uFF54\uFF0D\uFF18\uFF10\uFF22\uFF0D"
       "\uFF2F\uFF50\uFF54\uFF49\uFF4D\uFF49\uFF5A\uFF45\uFF44", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},
      {"\uFF31\uFF57\uFF45\uFF4E\uFF0D\uFF34\uFF49\uFF4E\uFF59", Verdict::kVariant, "Qwen-Tiny"},
      {"Qwen-Tiny\u3000", Verdict::kVariant, "Qwen-Tiny"},
      {"通义千问_max", Verdict::kVariant, "通义千问-Max"},
      {"QWEN80B", Verdict::kVariant, "Qwen3-Next-80B-Optimized"},  // variant of an alias
      {"qwen2-7b", Verdict::kVariant, "Qwen3-Next-72B-Cloud"},     // retired: its replacement
      {"QWEN2_7B_CHAT", Verdict::kVariant, "Qwen3-Next-72B-Cloud"},  // alias of a retired model
      {"mistral_7b_instruct", Verdict::kVariant, "Mistral-7B-Instruct"},  // no replacement: itself
      {"deepseek-v3", Verdict::kVariant, "DeepSeek-V3"},  // v<digits> is part of the name here
      {"DeepSeek-V3-latest", Verdict::kVariant, "DeepSeek-V3"},
      {"Llama3-70B-Local-Service", Verdict::kVariant, "Llama3-70B-Local"},
      // typo: OSA distance <= 2 and <= len/5, identical digit runs, one model
      {"Qwen3-Next-80B-Optimzed", Verdict::kTypo, "Qwen3-Next-80B-Optimized"},    // deletion
      {"Qwen3-Next-80B-Optimised", Verdict::kTypo, "Qwen3-Next-80B-Optimized"},   // substitution
      {"Qwen3-Next-80B-Optimiezd", Verdict::kTypo, "Qwen3-Next-80B-Optimized"},   // transposition
      {"Qwen3-Next-80B-Otpimzied", Verdict::kTypo, "Qwen3-Next-80B-Optimized"},   // two transpositions
      {"Qwen3-Next-80B-Optimzed-Prod", Verdict::kTypo, "Qwen3-Next-80B-Optimized"},  // decorated typo
      {"Qwen3-Next-72B-Clod", Verdict::kTypo, "Qwen3-Next-72B-Cloud"},
      {"Lama3-70B-Local", Verdict::kTypo, "Llama3-70B-Local"},
      {"Qwen-Tinny", Verdict::kTypo, "Qwen-Tiny"},
      {"Qwen-Tny", Verdict::kTypo, "Qwen-Tiny"},
      {"Stable-Difusion-XL", Verdict::kTypo, "StableDiffusionXL"},
      {"Qwen3-14B-Chta", Verdict::kTypo, "Qwen3-Next-80B-Optimized"},  // typo of a deprecated model
      {"通义千回-Max", Verdict::kTypo, "通义千问-Max"},  // distance counts code points, not bytes
      // unknown
      {"Qwen3-Next-80B-Local", Verdict::kUnknown, ""},  // the phantom
      {"qwen3_next_80b_local", Verdict::kUnknown, ""},
      {"Qwen3-Next-80B-Local-Prod", Verdict::kUnknown, ""},
      {"Qwen5-7B", Verdict::kUnknown, ""},             // numbers never fuzz
      {"Qwen3-Next-8B-Cloud", Verdict::kUnknown, ""},  // 8B is not 72B
      {"Qwen3-Next-82B-Optimized", Verdict::kUnknown, ""},
      {"GLM-4-Aix", Verdict::kUnknown, ""},            // equally near Air and Aim: ambiguous
      {"YI34B", Verdict::kUnknown, ""},                // two models normalize alike: ambiguous
      {"Qwen-Ti", Verdict::kUnknown, ""},              // distance 2 > len/5 = 1
      {"Qwen3-Next-80B-Optmzd", Verdict::kUnknown, ""},  // distance 3
      {"Qwen-Tiny-Local", Verdict::kUnknown, ""},      // 'local' is no decoration
      {"gpt-4o", Verdict::kUnknown, ""},
      {"---", Verdict::kUnknown, ""},
      {"千问", Verdict::kUnknown, ""},
  };
  // clang-format on
  REQUIRE(cases.size() >= 60);
  for (const Case& c : cases) {
    INFO("name: '" << c.name << "'");
    const auto got = Classify(c.name, *index);
    CHECK(ma::classify::VerdictName(got.verdict) == ma::classify::VerdictName(c.verdict));
    CHECK(ma::classify::SuggestionName(got, index->snapshot()) == std::string_view(c.suggestion));
  }
}

TEST_CASE("the twelve spellings of the phantom model are one family", "[classify]") {
  const ma::classify::Decorations deco(ma::classify::DefaultDecorations());
  const std::vector<std::string> spellings = {
      "Qwen3-Next-80B-Local",       "qwen3-next-80b-local",          "Qwen3_Next_80B_Local",
      "Qwen3Next80BLocal",          "Qwen3-Next-80B-Local-Model",    "Qwen3-Next-80B-Local-v1",
      "Qwen3-Next-80B-Local-Deployment", "Qwen3-Next-80B-Local-Instance", "Qwen3-Next-80B-Local-Prod",
      "Qwen3-Next-80B-Local-Test",  "Qwen3-Next-80B-Local-Cluster",  "Qwen3-Next-80B-Local-Service"};
  for (const auto& s : spellings) {
    INFO(s);
    CHECK(deco.FamilyKey(ma::classify::Normalize(s)) == "qwen3next80blocal");
    CHECK(Classify(s, *Index()).verdict == Verdict::kUnknown);
  }
}

TEST_CASE("normalization folds full-width forms and ASCII case and drops ASCII separators",
          "[classify]") {
  using ma::classify::Normalize;
  CHECK(Normalize("Qwen3-Next_80B.Optimized/x y") == "qwen3next80boptimizedxy");
  CHECK(Normalize("\uFF31\uFF57\uFF45\uFF4E\u3000\uFF13") == "qwen3");
  CHECK(Normalize("通义-千问") == "通义千问");
  CHECK(Normalize("Ａ！Ｂ") == "ab");
  CHECK(Normalize("é-É") == "éÉ");  // only ASCII case folds
}

TEST_CASE("decorations strip repeatedly but never to an empty name", "[classify]") {
  const ma::classify::Decorations deco(ma::classify::DefaultDecorations());
  const auto forms = deco.Forms("fooprodv2");
  REQUIRE(forms.size() == 3);
  CHECK(forms[0] == "fooprodv2");
  CHECK(forms[1] == "fooprod");
  CHECK(forms[2] == "foo");
  CHECK(deco.FamilyKey("prod") == "prod");
  CHECK(deco.FamilyKey("prodprod") == "prod");
  CHECK(deco.FamilyKey("v2") == "v2");
  // "latest" ends with "test": both strippings are forms.
  const auto branches = deco.Forms("foolatest");
  CHECK(std::find(branches.begin(), branches.end(), "foo") != branches.end());
  CHECK(std::find(branches.begin(), branches.end(), "foola") != branches.end());
  const ma::classify::Decorations custom({"edge", "r<digits>c"});
  CHECK(custom.FamilyKey("modelr12cedge") == "model");
}

TEST_CASE("OSA distance counts a transposition as one edit", "[classify]") {
  using ma::classify::OsaDistance;
  CHECK(OsaDistance(U"abcd", U"abdc", 2) == 1);
  CHECK(OsaDistance(U"abcd", U"abcd", 2) == 0);
  CHECK(OsaDistance(U"abcd", U"ab", 2) == 2);
  CHECK(OsaDistance(U"abcd", U"a", 2) == 3);  // limit + 1
  CHECK(OsaDistance(U"ca", U"abc", 5) == 3);  // OSA, not unrestricted Damerau (2)
}

TEST_CASE("any case, separator or full-width mangling of a registry name is its variant",
          "[classify][property]") {
  const auto index = Index();
  const auto& models = index->snapshot().models();
  std::mt19937 rng(42);
  const char seps[] = {'-', '_', '.', ' ', '/'};
  int checked = 0;
  for (std::uint32_t m = 0; m < models.size(); ++m) {
    std::vector<std::string> names = {models[m].name};
    names.insert(names.end(), models[m].aliases.begin(), models[m].aliases.end());
    for (const std::string& name : names) {
      const auto* owners = index->FindNormalized(ma::classify::Normalize(name));
      REQUIRE(owners != nullptr);
      if (owners->size() != 1) continue;  // deliberately ambiguous pair (Yi-34B / yi_34b)
      for (int round = 0; round < 200; ++round) {
        std::string mangled;
        std::size_t i = 0;
        while (i < name.size()) {
          const std::size_t start = i;
          const char32_t cp = ma::util::DecodeUtf8(name, i);
          if (rng() % 4 == 0) mangled.push_back(seps[rng() % 5]);
          if (rng() % 8 == 0) ma::util::AppendUtf8(mangled, U'\u3000');
          if (cp >= '!' && cp <= '~') {
            char c = static_cast<char>(cp);
            if (rng() % 2 && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
            else if (rng() % 2 && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
            if (rng() % 3 == 0) {
              ma::util::AppendUtf8(mangled, static_cast<char32_t>(c) + 0xFEE0);
            } else {
              mangled.push_back(c);
            }
          } else {
            mangled.append(name, start, i - start);
          }
        }
        INFO("from '" << name << "' mangled to '" << mangled << "'");
        const auto c = Classify(mangled, *index);
        if (mangled == name) {
          CHECK(c.verdict != Verdict::kVariant);
        } else {
          CHECK(c.verdict == Verdict::kVariant);
        }
        CHECK(c.model == static_cast<std::int32_t>(m));
        ++checked;
      }
    }
  }
  CHECK(checked > 2000);
}

// SPEC: fuzzy matching runs on the normalized name and its decoration-stripped
// forms, and the digit runs of the compared names must be identical. So a name
// none of whose forms carries the digit runs of a registry name is never a
// typo ("Qwen3-Next-80B-Optimzed-v2" may be one: its stripped form keeps 3.80).
TEST_CASE("a name whose digit runs differ from every registry name is never a typo",
          "[classify][property]") {
  const auto index = Index();
  std::set<std::string> registry_runs;
  for (const auto& m : index->snapshot().models()) {
    registry_runs.insert(ma::classify::DigitRuns(ma::classify::ToCodePoints(ma::classify::Normalize(m.name))));
    for (const auto& a : m.aliases) {
      registry_runs.insert(ma::classify::DigitRuns(ma::classify::ToCodePoints(ma::classify::Normalize(a))));
    }
  }
  std::mt19937 rng(7);
  int checked = 0;
  for (const auto& m : index->snapshot().models()) {
    for (int round = 0; round < 300; ++round) {
      std::string s = m.name;
      // One or two random edits, at least one touching a digit.
      const int edits = 1 + static_cast<int>(rng() % 2);
      for (int e = 0; e < edits; ++e) {
        const std::size_t pos = rng() % (s.size() + 1);
        switch (rng() % 3) {
          case 0: s.insert(pos, 1, static_cast<char>('0' + rng() % 10)); break;
          case 1: if (pos < s.size()) s[pos] = static_cast<char>('a' + rng() % 26); break;
          default: if (pos < s.size()) s.erase(pos, 1); break;
        }
      }
      if (!ma::util::IsValidUtf8(s)) continue;
      const std::string normalized = ma::classify::Normalize(s);
      bool shares = false;
      for (const auto& form : index->decorations().Forms(normalized)) {
        shares = shares ||
                 registry_runs.count(ma::classify::DigitRuns(ma::classify::ToCodePoints(form))) > 0;
      }
      if (shares) continue;
      INFO("name '" << s << "'");
      CHECK(Classify(s, *index).verdict != Verdict::kTypo);
      ++checked;
    }
  }
  CHECK(checked > 500);
}

TEST_CASE("the deletion index finds exactly what a linear scan finds", "[classify][property]") {
  // A registry of generated names, and queries near them: FindNear must agree
  // with a brute-force scan (same best distance, same models).
  std::mt19937 rng(1234);
  auto word = [&](std::size_t len) {
    std::string s;
    for (std::size_t i = 0; i < len; ++i) s.push_back(static_cast<char>('a' + rng() % 6));
    return s;
  };
  std::string yaml = "models:\n";
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) {
    std::string n = word(5 + rng() % 8) + "-" + std::to_string(rng() % 3);
    if (std::find(names.begin(), names.end(), n) != names.end()) continue;
    names.push_back(n);
    yaml += "  - name: " + n + "\n";
  }
  ma::classify::NameIndex index(ma::registry::ParseSnapshot(yaml, "gen"), {});
  std::vector<std::u32string> keys;
  for (const auto& n : names) keys.push_back(ma::classify::ToCodePoints(ma::classify::Normalize(n)));
  int compared = 0;
  for (int q = 0; q < 600; ++q) {
    std::string s = ma::classify::Normalize(names[rng() % names.size()]);
    for (int e = 0, n = 1 + static_cast<int>(rng() % 3); e < n; ++e) {
      const std::size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0: s.insert(pos, 1, static_cast<char>('a' + rng() % 6)); break;
        case 1: s[pos] = static_cast<char>('a' + rng() % 6); break;
        case 2: if (s.size() > 2) s.erase(pos, 1); break;
        default: if (pos + 1 < s.size()) std::swap(s[pos], s[pos + 1]); break;
      }
    }
    const std::u32string query = ma::classify::ToCodePoints(s);
    const int max_d = std::min<int>(2, static_cast<int>(query.size() / 5));
    const auto got = index.FindNear(query, max_d);
    int best = max_d + 1;
    std::set<std::uint32_t> expect;
    for (std::uint32_t k = 0; k < keys.size(); ++k) {
      if (ma::classify::DigitRuns(keys[k]) != ma::classify::DigitRuns(query)) continue;
      const int d = ma::classify::OsaDistance(query, keys[k], max_d);
      if (d > max_d) continue;
      if (d < best) {
        best = d;
        expect.clear();
      }
      if (d == best) expect.insert(k);  // one model per key in this registry
    }
    INFO("query '" << s << "'");
    CHECK(std::set<std::uint32_t>(got.models.begin(), got.models.end()) == expect);
    if (!expect.empty()) CHECK(got.distance == best);
    ++compared;
  }
  CHECK(compared == 600);
}
