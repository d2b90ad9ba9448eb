#pragma once
// Shared by the fuzz harnesses: fixtures built once per process from the
// committed example files, and a check that aborts loudly (libFuzzer and the
// replay main both turn an abort into a reported, saved crash input).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "classify/classifier.h"
#include "registry/naming.h"
#include "registry/registry.h"

#ifndef MODEL_AUDITOR_SOURCE_DIR
#error "MODEL_AUDITOR_SOURCE_DIR must name the source tree (fuzz/CMakeLists.txt sets it)"
#endif

namespace model_auditor::fuzz {

// A broken contract is a finding like a sanitizer report: print it, abort.
#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: fuzz contract broken: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

/// config/registry.yaml, parsed once.
inline const std::shared_ptr<const registry::Snapshot>& ExampleSnapshot() {
  static const std::shared_ptr<const registry::Snapshot> snapshot =
      registry::LoadSnapshotFile(MODEL_AUDITOR_SOURCE_DIR "/config/registry.yaml");
  return snapshot;
}

/// The naming policy of config/example.yaml.
inline const registry::NamingPolicy& ExamplePolicy() {
  static const registry::NamingPolicy policy{R"(^[A-Za-z][A-Za-z0-9.]*(-[A-Za-z0-9.]+)+$)",
                                             {"Local", "Prod", "Test"}};
  return policy;
}

/// Errors of the load paths read "<source>:<line>: what" or "<source>: what";
/// a message that does not name its source is a bug the operator would see.
inline bool NamesSource(std::string_view message, std::string_view source) {
  return message.substr(0, source.size()) == source && message.size() > source.size() &&
         message[source.size()] == ':';
}

/// Classifies `name` and checks the classifier's documented contract.
inline void ClassifyChecked(std::string_view name, const classify::NameIndex& index) {
  const classify::Classification c = classify::Classify(name, index);
  FUZZ_CHECK(c.verdict != classify::Verdict::kMalformed && c.verdict != classify::Verdict::kMissing);
  const auto models = static_cast<std::int32_t>(index.snapshot().models().size());
  FUZZ_CHECK(c.model >= -1 && c.model < models);
  FUZZ_CHECK(c.suggestion >= -1 && c.suggestion < models);
  if (classify::NamesRegistryEntry(c.verdict)) FUZZ_CHECK(c.model >= 0);
  if (c.verdict == classify::Verdict::kTypo) {
    FUZZ_CHECK(c.distance >= 1 && c.distance <= index.max_distance());
  }
  const std::string_view suggestion = classify::SuggestionName(c, index.snapshot());
  FUZZ_CHECK((c.suggestion < 0) == suggestion.empty());
}

}  // namespace model_auditor::fuzz
