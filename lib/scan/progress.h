#pragma once
// Progress of a batch scan on stderr, for a person watching a terminal:
// position, messages, MB/s and an ETA per input, redrawn in place at most
// four times a second. Silent unless enabled (the caller enables it when
// stderr is a terminal), so logs and CI output stay clean.

#include <chrono>
#include <cstdint>
#include <string>

namespace model_auditor::scan {

/// Not thread-safe: one scanning thread drives it.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  ~Progress() { End(); }
  bool enabled() const { return enabled_; }

  /// Starts an input. `total` is the amount Update()'s `done` counts towards
  /// (bytes of a file, messages of a Kafka range), or -1 when unknown.
  void Begin(std::string label, std::int64_t total, const char* unit);
  /// Cheap when called often: draws only every 250 ms.
  void Update(std::uint64_t done, std::uint64_t messages, std::uint64_t bytes);
  /// Draws the final line of the input and moves to a new line.
  void End();

 private:
  void Draw(bool final);

  bool enabled_;
  bool active_ = false;
  std::string label_;
  std::int64_t total_ = -1;
  const char* unit_ = "B";
  std::uint64_t done_ = 0;
  std::uint64_t messages_ = 0;
  std::uint64_t bytes_ = 0;
  std::chrono::steady_clock::time_point start_{};
  std::chrono::steady_clock::time_point last_draw_{};
};

/// "1.5 GB", "512.0 MB", "12 B".
std::string HumanBytes(double bytes);

}  // namespace model_auditor::scan
