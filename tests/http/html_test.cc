#include "http/html.h"

#include <catch2/catch.hpp>

namespace model_auditor::http {

TEST_CASE("HtmlEscape escapes the five HTML-significant characters", "[http]") {
  CHECK(HtmlEscape("") == "");
  CHECK(HtmlEscape("gpt-4o-mini") == "gpt-4o-mini");
  CHECK(HtmlEscape("<script>alert('x')</script>") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  CHECK(HtmlEscape("a\" onmouseover=\"b") == "a&quot; onmouseover=&quot;b");
  CHECK(HtmlEscape("&amp;") == "&amp;amp;");  // escaping is not idempotent, by design
  CHECK(HtmlEscape("modèle-ü") == "modèle-ü");  // UTF-8 passes through untouched
}

}  // namespace model_auditor::http
