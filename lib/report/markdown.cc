// The Markdown rendering of the report, for `scan --format=markdown`: a file a
// person reads top to bottom (or a CI job attaches), so it opens with what to
// do, in words, and keeps the tables for evidence.

#include <algorithm>
#include <cstdio>
#include <set>

#include "report/report.h"
#include "util/text.h"

namespace model_auditor::report {
namespace {

using classify::Verdict;

std::string Thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Plural(std::uint64_t n, const char* one, const char* many) {
  return Thousands(n) + " " + (n == 1 ? one : many);
}

std::string Percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "0.0%";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%",
                100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

// A code span that survives any name: backticks get a longer fence, `|` is
// escaped for tables, control bytes are shown as \xNN.
std::string Code(std::string_view s) {
  std::string body;
  std::size_t run = 0, longest = 0;
  for (const char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      body += hex;
    } else if (c == '|') {
      body += "\\|";
    } else {
      body.push_back(c);
    }
  }
  const std::string fence(longest + 1, '`');
  const bool pad = !body.empty() && (body.front() == '`' || body.back() == '`');
  return fence + (pad ? " " : "") + body + (pad ? " " : "") + fence;
}

std::string Time(std::int64_t ms) {
  const std::string t = util::FormatRfc3339(ms);
  return t.empty() ? "—" : t;
}

// How urgent a family is: the worst verdict among its spellings.
int Severity(Verdict v) {
  switch (v) {
    case Verdict::kUnknown:
      return 4;
    case Verdict::kTypo:
      return 3;
    case Verdict::kVariant:
      return 2;
    case Verdict::kInactive:
      return 1;
    default:
      return 0;
  }
}

struct FamilyFacts {
  const FamilyRow* row = nullptr;
  Verdict worst = Verdict::kInactive;
  std::set<std::string> suggestions;
  std::set<std::string> topics;
  std::int64_t first = 0;
  std::int64_t last = 0;
  bool approximate = false;
};

FamilyFacts Facts(const FamilyRow& f) {
  FamilyFacts x;
  x.row = &f;
  for (const NameRow& n : f.names) {
    if (Severity(n.verdict) > Severity(x.worst)) x.worst = n.verdict;
    if (!n.suggestion.empty()) x.suggestions.insert(n.suggestion);
    x.topics.insert(n.topics.begin(), n.topics.end());
    if (n.first_seen_ms > 0 && (x.first == 0 || n.first_seen_ms < x.first))
      x.first = n.first_seen_ms;
    x.last = std::max(x.last, n.last_seen_ms);
    x.approximate = x.approximate || n.approximate;
  }
  return x;
}

std::string CodeList(const std::set<std::string>& items) {
  std::string out;
  std::size_t i = 0;
  for (const auto& s : items) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += Code(s);
    ++i;
  }
  return out;
}

std::string Finding(const FamilyFacts& x, const char* where_one, const char* where_many) {
  const FamilyRow& f = *x.row;
  const std::string name = Code(f.names.front().model_name);
  const std::string spellings = Plural(f.names.size(), "spelling", "spellings");
  const std::string requests = (x.approximate ? "about " : "") +
                               Plural(f.messages, "request", "requests") + " from " +
                               Plural(x.topics.size(), where_one, where_many);
  const std::string when =
      x.first > 0 ? ", first seen " + Time(x.first) + ", last seen " + Time(x.last) : "";
  const std::string closest = x.suggestions.empty() ? "none" : CodeList(x.suggestions);
  switch (x.worst) {
    case Verdict::kUnknown:
      return "**" + spellings + " of an unregistered model " + name + "**, " + requests + when +
             "; closest registered model: " + closest +
             ". Register the model if it is real; otherwise find its callers and point them at "
             "a registered model.";
    case Verdict::kTypo:
    case Verdict::kVariant:
      return "**" + spellings + " of the registered model " + closest + "** (" +
             std::string(classify::VerdictName(x.worst)) + ", e.g. " + name + "), " + requests +
             when + ". Fix the callers, or declare the spellings as aliases in the registry.";
    default:
      return "**" + name + " is not serving** (deprecated, retired or planned) yet received " +
             requests + when + ". Move its callers to " +
             (x.suggestions.empty() ? std::string("a serving model") : closest) + ".";
  }
}

