#include "report/report.h"

#include <algorithm>
#include <map>

#include "http/html.h"
#include "util/json.h"
#include "util/text.h"

namespace model_auditor::report {
namespace {

std::vector<std::string> TopicNames(std::uint64_t mask,
                                    const std::vector<const metrics::TopicStats*>& topics) {
  std::vector<std::string> out;
  for (const auto* t : topics) {
    if (t->index < 64 && (mask >> t->index) & 1) out.push_back(t->name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// "2026-11-29 07:22:38Z": the page is for eyes; the JSON keeps milliseconds.
std::string ShortTime(std::int64_t ms) {
  std::string t = util::FormatRfc3339(ms);
  if (t.size() < 20) return t;
  t[10] = ' ';
  return t.substr(0, 19) + "Z";
}

}  // namespace

Report BuildReport(const metrics::AuditMetrics& metrics, std::size_t series_cap) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  Report r;
  r.generated_at_ms = util::NowUnixMs();
  r.registry = metrics.Registry();
  r.series_cap = series_cap;
  const auto topics = metrics.Topics();
  for (const auto* t : topics) {
    for (std::size_t v = 0; v < classify::kVerdictCount; ++v) {
      const std::uint64_t n = t->verdicts[v].load(kRelaxed);
      r.by_verdict[v] += n;
      r.total_messages += n;
    }
  }
  std::map<std::string, FamilyRow> families;
  for (const metrics::NameStats* n : metrics.Names()) {
    NameRow row;
    row.model_name = n->name;
    row.verdict = n->verdict;
    row.suggestion = n->suggestion;
    row.messages = n->messages.load(kRelaxed);
    row.first_seen_ms = n->first_seen_ms.load(kRelaxed);
    row.last_seen_ms = n->last_seen_ms.load(kRelaxed);
    row.topics = TopicNames(n->topic_mask.load(kRelaxed), topics);
    FamilyRow& f = families[n->family];
    f.normalized = n->family;
    f.messages += row.messages;
    f.names.push_back(std::move(row));
  }
  for (const metrics::OverflowName& o : metrics.OverflowNames()) {
    NameRow row;
    row.model_name = o.name;
    row.verdict = o.verdict;
    row.suggestion = o.suggestion;
    row.messages = o.messages;
    row.first_seen_ms = o.first_seen_ms;
    row.last_seen_ms = o.last_seen_ms;
    row.approximate = true;
    row.error = o.error;
    FamilyRow& f = families[o.family];
    f.normalized = o.family;
    f.messages += row.messages;
    f.names.push_back(std::move(row));
  }
  r.overflow_messages = metrics.overflow_messages();
  for (auto& [key, f] : families) {
    std::stable_sort(f.names.begin(), f.names.end(), [](const NameRow& a, const NameRow& b) {
      return a.messages != b.messages ? a.messages > b.messages : a.model_name < b.model_name;
    });
    r.families.push_back(std::move(f));
  }
  std::stable_sort(r.families.begin(), r.families.end(), [](const FamilyRow& a, const FamilyRow& b) {
    return a.messages > b.messages;
  });
  return r;
}

std::string ToJson(const Report& r) {
  util::JsonWriter w;
  w.BeginObject();
  w.Key("generated_at").String(util::FormatRfc3339(r.generated_at_ms));
  if (r.window_from_ms > 0 || r.window_to_ms > 0) {
    w.Key("window").BeginObject();
    w.Key("from").String(util::FormatRfc3339(r.window_from_ms));
    w.Key("to").String(util::FormatRfc3339(r.window_to_ms));
    w.EndObject();
  }
  if (!r.sources.empty()) {
    w.Key("sources").BeginArray();
    for (const auto& s : r.sources) w.String(s);
    w.EndArray();
  }
  if (r.scan) {
    const ScanInfo& s = *r.scan;
    w.Key("scan").BeginObject();
    w.Key("complete").Bool(s.complete);
    w.Key("inputs").BeginArray();
    for (const ScanInput& in : s.inputs) {
      w.BeginObject();
      w.Key("name").String(in.name);
      w.Key("kind").String(in.kind);
      w.Key("detail").String(in.detail);
      w.Key("messages").Uint(in.messages);
      w.Key("bytes").Uint(in.bytes);
      if (in.kind == "file") {
        w.Key("blank_lines").Uint(in.blank);
        w.Key("outside_window").Uint(in.outside_window);
        w.Key("untimed").Uint(in.untimed);
      }
      if (!in.error.empty()) w.Key("error").String(in.error);
      w.EndObject();
    }
    w.EndArray();
    w.Key("malformed_total").Uint(s.malformed_total);
    w.Key("malformed").BeginArray();
    for (const InputError& e : s.malformed) {
      w.BeginObject();
      w.Key("source").String(e.source);
      if (e.partition >= 0) {
        w.Key("partition").Int(e.partition);
        w.Key("offset").Int(e.offset);
      } else {
        w.Key("line").Uint(e.line);
      }
      w.Key("reason").String(e.reason);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.Key("registry").BeginObject();
  w.Key("source").String(r.registry.source);
  w.Key("models").Uint(r.registry.models);
  w.Key("loaded_at").String(util::FormatRfc3339(r.registry.loaded_at_ms));
  w.Key("digest").String(r.registry.digest);
  w.Key("format").String(r.registry.format);
  if (!r.registry.last_error.empty()) w.Key("last_error").String(r.registry.last_error);
  w.EndObject();
  w.Key("totals").BeginObject();
  w.Key("messages").Uint(r.total_messages);
  w.Key("by_verdict").BeginObject();
  for (classify::Verdict v : classify::kAllVerdicts) {
    w.Key(classify::VerdictName(v)).Uint(r.by_verdict[static_cast<std::size_t>(v)]);
  }
  w.EndObject();
  w.EndObject();
  w.Key("overflow").BeginObject();
  w.Key("messages").Uint(r.overflow_messages);
  w.Key("series_cap").Uint(r.series_cap);
  w.EndObject();
  w.Key("families").BeginArray();
  for (const FamilyRow& f : r.families) {
    w.BeginObject();
    w.Key("normalized").String(f.normalized);
    w.Key("messages").Uint(f.messages);
    w.Key("names").BeginArray();
    for (const NameRow& n : f.names) {
      w.BeginObject();
      w.Key("model_name").String(n.model_name);
      w.Key("verdict").String(classify::VerdictName(n.verdict));
      w.Key("suggestion").String(n.suggestion);
      w.Key("messages").Uint(n.messages);
      w.Key("first_seen").String(util::FormatRfc3339(n.first_seen_ms));
      w.Key("last_seen").String(util::FormatRfc3339(n.last_seen_ms));
      w.Key("topics").BeginArray();
      for (const auto& t : n.topics) w.String(t);
      w.EndArray();
      if (n.approximate) {
        w.Key("approximate").Bool(true);
        w.Key("max_overcount").Uint(n.error);
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::string out = w.Take();
  out.push_back('\n');
  return out;
}

std::string ToHtml(const Report& r, const PageInfo& info) {
  using http::HtmlEscape;
  std::string h;
  h.reserve(8192);
  h += R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="15">
<title>model-auditor</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.1rem;margin-top:1.6rem}
nav a{margin-right:1rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #d8dee4;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.family td{background:#eef2f6;font-weight:600}td.t,td.name{white-space:nowrap}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.v{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.8rem;color:#fff}
.v-unknown{background:#cf222e}.v-typo{background:#bc4c00}.v-variant{background:#9a6700}.v-inactive{background:#6e7781}
.ok{color:#1a7f37}.bad{color:#cf222e}.muted{color:#57606a}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
</style></head><body>
<h1>model-auditor</h1>
<p class="muted">Audits the model names that inference traffic really uses against the model registry.</p>
<nav><a href=")";
  h += HtmlEscape(info.telemetry_path);
  h += R"(">Metrics</a><a href="/api/v1/report">Report (JSON)</a><a href="/-/healthy">Health</a><a href="/-/ready">Readiness</a></nav>
<h2>Status</h2><dl>)";
  h += "<dt>Version</dt><dd>" + HtmlEscape(info.version) + " (librdkafka " +
       HtmlEscape(info.librdkafka_version) + ")</dd>";
  h += std::string("<dt>Ready</dt><dd class=\"") + (info.ready ? "ok\">yes" : "bad\">no") + "</dd>";
  if (!info.kafka_state.empty()) h += "<dt>Kafka</dt><dd>" + HtmlEscape(info.kafka_state) + "</dd>";
  if (r.registry.loaded) {
    h += "<dt>Registry</dt><dd><code>" + HtmlEscape(r.registry.source) + "</code>, " +
         std::to_string(r.registry.models) + " models (" + HtmlEscape(r.registry.format) +
         "), loaded " + HtmlEscape(util::FormatRfc3339(r.registry.loaded_at_ms)) + ", digest <code>" +
         HtmlEscape(r.registry.digest) + "</code></dd>";
  } else {
    h += "<dt>Registry</dt><dd class=\"bad\">not loaded</dd>";
  }
  if (!r.registry.last_error.empty()) {
    h += "<dt>Last registry error</dt><dd class=\"bad\">" + HtmlEscape(r.registry.last_error) + "</dd>";
  }
  h += "<dt>Messages</dt><dd>" + std::to_string(r.total_messages);
  for (classify::Verdict v : classify::kAllVerdicts) {
    h += std::string(" &middot; ") + std::string(classify::VerdictName(v)) + " " +
         std::to_string(r.by_verdict[static_cast<std::size_t>(v)]);
  }
  h += "</dd>";
  if (r.overflow_messages > 0) {
    h += "<dt>Over the series cap</dt><dd class=\"bad\">" + std::to_string(r.overflow_messages) +
         " messages (cap " + std::to_string(r.series_cap) + " names)</dd>";
  }
  h += "</dl>\n<h2>Names seen that are not registered</h2>\n";
  if (r.families.empty()) {
    h += "<p class=\"ok\">None so far: every name seen is a registered model or alias.</p>\n";
  } else {
    h += "<table><thead><tr><th>Name</th><th>Verdict</th><th>Suggestion</th><th>Messages</th>"
         "<th>First seen</th><th>Last seen</th><th>Topics</th></tr></thead><tbody>\n";
    for (const FamilyRow& f : r.families) {
      h += "<tr class=\"family\"><td colspan=\"3\">family <code>" + HtmlEscape(f.normalized) +
           "</code> &middot; " + std::to_string(f.names.size()) +
           (f.names.size() == 1 ? " spelling" : " spellings") + "</td><td class=\"n\">" +
           std::to_string(f.messages) + "</td><td colspan=\"3\"></td></tr>\n";
      for (const NameRow& n : f.names) {
        const std::string verdict(classify::VerdictName(n.verdict));
        h += "<tr><td class=\"name\"><code>" + HtmlEscape(n.model_name) + "</code></td><td><span class=\"v v-" +
             verdict + "\">" + verdict + "</span></td><td>" +
             (n.suggestion.empty() ? std::string("&mdash;")
                                   : "<code>" + HtmlEscape(n.suggestion) + "</code>") +
             "</td><td class=\"n\">" + (n.approximate ? "&le; " : "") + std::to_string(n.messages) +
             "</td><td class=\"t\">" + HtmlEscape(ShortTime(n.first_seen_ms)) +
             "</td><td class=\"t\">" + HtmlEscape(ShortTime(n.last_seen_ms)) + "</td><td>";
        for (std::size_t i = 0; i < n.topics.size(); ++i) {
          h += (i ? ", " : "") + HtmlEscape(n.topics[i]);
        }
        h += "</td></tr>\n";
      }
    }
    h += "</tbody></table>\n";
  }
  h += "<p class=\"muted\">Generated " + HtmlEscape(util::FormatRfc3339(r.generated_at_ms)) +
       "; this page refreshes every 15 s.</p>\n</body></html>\n";
  return h;
}

}  // namespace model_auditor::report
