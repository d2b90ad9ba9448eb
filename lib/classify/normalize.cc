#include "classify/normalize.h"

#include <algorithm>
#include <set>

#include "util/error.h"
#include "util/text.h"

namespace model_auditor::classify {

std::string Normalize(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  std::size_t i = 0;
  while (i < name.size()) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      ++i;
      if (c >= 'A' && c <= 'Z') {
        out.push_back(static_cast<char>(c - 'A' + 'a'));
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        out.push_back(static_cast<char>(c));
      }
      continue;
    }
    const std::size_t start = i;
    char32_t cp = util::DecodeUtf8(name, i);
    if (cp == 0x3000) continue;  // ideographic space: a separator
    if (cp >= 0xFF01 && cp <= 0xFF5E) {
      auto a = static_cast<unsigned char>(cp - 0xFEE0);
      if (a >= 'A' && a <= 'Z') {
        out.push_back(static_cast<char>(a - 'A' + 'a'));
      } else if ((a >= 'a' && a <= 'z') || (a >= '0' && a <= '9')) {
        out.push_back(static_cast<char>(a));
      }
      continue;
    }
    out.append(name.substr(start, i - start));
  }
  return out;
}

std::vector<std::string> DefaultDecorations() {
  return {"model",   "v<digits>", "deployment", "instance", "prod",    "production",
          "staging", "test",      "cluster",    "service",  "svc",     "latest"};
}

Decorations::Decorations(const std::vector<std::string>& tokens) {
  for (const std::string& raw : tokens) {
    Token t;
    const std::size_t at = raw.find("<digits>");
    if (at != std::string::npos) {
      t.digits = true;
      t.prefix = Normalize(raw.substr(0, at));
      t.suffix = Normalize(raw.substr(at + 8));
    } else {
      t.prefix = Normalize(raw);
    }
    if (!t.digits && t.prefix.empty()) {
      throw LoadError("decoration '" + raw + "' is empty after normalization");
    }
    tokens_.push_back(std::move(t));
  }
}

void Decorations::Matches(std::string_view s, std::vector<std::size_t>& lengths) const {
  lengths.clear();
  for (const Token& t : tokens_) {
    if (!t.digits) {
      if (s.size() > t.prefix.size() && s.ends_with(t.prefix)) lengths.push_back(t.prefix.size());
      continue;
    }
    if (!s.ends_with(t.suffix)) continue;
    std::size_t end = s.size() - t.suffix.size();
    std::size_t d = end;
    while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9') --d;
    if (d == end) continue;  // needs at least one digit
    if (d < t.prefix.size() || s.substr(d - t.prefix.size(), t.prefix.size()) != t.prefix) {
      continue;
    }
    const std::size_t len = s.size() - (d - t.prefix.size());
    if (len < s.size()) lengths.push_back(len);
  }
}

std::vector<std::string> Decorations::Forms(std::string_view normalized) const {
  std::set<std::string> seen;
  std::vector<std::string> frontier{std::string(normalized)};
  seen.insert(std::string(normalized));
  std::vector<std::size_t> lengths;
  // Each step strips at least one byte, so this ends; the bound keeps a
  // pathological name ("prodprodprod...") cheap.
  for (std::size_t round = 0; !frontier.empty() && seen.size() < 64; ++round) {
    std::vector<std::string> next;
    for (const std::string& f : frontier) {
      Matches(f, lengths);
      for (std::size_t len : lengths) {
        std::string stripped = f.substr(0, f.size() - len);
        if (seen.insert(stripped).second) next.push_back(std::move(stripped));
      }
    }
    frontier = std::move(next);
  }
  std::vector<std::string> out(seen.begin(), seen.end());
  std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.size() > b.size();
  });
  return out;
}

std::string Decorations::FamilyKey(std::string_view normalized) const {
  std::string cur(normalized);
  std::vector<std::size_t> lengths;
  for (;;) {
    Matches(cur, lengths);
    if (lengths.empty()) return cur;
    cur.resize(cur.size() - *std::max_element(lengths.begin(), lengths.end()));
  }
}

}  // namespace model_auditor::classify
