#include "fault_support.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace model_auditor::testing {
namespace {

std::string KafkaScript() { return SourceDir() + "/scripts/kafka.sh"; }

}  // namespace

OwnBroker::OwnBroker() {
  std::string out;
  const int status = Run(KafkaScript() + " start", &out);
  INFO("scripts/kafka.sh start:\n" << out);
  REQUIRE(status == 0);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("KAFKA_BOOTSTRAP=(\\S+)")));
  bootstrap_ = m[1];
  REQUIRE(std::regex_search(out, m, std::regex("KAFKA_STATE_DIR=(\\S+)")));
  state_dir_ = m[1];
  if (const char* prev = std::getenv("KAFKA_BOOTSTRAP")) {
    had_previous_ = true;
    previous_bootstrap_ = prev;
  }
  ::setenv("KAFKA_BOOTSTRAP", bootstrap_.c_str(), 1);
}

OwnBroker::~OwnBroker() {
  std::string out;
  if (paused_) Run(KafkaScript() + " resume " + state_dir_, &out);
  Run(KafkaScript() + " stop " + state_dir_, &out);
  if (had_previous_) {
    ::setenv("KAFKA_BOOTSTRAP", previous_bootstrap_.c_str(), 1);
  } else {
    ::unsetenv("KAFKA_BOOTSTRAP");
  }
}

void OwnBroker::Script(const std::string& command) {
  std::string out;
  const int status = Run(KafkaScript() + " " + command + " " + state_dir_, &out);
  INFO("scripts/kafka.sh " << command << ":\n" << out);
  REQUIRE(status == 0);
}

void OwnBroker::Kill9() { Script("kill9"); }
void OwnBroker::Restart() { Script("restart"); }
void OwnBroker::Pause() {
  Script("pause");
  paused_ = true;
}
void OwnBroker::Resume() {
  Script("resume");
  paused_ = false;
}

LoadProducer::LoadProducer(std::string topic, int rate) : topic_(std::move(topic)), rate_(rate) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  const std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", Bootstrap()},
      {"acks", "all"},
      {"linger.ms", "5"},
      // Outlive any outage the tests inject: a message is retried, never dropped.
      {"message.timeout.ms", "180000"},
      {"log_level", "0"},
  };
  for (const auto& [k, v] : props) {
    REQUIRE(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK);
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &LoadProducer::DeliveryCb);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk_ != nullptr);
  thread_ = std::thread([this] { Loop(); });
}

LoadProducer::~LoadProducer() {
  if (!stopped_) Stop();
}

void LoadProducer::DeliveryCb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<LoadProducer*>(opaque);
  (m->err ? self->failed_ : self->delivered_).fetch_add(1);
}

void LoadProducer::Loop() {
  // Paced in 10 ms ticks against the clock, so a stall (queue full during an
  // outage) is caught up rather than lost.
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t due_base = 0;
  auto base_time = start;
  while (!stop_.load()) {
    if (hold_.load()) {
      held_.store(true);
      {
        std::lock_guard<std::mutex> lock(mu_);
        rd_kafka_poll(rk_, 0);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      // The hold is not owed afterwards: pacing restarts from now.
      due_base = sent_.load();
      base_time = std::chrono::steady_clock::now();
      continue;
    }
    held_.store(false);
    const double elapsed = SecondsSince(base_time);
    const auto due = due_base + static_cast<std::uint64_t>(elapsed * rate_);
    while (sent_.load() < due && !stop_.load() && !hold_.load()) {
      const std::string value = "{\"model_name\":\"Qwen-Tiny\",\"seq\":" +
                                std::to_string(sent_.load()) + ",\"prompt\":\"hello\"}";
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_TOPIC(topic_.c_str()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      if (err) {
        failed_.fetch_add(1);
      }
      sent_.fetch_add(1);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      rd_kafka_poll(rk_, 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void LoadProducer::Hold() {
  hold_.store(true);
  while (!held_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void LoadProducer::Release() { hold_.store(false); }

bool LoadProducer::Flush(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (delivered_.load() + failed_.load() < sent_.load()) {
    if (stopped_ || std::chrono::steady_clock::now() >= deadline) return false;
    std::lock_guard<std::mutex> lock(mu_);
    rd_kafka_poll(rk_, 50);
  }
  return true;
}

std::uint64_t LoadProducer::Stop() {
  if (stopped_) return delivered_.load();
  stopped_ = true;
  stop_.store(true);
  thread_.join();
  rd_kafka_flush(rk_, 120000);
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  return delivered_.load();
}

std::string WriteConfig(const TempDir& dir, const std::string& group, const std::string& topic,
                        const std::string& extra_kafka, const std::string& extra) {
  std::ifstream reg(SourceDir() + "/config/registry.yaml");
  std::stringstream registry;
  registry << reg.rdbuf();
  dir.Write("registry.yaml", registry.str());
  return dir.Write("config.yaml", "kafka:\n  brokers: " + Bootstrap() + "\n  group_id: " + group +
                                      "\n  topics: [" + topic + "]\n" + extra_kafka +
                                      "registry:\n  file: registry.yaml\n" + extra);
}

double Total(const Samples& s, const std::string& topic) {
  double sum = 0;
  for (const char* v : {"malformed", "missing", "registered", "alias", "inactive", "variant",
                        "typo", "unknown"}) {
    sum += Value(s, "model_audit_messages_total{topic=\"" + topic + "\",verdict=\"" + v + "\"}", 0);
  }
  return sum;
}

std::int64_t Sum(const std::vector<std::int64_t>& v) {
  std::int64_t s = 0;
  for (auto x : v) s += x;
  return s;
}

Scrape TimedScrape(const std::string& address) {
  Scrape out;
  const auto t = std::chrono::steady_clock::now();
  HttpResult r = HttpRequest(address, "/metrics");
  out.seconds = SecondsSince(t);
  out.status = r.status;
  out.body = std::move(r.body);
  out.samples = ParseMetrics(out.body);
  return out;
}

bool FinalCommit(const std::string& log, std::uint64_t* messages,
                 std::map<std::string, std::int64_t>* offsets) {
  std::smatch m;
  if (!std::regex_search(log, m,
                         std::regex("kafka final commit done\"? messages=([0-9]+) offsets=\"?([^\"\\s]*)"))) {
    return false;
  }
  *messages = std::stoull(m[1]);
  offsets->clear();
  std::stringstream list(m[2]);
  std::string item;
  while (std::getline(list, item, ',')) {
    const auto colon = item.rfind(':');
    if (colon == std::string::npos) continue;
    (*offsets)[item.substr(0, colon)] = std::stoll(item.substr(colon + 1));
  }
  return true;
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace model_auditor::testing

namespace model_auditor::testing {
bool LagZero(const Samples& s, const std::string& topic, int partitions) {
  for (int p = 0; p < partitions; ++p) {
    if (Value(s, "model_audit_kafka_consumer_lag_messages{topic=\"" + topic + "\",partition=\"" +
                     std::to_string(p) + "\"}") != 0) {
      return false;
    }
  }
  return true;
}
}  // namespace model_auditor::testing
