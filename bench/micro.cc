// Micro-benchmarks of the per-message work and of a scrape (Google Benchmark).
//
//   build/bench/model_auditor_microbench [--benchmark_filter=...]
//
// BM_Process_*: extract + classify (cached) + count for one ~1 KB message,
// through audit::Auditor::Process exactly as the consumer calls it (default
// rule: header X-Model-Name, /model_name, /model; the body uses "model").
// BM_ClassifyNeverSeen/*: classify::Classify of a name the registry has never
// seen (no verdict cache in front), against 1,000 and 10,000 models.
// BM_RenderMetrics: one full /metrics body at 1,000 unregistered names plus
// 10,000 registry models.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "audit/auditor.h"
#include "audit/registry_holder.h"
#include "classify/classifier.h"
#include "config/config.h"
#include "extract/key_scan.h"
#include "metrics/audit_metrics.h"
#include "metrics/process_collector.h"
#include "registry/registry.h"
#include "util/text.h"
#include "web/routes.h"

namespace ma = model_auditor;
using ma::classify::Verdict;

namespace {

constexpr const char* kSmallRegistry = R"(
models:
  - name: Qwen3-Next-80B-Optimized
    status: online
    aliases: [qwen3_next_80b_optimized]
  - name: Qwen3-Next-72B-Cloud
    status: online
  - name: Llama3-70B-Local
    status: online
  - name: Qwen-Tiny
    status: online
  - name: StableDiffusionXL
    status: testing
  - name: Qwen2-7B
    status: retired
    replaced_by: Qwen3-Next-72B-Cloud
  - name: Qwen3-14B-Chat
    status: deprecated
    replaced_by: Qwen3-Next-80B-Optimized
)";

// Registry-like names: vendor family, size, flavour and an owning team, the way
// a big platform registry grows. Deterministic, distinct.
std::vector<std::string> RegistryNames(std::size_t n) {
  static const char* const kFamilies[] = {"Qwen3", "Llama3", "Mistral", "Gemma2", "Phi3",
                                          "DeepSeek", "Falcon", "Granite", "Command", "Yi"};
  static const char* const kSizes[] = {"1.5B", "3B", "7B", "8B", "14B", "32B", "70B", "72B"};
  static const char* const kFlavours[] = {"Instruct", "Chat", "Coder", "Vision", "Optimized",
                                          "Cloud", "Base", "Math"};
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; out.size() < n; ++i) {
    const std::size_t f = i % 10, s = (i / 10) % 8, v = (i / 80) % 8, team = i / 640;
    std::string name = std::string(kFamilies[f]) + "-" + kSizes[s] + "-" + kFlavours[v];
    if (team > 0) name += "-Team" + std::to_string(team);
    out.push_back(std::move(name));
  }
  return out;
}

std::string RegistryYaml(const std::vector<std::string>& names) {
  std::string y = "models:\n";
  for (const auto& n : names) y += "  - name: " + n + "\n    status: online\n";
  return y;
}

std::shared_ptr<const ma::classify::NameIndex> BuildIndex(const std::string& yaml) {
  return std::make_shared<const ma::classify::NameIndex>(ma::registry::ParseSnapshot(yaml, "bench.yaml"),
                                                         ma::classify::MatchOptions{});
}

// A ~1 KB OpenAI-style chat request, as bench/producer.c writes them.
std::string Message(const std::string& model, unsigned i) {
  char buf[1600];
  std::snprintf(buf, sizeof buf,
                R"({"request_id":"%016x%016x","created":%u,"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant for the internal platform team. Answer precisely, cite the runbook section when one applies, and say so when unsure."},{"role":"user","content":"Summarize the following incident report for the on-call channel and list the three most likely root causes, ordered by how much evidence the logs give for each of them. Summarize the following incident report for the on-call channel and list the three most likely root causes."}],"temperature":0.%u,"top_p":0.95,"max_tokens":%u,"stream":false,"n":1,"stop":["\n\nUser:"],"presence_penalty":0,"frequency_penalty":0,"logprobs":false,"response_format":{"type":"text"},"user":"svc-%02u","metadata":{"tenant":"team-%02u","region":"eu-west-1","gateway":"gw-%u","trace_id":"%016x","client":"python-openai/1.%u.0","priority":"normal"}})",
                i * 2654435761u, i, 1764400000u + i, model.c_str(), i % 10, 256 + i % 1792, i % 60,
                i % 40, i % 8, i * 40503u, i % 50);
  return buf;
}

constexpr const char* kDefaultConfig = "registry: {file: r.yaml}\n";
// The same pipeline when the rule names the field the traffic really uses
// first: no full scan of the root object to prove /model_name absent.
constexpr const char* kModelFirstConfig = R"(registry: {file: r.yaml}
extraction:
  - topics: "*"
    sources:
      - header: X-Model-Name
      - json_pointer: /model
      - json_pointer: /model_name
)";

struct Pipeline {
  explicit Pipeline(const char* config_text = kDefaultConfig)
      : config(ma::config::ParseConfig(config_text, "bench.yaml")),
        metrics({config.audit.max_unregistered_series, config.audit.alert_window, "bench"}),
        auditor(config, metrics, holder) {
    holder.Set(BuildIndex(kSmallRegistry));
    auditor.RefreshRegistry();
  }
  ma::config::Config config;
  ma::metrics::AuditMetrics metrics;
  ma::audit::RegistryHolder holder;
  ma::audit::Auditor auditor;
};

