// libFuzzer harness: the config loader. ParseConfig may reject any input with
// a LoadError naming the file; any other exception, a crash or a sanitizer
// report is a finding. An accepted config is then used the way the daemon
// uses it: its match options build a NameIndex over config/registry.yaml, its
// naming policy lints that registry, and its extraction rules are looked up.

#include <cstddef>
#include <cstdint>
#include <string>

#include "classify/classifier.h"
#include "config/config.h"
#include "fuzz_support.h"
#include "registry/naming.h"
#include "util/error.h"

namespace {
// Absolute, so relative paths inside the config resolve against /etc/model-auditor.
constexpr const char* kPath = "/etc/model-auditor/fuzz.yaml";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace model_auditor;
  const std::string text(reinterpret_cast<const char*>(data), size);
  config::Config cfg;
  try {
    cfg = config::ParseConfig(text, kPath);
  } catch (const LoadError& e) {
    FUZZ_CHECK(fuzz::NamesSource(e.what(), kPath));
    return 0;
  }
  FUZZ_CHECK(cfg.path == kPath);
  FUZZ_CHECK(!cfg.kafka.topics.empty() || !cfg.kafka.topic_regex.empty());
  FUZZ_CHECK(cfg.audit.match.max_distance >= 0);
  for (const char* topic : {"model-inference-requests", "", "a*b?c"}) {
    const config::ExtractionRule& rule = cfg.RuleFor(topic);
    (void)rule.sources.size();
  }
  const classify::NameIndex index(fuzz::ExampleSnapshot(), cfg.audit.match);
  for (const registry::Model& m : index.snapshot().models()) {
    fuzz::ClassifyChecked(m.name, index);
    fuzz::ClassifyChecked(m.name + "-prod", index);
  }
  // The pattern was compiled by ParseConfig, so linting must not throw.
  // std::regex backtracks: a quantified group ("(a+)+") written by the operator
  // can take exponential time on a long name. That is a documented limit of the
  // naming lint (README "Config"), not something the fuzzer should rediscover.
  const std::string& p = cfg.naming.pattern;
  const bool nested = p.find(")+") != std::string::npos || p.find(")*") != std::string::npos ||
                      p.find("){") != std::string::npos;
  if (!nested) {
    const registry::NamingPolicy policy{cfg.naming.pattern, cfg.naming.forbidden_tokens};
    (void)registry::LintNames(index.snapshot(), policy);
  }
  return 0;
}
