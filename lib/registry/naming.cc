#include "registry/naming.h"

#include <regex>

#include "util/error.h"
#include "util/text.h"

namespace model_auditor::registry {

std::vector<NamingViolation> LintNames(const Snapshot& snapshot, const NamingPolicy& policy) {
  std::vector<NamingViolation> out;
  std::optional<std::regex> re;
  if (!policy.pattern.empty()) {
    try {
      re.emplace(policy.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw LoadError("naming pattern '" + policy.pattern + "' is invalid: " + e.what());
    }
  }
  std::vector<std::string> forbidden;
  for (const auto& t : policy.forbidden_tokens) forbidden.push_back(util::AsciiLower(t));
  for (const Model& m : snapshot.models()) {
    if (re && !std::regex_match(m.name, *re)) {
      out.push_back({m.name, "pattern",
                     "name '" + m.name + "' does not match the naming pattern '" + policy.pattern + "'"});
    }
    std::size_t start = 0;
    const std::string& n = m.name;
    for (std::size_t i = 0; i <= n.size(); ++i) {
      const bool sep = i == n.size() || n[i] == '-' || n[i] == '_' || n[i] == '.' || n[i] == '/' ||
                       n[i] == ' ';
      if (!sep) continue;
      if (i > start) {
        const std::string token = util::AsciiLower(std::string_view(n).substr(start, i - start));
        for (std::size_t f = 0; f < forbidden.size(); ++f) {
          if (token == forbidden[f]) {
            out.push_back({m.name, "forbidden_token:" + policy.forbidden_tokens[f],
                           "name '" + m.name + "' carries forbidden token '" +
                               policy.forbidden_tokens[f] + "'"});
          }
        }
      }
      start = i + 1;
    }
  }
  return out;
}

}  // namespace model_auditor::registry
