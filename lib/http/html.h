#pragma once

#include <string>
#include <string_view>

namespace model_auditor::http {

/// Escapes `& < > " '` so that text can be placed in HTML element content and quoted attribute
/// values. Model names and other strings shown on the landing page come from Kafka producers and
/// must be treated as attacker-controlled. Thread-safe (pure function).
std::string HtmlEscape(std::string_view text);

}  // namespace model_auditor::http
