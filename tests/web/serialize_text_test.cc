#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "web/routes.h"

namespace model_auditor::web {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric Sample(std::vector<ClientMetric::Label> labels, double value, MetricType type) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = m.gauge.value = m.untyped.value = value;
  return m;
}

std::string PrometheusCpp(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

TEST_CASE("SerializeText writes what prometheus-cpp writes", "[web][metrics]") {
  // Values whose prometheus-cpp form (16 significant digits) and shortest
  // round-trip form agree, so the whole body can be compared byte for byte.
  std::vector<MetricFamily> families;
  families.push_back({"model_audit_messages_total", "Messages, by verdict.", MetricType::Counter,
                      {Sample({{"topic", "t"}, {"verdict", "registered"}}, 123456, MetricType::Counter),
                       Sample({{"topic", "t"}, {"verdict", "unknown"}}, 0, MetricType::Counter)}});
  families.push_back({"model_audit_last_message_timestamp_seconds", "", MetricType::Gauge,
                      {Sample({{"topic", "t"}}, 1764400000.125, MetricType::Gauge),
                       Sample({}, -0.5, MetricType::Gauge)}});
  families.push_back({"some_untyped", "Help with \"quotes\".", MetricType::Untyped,
                      {Sample({{"name", "quote \" backslash \\ newline \n end"}}, 7, MetricType::Untyped)}});
  families.push_back({"empty_family", "No samples.", MetricType::Gauge, {}});
  CHECK(SerializeText(families) == PrometheusCpp(families));
}

TEST_CASE("SerializeText escapes HELP text as the format says (prometheus-cpp 1.0 does not)",
          "[web][metrics]") {
  const MetricFamily f{"g", "A \\ and a\nnewline, \"quoted\".", MetricType::Gauge,
                       {Sample({}, 1, MetricType::Gauge)}};
  CHECK(SerializeText({f}) ==
        "# HELP g A \\\\ and a\\nnewline, \"quoted\".\n# TYPE g gauge\ng 1\n");
}

TEST_CASE("SerializeText's numbers parse back to the same double", "[web][metrics]") {
  for (double v : {0.1, 1.0 / 3.0, 1e20, 123456789012345678.0, 5e-324, -2.5e-7}) {
    MetricFamily f{"g", "", MetricType::Gauge, {Sample({}, v, MetricType::Gauge)}};
    const std::string body = SerializeText({f});
    const std::string value = body.substr(body.rfind(' ') + 1);
    INFO(body);
    CHECK(std::strtod(value.c_str(), nullptr) == v);
  }
  MetricFamily special{"g", "", MetricType::Gauge,
                       {Sample({{"k", "nan"}}, std::nan(""), MetricType::Gauge),
                        Sample({{"k", "inf"}}, std::numeric_limits<double>::infinity(), MetricType::Gauge),
                        Sample({{"k", "-inf"}}, -std::numeric_limits<double>::infinity(), MetricType::Gauge)}};
  CHECK(SerializeText({special}) ==
        "# TYPE g gauge\ng{k=\"nan\"} NaN\ng{k=\"inf\"} +Inf\ng{k=\"-inf\"} -Inf\n");
}

TEST_CASE("SerializeText hands summaries and histograms to prometheus-cpp", "[web][metrics]") {
  ClientMetric h;
  h.histogram.sample_count = 3;
  h.histogram.sample_sum = 1.5;
  h.histogram.bucket = {{1, 0.1}, {3, std::numeric_limits<double>::infinity()}};
  ClientMetric s;
  s.summary.sample_count = 2;
  s.summary.sample_sum = 4;
  s.summary.quantile = {{0.5, 2}};
  const std::vector<MetricFamily> families{
      {"c_total", "A counter.", MetricType::Counter, {Sample({}, 2, MetricType::Counter)}},
      {"h_seconds", "A histogram.", MetricType::Histogram, {h}},
      {"s_seconds", "A summary.", MetricType::Summary, {s}}};
  CHECK(SerializeText(families) == PrometheusCpp(families));
}

}  // namespace
}  // namespace model_auditor::web