void Summary(const Report& r, std::string& md) {
  const auto count = [&](Verdict v) { return r.by_verdict[static_cast<std::size_t>(v)]; };
  md += "## Summary\n\n";
  if (r.scan && !r.scan->complete) {
    md +=
        "**This audit is incomplete**: reading stopped early (see Inputs). The figures cover "
        "only what was read.\n\n";
  }
  if (r.total_messages == 0) {
    md += "No messages were audited: the inputs hold no messages in the window.\n\n";
    return;
  }
  const std::uint64_t good = count(Verdict::kRegistered) + count(Verdict::kAlias);
  const std::uint64_t unregistered = count(Verdict::kInactive) + count(Verdict::kVariant) +
                                     count(Verdict::kTypo) + count(Verdict::kUnknown);
  const std::uint64_t nameless = count(Verdict::kMissing) + count(Verdict::kMalformed);
  md += Thousands(r.total_messages) + " messages audited: " + Thousands(good) + " (" +
        Percent(good, r.total_messages) + ") name a registered model or alias, " +
        Thousands(unregistered) + " (" + Percent(unregistered, r.total_messages) +
        ") name a model the registry does not serve, " + Thousands(nameless) + " (" +
        Percent(nameless, r.total_messages) + ") carry no usable name.\n\n";
  const bool files = r.scan && std::any_of(r.scan->inputs.begin(), r.scan->inputs.end(),
                                           [](const ScanInput& in) { return in.kind == "file"; });
  const char* where_one = files ? "source" : "topic";
  const char* where_many = files ? "sources" : "topics";

  std::vector<FamilyFacts> facts;
  for (const FamilyRow& f : r.families) facts.push_back(Facts(f));
  std::stable_sort(facts.begin(), facts.end(), [](const FamilyFacts& a, const FamilyFacts& b) {
    if (Severity(a.worst) != Severity(b.worst)) return Severity(a.worst) > Severity(b.worst);
    return a.row->messages > b.row->messages;
  });
  std::vector<std::string> actions;
  constexpr std::size_t kMaxFindings = 10;
  for (std::size_t i = 0; i < facts.size() && i < kMaxFindings; ++i) {
    actions.push_back(Finding(facts[i], where_one, where_many));
  }
  if (facts.size() > kMaxFindings) {
    actions.push_back("… and " + Plural(facts.size() - kMaxFindings, "more family", "more families") +
                   " under Findings below.");
  }
  if (nameless > 0) {
    std::string s = "**" + Plural(nameless, "message", "messages") +
                    " without a usable model name** (" + Thousands(count(Verdict::kMissing)) +
                    " missing, " + Thousands(count(Verdict::kMalformed)) +
                    " malformed): fix the producers so every request names its model";
    if (r.scan && r.scan->malformed_total > 0) s += "; the first malformed inputs are listed below";
    actions.push_back(s + ".");
  }
  if (r.overflow_messages > 0) {
    actions.push_back("**More than " + Thousands(r.series_cap) + " distinct unregistered names**: " +
                   Plural(r.overflow_messages, "message is", "messages are") +
                   " counted approximately; raise `audit.max_unregistered_series` for exact "
                   "counts.");
  }
  if (actions.empty()) {
    md += "Every message names a registered model or one of its aliases. Nothing to do.\n\n";
    return;
  }
  md += "What to do:\n\n";
  for (const auto& t : actions) md += "- " + t + "\n";
  md += "\n";
}

}  // namespace

