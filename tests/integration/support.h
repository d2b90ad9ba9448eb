#pragma once
// Helpers for the integration tests: the real Kafka broker named by
// KAFKA_BOOTSTRAP (scripts/kafka.sh starts one), the real daemon binary as a
// child process, plain HTTP scrapes and a parser of the text exposition format.

#include <librdkafka/rdkafka.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace model_auditor::testing {

/// KAFKA_BOOTSTRAP, or a test failure explaining how to get a broker.
std::string Bootstrap();

/// A topic name unique to this run.
std::string UniqueName(const std::string& prefix);

/// Creates a topic with the Admin API and waits until it has leaders;
/// `configs` are topic configs (e.g. {"max.message.bytes", "16777216"}).
void CreateTopic(const std::string& topic, int partitions,
                 const std::vector<std::pair<std::string, std::string>>& configs = {});

/// A message to produce.
struct Message {
  std::string value;
  bool null_value = false;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string key;
  std::int32_t partition = -1;  // -1: by key
  std::int64_t timestamp_ms = 0;  // 0: now
};

/// Produces all messages and waits for every delivery report (acks=all);
/// `properties` are extra producer properties (e.g. message.max.bytes).
void Produce(const std::string& topic, const std::vector<Message>& messages,
             const std::vector<std::pair<std::string, std::string>>& properties = {});

/// Committed offsets of `group` for `topic` partitions 0..n-1 (-1001 if none).
std::vector<std::int64_t> CommittedOffsets(const std::string& group, const std::string& topic,
                                           int partitions);
/// High watermarks of `topic` partitions 0..n-1.
std::vector<std::int64_t> HighWatermarks(const std::string& topic, int partitions);

/// A temporary directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

/// The model-auditor binary as a child process with stderr to a log file.
class Daemon {
 public:
  Daemon(std::vector<std::string> args, const std::string& log_path);
  ~Daemon();  // SIGKILL if still running
  /// Waits for the "listening address=HOST:PORT" log line; returns HOST:PORT.
  std::string WaitListening(std::chrono::seconds timeout = std::chrono::seconds(20));
  void Signal(int sig);
  /// Waits for exit; returns the exit status, or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  std::string Log() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  bool reaped_ = false;
};

/// Path of the daemon binary under test.
std::string DaemonBinary();
/// Repo root (for config/ fixtures).
std::string SourceDir();

/// HTTP GET (or other method); returns status and body.
struct HttpResult {
  int status = 0;
  std::string body;
  std::string content_type;
};
HttpResult HttpRequest(const std::string& address, const std::string& target,
                       const std::string& method = "GET");

/// Parsed samples: "name{labels}" exactly as exposed -> value.
using Samples = std::map<std::string, double>;
Samples ParseMetrics(const std::string& text);
/// Value of a sample, or `missing` when absent.
double Value(const Samples& s, const std::string& series, double missing = -1);

/// Polls `pred` until true or the timeout; returns its last result.
bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = std::chrono::milliseconds(200));

/// Runs a command, returning exit status and combined output.
int Run(const std::string& command, std::string* output);

}  // namespace model_auditor::testing
