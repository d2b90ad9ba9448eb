#pragma once
// The one exception type of start-up and load paths. Its message is already the
// full, user-facing line ("config.yaml:12: unknown key 'brokerz' in kafka").

#include <stdexcept>
#include <string>

namespace model_auditor {

/// A configuration, registry or input error, worded for the operator.
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace model_auditor
