#include "demo/demo.h"

#include <librdkafka/rdkafka_mock.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <random>
#include <stdexcept>
#include <vector>

namespace model_auditor::demo {
namespace {

struct Call {
  const char* name;   // model name the caller sends
  int weight;         // relative frequency
  bool header;        // also sent as X-Model-Name header
  const char* body_override = nullptr;  // for conflicts / malformed / missing
};

// A traffic mix shaped like the audit's call logs: mostly the real models,
// vLLM-style ids, a few retired models, typos, and the phantom
// Qwen3-Next-80B-Local in a dozen spellings.
const std::vector<Call>& Mix() {
  static const std::vector<Call> kMix = {
      {"Qwen3-Next-80B-Optimized", 300, false},
      {"Qwen3-Next-80B-Optimized", 60, true},
      {"Qwen3-Next-72B-Cloud", 120, false},
      {"Llama3-70B-Local", 60, false},
      {"Qwen-Tiny", 40, false},
      {"StableDiffusionXL", 20, false},
      {"qwen3_next_80b_optimized", 40, false},  // vLLM id, declared alias
      {"qwen3_next_72b_cloud", 25, false},      // vLLM id, variant
      {"llama3_70b_local", 15, false},          // vLLM id, variant
      {"Qwen3-Next-80B-Optimized-Prod", 8, false},
      {"Qwen3-Next-80B-Optimzed", 6, false},  // typo
      {"Qwen3-Next-72B-Clod", 4, false},      // typo
      {"Qwen2-7B", 6, false},                 // retired
      {"Qwen3-14B-Chat", 5, false},           // deprecated
      {"Qwen3-Next-80B-Local", 12, false},    // the phantom, and its spellings
      {"qwen3-next-80b-local", 4, false},
      {"Qwen3_Next_80B_Local", 3, false},
      {"Qwen3Next80BLocal", 2, false},
      {"Qwen3-Next-80B-Local-v1", 2, false},
      {"Qwen3-Next-80B-Local-Prod", 2, false},
      {"Qwen3-Next-80B-Local-Test", 1, false},
      {"Qwen3-Next-80B-Local", 3, true, "Qwen3-Next-80B-Optimized"},  // header/body conflict
      {"", 3, false, "{\"model_name\": 42}"},                              // malformed: not a string
      {"", 2, false, "{\"request\": {\"prompt\": \"hi\""},                 // malformed: truncated JSON
      {"", 4, false, "{\"request_id\": \"r-1\", \"prompt\": \"hello\"}"},  // missing
  };
  return kMix;
}

}  // namespace

Demo::Demo(Options options) : options_(std::move(options)) {}

Demo::~Demo() { Stop(); }

void Demo::Start() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  cluster_handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!cluster_handle_) throw std::runtime_error(std::string("demo: cannot create handle: ") + err);
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(cluster_handle_, 1);
  cluster_ = mc;
  if (!mc) throw std::runtime_error("demo: cannot create the mock cluster");
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc);
  if (rd_kafka_mock_topic_create(mc, options_.topic.c_str(), options_.partitions, 1)) {
    throw std::runtime_error("demo: cannot create topic " + options_.topic);
  }

  conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap_.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!producer_) throw std::runtime_error(std::string("demo: cannot create producer: ") + err);
  thread_ = std::thread([this] { Produce(); });
  spdlog::info("demo: mock Kafka cluster up bootstrap={} topic={} partitions={} rate={}/s",
               bootstrap_, options_.topic, options_.partitions, options_.messages_per_second);
}

void Demo::Produce() {
  const auto& mix = Mix();
  std::vector<int> weights;
  weights.reserve(mix.size());
  for (const auto& c : mix) weights.push_back(c.weight);
  std::mt19937_64 rng(20251202);
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  const auto tick = std::chrono::milliseconds(100);
  const int per_tick = std::max(1, options_.messages_per_second / 10);
  auto next = std::chrono::steady_clock::now();
  std::uint64_t seq = 0;
  while (!stop_.load()) {
    for (int i = 0; i < per_tick; ++i) {
      const Call& c = mix[pick(rng)];
      std::string body;
      const std::string name = c.header && c.body_override ? c.body_override : c.name;
      if (c.body_override && !c.header) {
        body = c.body_override;
      } else {
        ++seq;
        body = "{\"request_id\":\"req-" + std::to_string(seq) +
               "\",\"model_name\":\"" + name +
               "\",\"caller\":\"svc-" + std::to_string(seq % 17) +
               "\",\"prompt_tokens\":" + std::to_string(200 + seq % 900) +
               ",\"max_tokens\":512,\"temperature\":0.7,\"stream\":false}";
      }
      rd_kafka_headers_t* hdrs = nullptr;
      if (c.header) {
        hdrs = rd_kafka_headers_new(1);
        rd_kafka_header_add(hdrs, "X-Model-Name", -1, c.name, -1);
      }
      const std::string key = "svc-" + std::to_string(seq % 17);
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer_, RD_KAFKA_V_TOPIC(options_.topic.c_str()),
          RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(body.data(), body.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      if (err) {
        if (hdrs) rd_kafka_headers_destroy(hdrs);
      } else {
        produced_.fetch_add(1);
      }
    }
    rd_kafka_poll(producer_, 0);
    next += tick;
    std::this_thread::sleep_until(next);
  }
}

void Demo::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (producer_) {
    rd_kafka_flush(producer_, 2000);
    rd_kafka_destroy(producer_);
    producer_ = nullptr;
  }
  if (cluster_) {
    rd_kafka_mock_cluster_destroy(cluster_);
    cluster_ = nullptr;
  }
  if (cluster_handle_) {
    rd_kafka_destroy(cluster_handle_);
    cluster_handle_ = nullptr;
  }
}

}  // namespace model_auditor::demo
