#pragma once
// The demo module: an in-process librdkafka mock cluster (reached over TCP like
// a real broker) plus a producer of realistic inference-request traffic, so a
// newcomer sees model-auditor work without any Kafka of their own. Used only by
// `model-auditor demo`; the tests use a real Apache Kafka broker.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

struct rd_kafka_mock_cluster_s;

namespace model_auditor::demo {

/// Mock cluster + traffic generator. Not copyable; Stop() or the destructor
/// ends the traffic and tears the cluster down.
class Demo {
 public:
  struct Options {
    std::string topic = "model-inference-requests";
    int partitions = 3;
    int messages_per_second = 200;
  };
  explicit Demo(Options options);
  ~Demo();
  Demo(const Demo&) = delete;
  Demo& operator=(const Demo&) = delete;

  /// Starts the mock cluster and the producer thread. Throws std::runtime_error.
  void Start();
  void Stop();
  /// "127.0.0.1:PORT" of the mock broker(s).
  const std::string& bootstrap() const { return bootstrap_; }
  std::uint64_t produced() const { return produced_.load(); }

 private:
  void Produce();

  Options options_;
  rd_kafka_t* cluster_handle_ = nullptr;  // hosts the mock cluster
  ::rd_kafka_mock_cluster_s* cluster_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  std::string bootstrap_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> produced_{0};
  std::thread thread_;
};

}  // namespace model_auditor::demo