void RunProcess(benchmark::State& state, const std::vector<std::string>& names, Verdict want,
                bool with_header, const char* config_text = kDefaultConfig) {
  Pipeline p(config_text);
  std::vector<std::string> messages;
  std::vector<const std::string*> headers;
  for (unsigned i = 0; i < 1024; ++i) {
    messages.push_back(Message(names[i % names.size()], i));
    headers.push_back(with_header ? &names[i % names.size()] : nullptr);
  }
  auto& topic = p.auditor.Topic("model-inference-requests");
  const std::int64_t now = ma::util::NowUnixMs();
  // Check the workload really has the verdict it is named for.
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto h = [&](const std::string&) -> std::optional<std::string_view> { return std::nullopt; };
    if (p.auditor.Process(topic, h, messages[i], true, now, now) != want) {
      state.SkipWithError(("unexpected verdict for " + names[i % names.size()]).c_str());
      return;
    }
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string* header = headers[i];
    auto h = [header](const std::string& key) -> std::optional<std::string_view> {
      if (header && key == "X-Model-Name") return std::string_view(*header);
      return std::nullopt;
    };
    benchmark::DoNotOptimize(p.auditor.Process(topic, h, messages[i], true, now, now));
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(messages[0].size()));
}

void BM_Process_Registered(benchmark::State& state) {
  RunProcess(state, {"Qwen3-Next-80B-Optimized", "Qwen3-Next-72B-Cloud", "Qwen-Tiny"},
             Verdict::kRegistered, false);
}
void BM_Process_RegisteredWithHeader(benchmark::State& state) {
  RunProcess(state, {"Qwen3-Next-80B-Optimized", "Qwen3-Next-72B-Cloud", "Qwen-Tiny"},
             Verdict::kRegistered, true);
}
void BM_Process_Variant(benchmark::State& state) {
  RunProcess(state, {"qwen3-next-72b-cloud-prod", "Qwen3Next80BOptimized", "qwen-tiny-latest"},
             Verdict::kVariant, false);
}
void BM_Process_Unknown(benchmark::State& state) {
  RunProcess(state, {"Qwen3-Next-80B-Local", "gpt-4o-mini", "mistral-large-2407"},
             Verdict::kUnknown, false);
}
void BM_Process_RegisteredModelFirst(benchmark::State& state) {
  RunProcess(state, {"Qwen3-Next-80B-Optimized", "Qwen3-Next-72B-Cloud", "Qwen-Tiny"},
             Verdict::kRegistered, false, kModelFirstConfig);
}
BENCHMARK(BM_Process_Registered);
BENCHMARK(BM_Process_RegisteredModelFirst);
BENCHMARK(BM_Process_RegisteredWithHeader);
BENCHMARK(BM_Process_Variant);
BENCHMARK(BM_Process_Unknown);

// The root-key shortcut alone: proving `"model_name"` absent from the ~1 KB
// message (what BM_Process_Registered pays over BM_Process_RegisteredModelFirst
// besides the call overheads).
void BM_KeyScanAbsent(benchmark::State& state) {
  const std::string message = Message("Qwen3-Next-80B-Optimized", 1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(ma::extract::ContainsBytes(message, "\"model_name\""));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(message.size()));
}
BENCHMARK(BM_KeyScanAbsent);

// Names a registry of this shape has never seen: one to three letter edits of
// a registry name (some land within typo distance, most do not), plus
// fine-tune names with a team prefix. Distinct, so nothing repeats within a
// pass over the list.
std::vector<std::string> NeverSeen(const std::vector<std::string>& registry, std::size_t n) {
  std::mt19937_64 rng(42);
  std::set<std::string> taken(registry.begin(), registry.end());
  std::vector<std::string> out;
  while (out.size() < n) {
    std::string s = registry[rng() % registry.size()];
    if (rng() % 4 == 0) {
      s = "team" + std::to_string(rng() % 100) + "-" + s + "-ft-" + std::to_string(rng() % 100000);
    } else {
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        std::size_t pos = rng() % s.size();
        if (s[pos] >= '0' && s[pos] <= '9') continue;  // keep digit runs: the hard case
        s[pos] = static_cast<char>('a' + rng() % 26);
      }
    }
    if (taken.insert(s).second) out.push_back(std::move(s));
  }
  return out;
}

void BM_ClassifyNeverSeen(benchmark::State& state) {
  const auto registry = RegistryNames(static_cast<std::size_t>(state.range(0)));
  const auto index = BuildIndex(RegistryYaml(registry));
  const auto names = NeverSeen(registry, 20000);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ma::classify::Classify(names[i], *index));
    if (++i == names.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["index_entries"] = static_cast<double>(index->index_entries());
}
BENCHMARK(BM_ClassifyNeverSeen)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

void BM_RenderMetrics(benchmark::State& state) {
  const auto registry = RegistryNames(10000);
  ma::metrics::AuditMetrics::Options opts;
  opts.max_unregistered_series = 1000;
  opts.librdkafka_version = "2.0.2";
  auto metrics = std::make_shared<ma::metrics::AuditMetrics>(opts);
  auto* topic = metrics->Topic("model-inference-requests");
  for (std::size_t i = 0; i < registry.size(); ++i) {
    metrics->Model(registry[i], ma::registry::Status::kOnline)->requests.store(i * 7);
  }
  const auto unregistered = NeverSeen(registry, 1000);
  const std::int64_t now = ma::util::NowUnixMs();
  for (const auto& n : unregistered) {
    auto* s = metrics->Name(n, Verdict::kUnknown, registry[n.size() % registry.size()], n);
    s->Touch(*topic, now, now);
  }
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables = {
      metrics, std::make_shared<ma::metrics::ProcessCollector>()};
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = ma::web::RenderMetrics(collectables);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderMetrics)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
