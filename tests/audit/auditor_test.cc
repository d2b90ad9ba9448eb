// The per-message pipeline without Kafka: extract -> classify (cached) -> count.

#include <catch2/catch.hpp>

#include <prometheus/text_serializer.h>

#include "audit/auditor.h"
#include "config/config.h"
#include "registry/registry.h"
#include "util/text.h"

namespace ma = model_auditor;
using ma::classify::Verdict;

namespace {

constexpr const char* kRegistry = R"(
models:
  - name: Qwen3-Next-80B-Optimized
    aliases: [qwen3_next_80b_optimized]
  - name: Qwen-Tiny
  - name: Qwen2-7B
    status: retired
    replaced_by: Qwen-Tiny
)";

struct Fixture {
  explicit Fixture(std::size_t cap = 1000, const char* registry = kRegistry)
      : config(ma::config::ParseConfig("audit: {max_unregistered_series: " + std::to_string(cap) +
                                           "}\nregistry: {file: r.yaml}\n",
                                       "test.yaml")),
        metrics({cap, std::chrono::minutes(5), "test"}),
        auditor(config, metrics, holder) {
    Load(registry);
  }
  void Load(const char* registry) {
    holder.Set(std::make_shared<const ma::classify::NameIndex>(
        ma::registry::ParseSnapshot(registry, "r.yaml"), config.audit.match));
    REQUIRE(auditor.RefreshRegistry());
  }
  Verdict Send(const std::string& body, const char* header = nullptr,
               const char* topic = "model-inference-requests", std::int64_t ts = 1000) {
    auto& ctx = auditor.Topic(topic);
    auto h = [header](const std::string& name) -> std::optional<std::string_view> {
      if (header && name == "X-Model-Name") return std::string_view(header);
      return std::nullopt;
    };
    return auditor.Process(ctx, h, body, true, ts, ma::util::NowUnixMs());
  }
  std::uint64_t Count(const char* topic, Verdict v) {
    return metrics.Topic(topic)->verdicts[static_cast<std::size_t>(v)].load();
  }
  std::string Scrape() {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, metrics.Collect());
    return out.str();
  }

  ma::config::Config config;
  ma::metrics::AuditMetrics metrics;
  ma::audit::RegistryHolder holder;
  ma::audit::Auditor auditor;
};

}  // namespace

TEST_CASE("each message is counted once under its verdict and topic", "[audit]") {
  Fixture f;
  CHECK(f.Send(R"({"model_name":"Qwen-Tiny"})") == Verdict::kRegistered);
  CHECK(f.Send(R"({"model":"qwen3_next_80b_optimized"})") == Verdict::kAlias);
  CHECK(f.Send(R"({"model_name":"Qwen2-7B"})") == Verdict::kInactive);
  CHECK(f.Send(R"({"model_name":"qwen-tiny"})", nullptr, "other-topic") == Verdict::kVariant);
  CHECK(f.Send(R"({"model_name":"Qwen-Tinny"})") == Verdict::kTypo);
  CHECK(f.Send(R"({"model_name":"Qwen3-Next-80B-Local"})") == Verdict::kUnknown);
  CHECK(f.Send(R"({"model_name":17})") == Verdict::kMalformed);
  CHECK(f.Send(R"({"prompt":"x"})") == Verdict::kMissing);
  CHECK(f.Count("model-inference-requests", Verdict::kRegistered) == 1);
  CHECK(f.Count("model-inference-requests", Verdict::kVariant) == 0);
  CHECK(f.Count("other-topic", Verdict::kVariant) == 1);
  CHECK(f.Count("model-inference-requests", Verdict::kMalformed) == 1);
  CHECK(f.Count("model-inference-requests", Verdict::kMissing) == 1);
  CHECK(f.metrics.Topic("model-inference-requests")
            ->malformed[static_cast<std::size_t>(ma::extract::Malformed::kNotString)]
            .load() == 1);
}

TEST_CASE("registry entries and unregistered names get their series", "[audit][metrics]") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.Send(R"({"model_name":"Qwen3-Next-80B-Local"})");
  f.Send(R"({"model_name":"qwen3_next_80b_optimized"})");
  f.Send(R"({"model_name":"Qwen2-7B"})");
  const std::string text = f.Scrape();
  CHECK_THAT(text, Catch::Contains(
                       "model_audit_unregistered_requests_total{model_name=\"Qwen3-Next-80B-Local\","
                       "verdict=\"unknown\",suggestion=\"\"} 3"));
  CHECK_THAT(text, Catch::Contains(
                       "model_audit_unknown_model_active{model_name=\"Qwen3-Next-80B-Local\","
                       "verdict=\"unknown\",suggestion=\"\"} 1"));
  // An alias counts for its canonical model; an inactive model counts in both.
  CHECK_THAT(text, Catch::Contains(
                       "model_audit_model_requests_total{model=\"Qwen3-Next-80B-Optimized\","
                       "status=\"online\"} 1"));
  CHECK_THAT(text, Catch::Contains(
                       "model_audit_model_requests_total{model=\"Qwen2-7B\",status=\"retired\"} 1"));
  CHECK_THAT(text, Catch::Contains(
                       "model_audit_unregistered_requests_total{model_name=\"Qwen2-7B\","
                       "verdict=\"inactive\",suggestion=\"Qwen-Tiny\"} 1"));
  // Every verdict exported, zeros included.
  CHECK_THAT(text, Catch::Contains(
                       "model_audit_messages_total{topic=\"model-inference-requests\","
                       "verdict=\"typo\"} 0"));
}

