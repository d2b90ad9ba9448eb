#pragma once
// Naming policy lint for registry names (SPEC "Naming policy"): a regex that
// canonical names must match and tokens they must not carry. Violations are
// reported, never used to reject traffic.

#include <string>
#include <utility>
#include <vector>

#include "registry/registry.h"

namespace model_auditor::registry {

/// Policy: `pattern` (ECMAScript regex, empty = none) and forbidden tokens,
/// compared case-insensitively with the name's tokens split at -_./ and space.
struct NamingPolicy {
  std::string pattern;
  std::vector<std::string> forbidden_tokens;
};

/// One violation: the model's canonical name and the rule it breaks
/// ("pattern" or "forbidden_token:Local").
struct NamingViolation {
  std::string model;
  std::string rule;
  std::string message;  // e.g. "name 'Llama3-70B-Local' carries forbidden token 'Local'"
};

/// Every violation in `snapshot`, in registry order. Throws LoadError on an
/// invalid pattern.
std::vector<NamingViolation> LintNames(const Snapshot& snapshot, const NamingPolicy& policy);

}  // namespace model_auditor::registry