std::string ToMarkdown(const Report& r) {
  std::string md;
  md.reserve(16384);
  md += "# Model-name audit\n\n";
  md += "| | |\n|---|---|\n";
  if (r.window_from_ms > 0 || r.window_to_ms > 0) {
    md += "| Window | " + Time(r.window_from_ms) + " to " + Time(r.window_to_ms) +
          " (message timestamps) |\n";
  }
  if (!r.sources.empty()) {
    md += "| Sources | ";
    for (std::size_t i = 0; i < r.sources.size(); ++i) md += (i ? ", " : "") + Code(r.sources[i]);
    md += " |\n";
  }
  if (r.registry.loaded) {
    md += "| Registry | " + Code(r.registry.source) + ": " +
          Plural(r.registry.models, "model", "models") + " (" + r.registry.format +
          " format), digest " + Code(r.registry.digest) + " |\n";
  } else {
    md += "| Registry | not loaded |\n";
  }
  md += "| Generated | " + Time(r.generated_at_ms) + " |\n\n";

  Summary(r, md);

  md += "## Totals\n\n| verdict | messages | share |\n|---|---:|---:|\n";
  for (Verdict v : classify::kAllVerdicts) {
    const std::uint64_t n = r.by_verdict[static_cast<std::size_t>(v)];
    md += "| " + std::string(classify::VerdictName(v)) + " | " + Thousands(n) + " | " +
          Percent(n, r.total_messages) + " |\n";
  }
  md += "| **total** | **" + Thousands(r.total_messages) + "** | |\n\n";

  md += "## Findings by family\n\n";
  if (r.families.empty()) {
    md += "None: every name seen is a registered model or alias.\n\n";
  } else {
    md +=
        "Spellings that normalize to the same name (case, separators, full-width forms and "
        "trailing decorations aside) form one family, heaviest first.\n\n";
    std::size_t i = 0;
    for (const FamilyRow& f : r.families) {
      md += "### " + std::to_string(++i) + ". " + Code(f.names.front().model_name) + " — " +
            Plural(f.messages, "message", "messages") + ", " +
            Plural(f.names.size(), "spelling", "spellings") + " (family " + Code(f.normalized) +
            ")\n\n";
      md +=
          "| model name | verdict | suggestion | messages | first seen | last seen | topics |\n"
          "|---|---|---|---:|---|---|---|\n";
      for (const NameRow& n : f.names) {
        std::string topics;
        for (std::size_t t = 0; t < n.topics.size(); ++t)
          topics += (t ? ", " : "") + Code(n.topics[t]);
        md += "| " + Code(n.model_name) + " | " + std::string(classify::VerdictName(n.verdict)) +
              " | " + (n.suggestion.empty() ? "—" : Code(n.suggestion)) + " | " +
              (n.approximate ? "≤ " : "") + Thousands(n.messages) + " | " + Time(n.first_seen_ms) +
              " | " + Time(n.last_seen_ms) + " | " + (topics.empty() ? "—" : topics) + " |\n";
      }
      md += "\n";
    }
  }

  if (r.scan) {
    const ScanInfo& s = *r.scan;
    md +=
        "## Inputs\n\n| input | kind | detail | messages | bytes | skipped | status |\n"
        "|---|---|---|---:|---:|---:|---|\n";
    for (const ScanInput& in : s.inputs) {
      std::string skipped = Thousands(in.blank + in.outside_window);
      md += "| " + Code(in.name) + " | " + in.kind + " | " + (in.detail.empty() ? "—" : in.detail) +
            " | " + Thousands(in.messages) + " | " + Thousands(in.bytes) + " | " + skipped + " | " +
            (in.error.empty() ? std::string("read to the end") : "**stopped**: " + Code(in.error)) +
            " |\n";
    }
    md +=
        "\nSkipped: blank lines, and lines outside the window (or without a timestamp while a "
        "window is set); they are not messages and count under no verdict.\n\n";
    md += "## Malformed input\n\n";
    if (s.malformed_total == 0) {
      md += "None.\n";
    } else {
      md += Plural(s.malformed_total, "malformed message", "malformed messages");
      if (s.malformed.size() < s.malformed_total) {
        md += "; the first " + std::to_string(s.malformed.size()) + " are listed";
      }
      md += ".\n\n| source | where | reason |\n|---|---|---|\n";
      for (const InputError& e : s.malformed) {
        const std::string where = e.partition >= 0 ? "partition " + std::to_string(e.partition) +
                                                         ", offset " + std::to_string(e.offset)
                                                   : "line " + std::to_string(e.line);
        md += "| " + Code(e.source) + " | " + where + " | " + e.reason + " |\n";
      }
    }
  }
  return md;
}

}  // namespace model_auditor::report
