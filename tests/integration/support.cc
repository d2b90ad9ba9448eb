#include "support.h"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace model_auditor::testing {
namespace {

rd_kafka_t* NewClient(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      FAIL("conf " << k << ": " << err);
    }
  };
  set("bootstrap.servers", Bootstrap());
  set("log_level", "3");
  for (const auto& [k, v] : props) set(k, v);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) FAIL("rd_kafka_new: " << err);
  return rk;
}

}  // namespace

std::string Bootstrap() {
  const char* b = std::getenv("KAFKA_BOOTSTRAP");
  if (!b || !*b) {
    FAIL("KAFKA_BOOTSTRAP is not set: run scripts/test.sh, or start a broker with "
         "`eval \"$(scripts/kafka.sh start)\"` and export KAFKA_BOOTSTRAP");
  }
  return b;
}

std::string UniqueName(const std::string& prefix) {
  static std::mt19937_64 rng(std::random_device{}());
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000);
}

void CreateTopic(const std::string& topic, int partitions,
                 const std::vector<std::pair<std::string, std::string>>& configs) {
  rd_kafka_t* rk = NewClient(RD_KAFKA_PRODUCER, {});
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, nullptr, 0);
  for (const auto& [name, value] : configs) {
    REQUIRE(rd_kafka_NewTopic_set_config(nt, name.c_str(), value.c_str()) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  REQUIRE(ev != nullptr);
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  REQUIRE(res != nullptr);
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
  REQUIRE(n == 1);
  const auto err = rd_kafka_topic_result_error(results[0]);
  INFO("create topic " << topic << ": " << rd_kafka_err2str(err));
  REQUIRE((err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS));
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  // Wait until every partition has a leader.
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  bool ready = false;
  for (int attempt = 0; attempt < 100 && !ready; ++attempt) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ready = md->topic_cnt == 1 && md->topics[0].err == 0 &&
              md->topics[0].partition_cnt == partitions;
      for (int p = 0; ready && p < md->topics[0].partition_cnt; ++p) {
        ready = md->topics[0].partitions[p].leader >= 0;
      }
      rd_kafka_metadata_destroy(md);
    }
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  REQUIRE(ready);
}

void Produce(const std::string& topic, const std::vector<Message>& messages,
             const std::vector<std::pair<std::string, std::string>>& properties) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"acks", "all"}, {"linger.ms", "5"}, {"batch.num.messages", "10000"},
      {"queue.buffering.max.messages", "1000000"}, {"queue.buffering.max.kbytes", "1048576"}};
  props.insert(props.end(), properties.begin(), properties.end());
  rd_kafka_t* rk = NewClient(RD_KAFKA_PRODUCER, props);
  for (const Message& m : messages) {
    rd_kafka_headers_t* hdrs = nullptr;
    if (!m.headers.empty()) {
      hdrs = rd_kafka_headers_new(m.headers.size());
      for (const auto& [k, v] : m.headers) {
        rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                            static_cast<ssize_t>(v.size()));
      }
    }
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(m.partition),
          RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
          RD_KAFKA_V_VALUE(m.null_value ? nullptr : const_cast<char*>(m.value.data()),
                           m.null_value ? 0 : m.value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(m.timestamp_ms),
          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 50);
        continue;
      }
      if (err) {
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        FAIL("produce: " << rd_kafka_err2str(err));
      }
      break;
    }
    rd_kafka_poll(rk, 0);
  }
  REQUIRE(rd_kafka_flush(rk, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_outq_len(rk) == 0);
  rd_kafka_destroy(rk);
}

std::vector<std::int64_t> CommittedOffsets(const std::string& group, const std::string& topic,
                                           int partitions) {
  rd_kafka_t* rk = NewClient(RD_KAFKA_CONSUMER, {{"group.id", group}, {"enable.auto.commit", "false"}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  REQUIRE(rd_kafka_committed(rk, list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  std::vector<std::int64_t> out;
  for (int p = 0; p < partitions; ++p) out.push_back(list->elems[p].offset);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  return out;
}

std::vector<std::int64_t> HighWatermarks(const std::string& topic, int partitions) {
  rd_kafka_t* rk = NewClient(RD_KAFKA_PRODUCER, {});
  std::vector<std::int64_t> out;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t lo = 0, hi = 0;
    REQUIRE(rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
    out.push_back(hi);
  }
  rd_kafka_destroy(rk);
  return out;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/model-auditor-test.XXXXXX";
  const char* p = ::mkdtemp(tmpl);
  REQUIRE(p != nullptr);
  path_ = p;
}

TempDir::~TempDir() {
  if (std::getenv("KEEP_TEST_DIRS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  const std::string p = path_ + "/" + name;
  std::ofstream out(p, std::ios::binary);
  out << content;
  return p;
}

std::string DaemonBinary() { return MODEL_AUDITOR_BINARY; }
std::string SourceDir() { return MODEL_AUDITOR_SOURCE_DIR; }

Daemon::Daemon(std::vector<std::string> args, const std::string& log_path) : log_path_(log_path) {
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> argv;
    std::string bin = DaemonBinary();
    argv.push_back(bin.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    std::_Exit(127);
  }
}

Daemon::~Daemon() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string Daemon::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Daemon::WaitListening(std::chrono::seconds timeout) {
  const std::regex re("listening\"? address=([0-9.:\\[\\]a-f]+)");
  std::string address;
  const bool ok = Eventually(
      [&] {
        std::smatch m;
        const std::string log = Log();
        if (std::regex_search(log, m, re)) {
          address = m[1];
          return true;
        }
        return false;
      },
      timeout, std::chrono::milliseconds(50));
  INFO("daemon log:\n" << Log());
  REQUIRE(ok);
  return address;
}

void Daemon::Signal(int sig) { ::kill(pid_, sig); }

std::optional<int> Daemon::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

HttpResult HttpRequest(const std::string& address, const std::string& target,
                       const std::string& method) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = boost::asio::ip::tcp;
  HttpResult out;
  try {
    const auto colon = address.rfind(':');
    boost::asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(address.substr(0, colon), address.substr(colon + 1)));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, address);
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    out.content_type = std::string(res[http::field::content_type]);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception&) {
    out.status = 0;
  }
  return out;
}

Samples ParseMetrics(const std::string& text) {
  Samples out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return out;
}

double Value(const Samples& s, const std::string& series, double missing) {
  auto it = s.find(series);
  return it == s.end() ? missing : it->second;
}

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

int Run(const std::string& command, std::string* output) {
  std::string cmd = command + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
    if (output) output->append(buf, n);
  }
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace model_auditor::testing
