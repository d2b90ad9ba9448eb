#include "http/html.h"

namespace model_auditor::http {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  // Most names need no escaping; reserving a little slack avoids a regrow for the few that do.
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        // &#39; rather than &apos;, which HTML 4 browsers do not know.
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace model_auditor::http