TEST_CASE("names beyond the series cap count in the overflow counter", "[audit][metrics]") {
  Fixture f(2);
  f.Send(R"({"model_name":"phantom-a"})");
  f.Send(R"({"model_name":"phantom-b"})");
  for (int i = 0; i < 5; ++i) f.Send(R"({"model_name":"phantom-c"})");
  f.Send(R"({"model_name":"phantom-d"})");
  f.Send(R"({"model_name":"phantom-a"})");  // has a series: not overflow
  CHECK(f.metrics.Names().size() == 2);
  CHECK(f.metrics.overflow_messages() == 6);
  const auto over = f.metrics.OverflowNames();
  REQUIRE(over.size() == 2);
  CHECK(over[0].name == "phantom-c");
  CHECK(over[0].messages == 5);
  const std::string text = f.Scrape();
  CHECK_THAT(text, Catch::Contains("model_audit_unregistered_names_overflow_total 6"));
  CHECK_THAT(text, !Catch::Contains("model_name=\"phantom-c\""));
}

TEST_CASE("the heaviest overflow names survive a flood of light ones", "[audit][metrics]") {
  // Space-saving keeps every name heavier than overflow/capacity: here 600/10.
  Fixture f(10);
  for (int i = 0; i < 10; ++i) f.Send("{\"model_name\":\"series-" + std::to_string(i) + "\"}");
  for (int i = 0; i < 100; ++i) f.Send(R"({"model_name":"heavy-overflow"})");
  for (int i = 0; i < 500; ++i) f.Send("{\"model_name\":\"light-" + std::to_string(i) + "\"}");
  const auto over = f.metrics.OverflowNames();
  CHECK(over.size() == 10);
  const bool heavy_kept = std::any_of(over.begin(), over.end(), [](const auto& o) {
    return o.name == "heavy-overflow" && o.messages >= 100;
  });
  CHECK(heavy_kept);
  CHECK(f.metrics.overflow_messages() == 600);
}

TEST_CASE("header and body naming different models is a conflict", "[audit]") {
  Fixture f;
  SECTION("different models") {
    f.Send(R"({"model_name":"Qwen-Tiny"})", "Qwen3-Next-80B-Optimized");
    CHECK(f.metrics.Topic("model-inference-requests")->conflicts.load() == 1);
  }
  SECTION("an alias and its canonical name are the same model") {
    f.Send(R"({"model_name":"qwen3_next_80b_optimized"})", "Qwen3-Next-80B-Optimized");
    CHECK(f.metrics.Topic("model-inference-requests")->conflicts.load() == 0);
  }
  SECTION("a typo resolves to the model it means") {
    f.Send(R"({"model_name":"Qwen-Tinny"})", "Qwen-Tiny");
    CHECK(f.metrics.Topic("model-inference-requests")->conflicts.load() == 0);
  }
  SECTION("two spellings of one unknown family agree") {
    f.Send(R"({"model_name":"qwen3_next_80b_local"})", "Qwen3-Next-80B-Local");
    CHECK(f.metrics.Topic("model-inference-requests")->conflicts.load() == 0);
  }
  SECTION("an unknown header against a registered body") {
    f.Send(R"({"model_name":"Qwen-Tiny"})", "Qwen3-Next-80B-Local");
    CHECK(f.metrics.Topic("model-inference-requests")->conflicts.load() == 1);
    // The header wins the verdict.
    CHECK(f.Count("model-inference-requests", Verdict::kUnknown) == 1);
  }
}

TEST_CASE("a new registry snapshot re-classifies cached names", "[audit]") {
  Fixture f;
  CHECK(f.Send(R"({"model_name":"Qwen3-Next-80B-Local"})") == Verdict::kUnknown);
  f.Load(R"(
models:
  - name: Qwen3-Next-80B-Local
)");
  CHECK(f.Send(R"({"model_name":"Qwen3-Next-80B-Local"})") == Verdict::kRegistered);
}

TEST_CASE("the verdict cache stays within its bound", "[audit]") {
  Fixture f;
  f.config.audit.verdict_cache_size = 10;
  for (int i = 0; i < 100; ++i) f.Send("{\"model_name\":\"name-" + std::to_string(i) + "\"}");
  CHECK(f.auditor.cache_size() <= 10);
  CHECK(f.Count("model-inference-requests", Verdict::kUnknown) == 100);
}
