// libFuzzer harness: the registry loader (native YAML/JSON and the OpenAI
// /v1/models list), then what a reload does with an accepted snapshot:
// build the classifier's NameIndex and lint the names. ParseSnapshot may
// reject any input with a LoadError naming the source; any other exception, a
// crash or a sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "classify/classifier.h"
#include "fuzz_support.h"
#include "registry/naming.h"
#include "registry/registry.h"
#include "util/error.h"

namespace {
constexpr const char* kSource = "fuzz-registry.yaml";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace model_auditor;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::shared_ptr<const registry::Snapshot> snap;
  try {
    snap = registry::ParseSnapshot(text, kSource);
  } catch (const LoadError& e) {
    FUZZ_CHECK(fuzz::NamesSource(e.what(), kSource));
    return 0;
  }
  FUZZ_CHECK(snap != nullptr);
  const auto& models = snap->models();
  std::size_t by_status = 0;
  for (registry::Status s : registry::kAllStatuses) by_status += snap->CountByStatus(s);
  FUZZ_CHECK(by_status == models.size());

  const classify::NameIndex index(snap, classify::MatchOptions{});
  // Every declared name and alias is an exact hit on its own model.
  for (std::size_t i = 0; i < models.size() && i < 64; ++i) {
    const registry::Model& m = models[i];
    FUZZ_CHECK(!m.name.empty() && m.name.size() <= registry::kMaxNameBytes);
    const classify::Classification c = classify::Classify(m.name, index);
    FUZZ_CHECK(classify::NamesRegistryEntry(c.verdict));
    FUZZ_CHECK(c.model == static_cast<std::int32_t>(i));
    FUZZ_CHECK(c.verdict != classify::Verdict::kAlias);
    fuzz::ClassifyChecked(m.name, index);
    for (const std::string& alias : m.aliases) {
      const classify::Classification a = classify::Classify(alias, index);
      FUZZ_CHECK(a.model == static_cast<std::int32_t>(i));
      FUZZ_CHECK(a.verdict == (registry::Serves(m.status) ? classify::Verdict::kAlias
                                                          : classify::Verdict::kInactive));
    }
    const std::int32_t r = snap->Replacement(static_cast<std::uint32_t>(i));
    FUZZ_CHECK(r >= -1 && r < static_cast<std::int32_t>(models.size()));
    // A near miss of a real name must classify without breaking the contract.
    fuzz::ClassifyChecked(m.name.substr(0, m.name.size() - 1) + "x", index);
  }
  (void)registry::LintNames(*snap, fuzz::ExamplePolicy());
  return 0;
}
