#include "scan/file_scan.h"

#include <simdjson.h>

#include <filesystem>
#include <stdexcept>

#include "scan/line_reader.h"
#include "scan/timestamp.h"
#include "util/text.h"

namespace model_auditor::scan {
namespace {

bool IsBlank(std::string_view s) {
  for (const char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

enum class TimeResult { kFound, kAbsent, kUnreadable };

// Reads the timestamp field of a line in place (the reader guarantees the
// padding). A second, tiny parse: the extractor's parser is private to it, and
// this costs ~0.1 µs per KB, not worth coupling the two.
class TimeField {
 public:
  explicit TimeField(std::string pointer) : pointer_(std::move(pointer)) {}
  TimeResult Read(std::string_view line, std::int64_t& ms) {
    simdjson::ondemand::document doc;
    if (parser_.iterate(line.data(), line.size(), line.size() + simdjson::SIMDJSON_PADDING)
            .get(doc)) {
      return TimeResult::kUnreadable;
    }
    // Only an object (or array) can hold the field; anything else is a line
    // the extractor will call malformed.
    simdjson::ondemand::json_type root;
    if (doc.type().get(root) || (root != simdjson::ondemand::json_type::object &&
                                 root != simdjson::ondemand::json_type::array)) {
      return TimeResult::kUnreadable;
    }
    simdjson::ondemand::value v;
    const simdjson::error_code err = doc.at_pointer(pointer_).get(v);
    if (err == simdjson::NO_SUCH_FIELD || err == simdjson::INDEX_OUT_OF_BOUNDS ||
        err == simdjson::INCORRECT_TYPE || err == simdjson::INVALID_JSON_POINTER) {
      return TimeResult::kAbsent;
    }
    if (err) return TimeResult::kUnreadable;
    simdjson::ondemand::json_type type;
    if (v.type().get(type)) return TimeResult::kUnreadable;
    std::optional<std::int64_t> t;
    if (type == simdjson::ondemand::json_type::string) {
      std::string_view s;
      if (v.get_string().get(s)) return TimeResult::kUnreadable;
      t = ParseRfc3339(s);
    } else if (type == simdjson::ondemand::json_type::number) {
      double d;
      if (v.get_double().get(d)) return TimeResult::kUnreadable;
      t = EpochToMs(d);
    }
    if (!t) return TimeResult::kAbsent;
    ms = *t;
    return TimeResult::kFound;
  }

 private:
  std::string pointer_;
  simdjson::ondemand::parser parser_;
};

}  // namespace

std::string FileLabel(const std::string& path) {
  if (path == "-") return "stdin";
  const std::string base = std::filesystem::path(path).filename().string();
  return base.empty() ? path : base;
}

report::ScanInput ScanFile(const std::string& path, const FileScanOptions& options,
                           Session& session) {
  LineReader reader(path);
  report::ScanInput in;
  in.name = path;
  in.kind = "file";
  const std::string label = options.label.empty() ? FileLabel(path) : options.label;
  audit::Auditor::TopicContext& topic = session.auditor.Topic(label);
  const bool windowed = options.from_ms || options.to_ms;
  const std::int64_t from = options.from_ms.value_or(INT64_MIN);
  const std::int64_t to = options.to_ms.value_or(INT64_MAX);
  std::optional<TimeField> time_field;
  if (!options.time_pointer.empty()) time_field.emplace(options.time_pointer);
  auto no_header = [](const std::string&) -> std::optional<std::string_view> {
    return std::nullopt;
  };

  session.progress.Begin(path == "-" ? "stdin" : path, reader.size(), "B");
  std::int64_t wall_ms = util::NowUnixMs();
  Line line;
  std::uint64_t n = 0;
  try {
    while (reader.Next(line)) {
      if ((++n & 4095) == 0) {
        if (session.stop.load(std::memory_order_relaxed)) {
          in.error = "interrupted";
          break;
        }
        wall_ms = util::NowUnixMs();
        session.progress.Update(reader.raw_bytes(), in.messages, reader.bytes());
      }
      if (!line.truncated && IsBlank(line.text)) {
        ++in.blank;
        continue;
      }
      std::int64_t ts = 0;
      if (time_field && !line.truncated) {
        // An unreadable line is audited whatever the window: it is a bad line
        // to report, and its time cannot be known.
        const TimeResult t = time_field->Read(line.text, ts);
        if (t != TimeResult::kFound) ts = 0;
        if (windowed && t == TimeResult::kAbsent) {
          ++in.outside_window;
          continue;
        }
      }
      if (windowed && ts != 0 && (ts < from || ts >= to)) {
        ++in.outside_window;
        continue;
      }
      if (ts == 0) ++in.untimed;
      session.Observe(ts);
      const classify::Verdict v =
          session.auditor.Process(topic, no_header, line.text, true, ts, wall_ms);
      if (v == classify::Verdict::kMalformed) {
        session.Malformed({path == "-" ? "stdin" : path, line.number, -1, -1,
                           std::string(extract::MalformedName(session.auditor.last_malformed()))});
      }
      ++in.messages;
    }
  } catch (const std::runtime_error& e) {
    in.error = e.what();
  }
  in.bytes = reader.bytes();
  in.detail = std::string(CompressionName(reader.compression()));
  if (reader.compression() != Compression::kNone) {
    in.detail += ", " + HumanBytes(static_cast<double>(reader.raw_bytes())) + " compressed";
  }
  in.detail += ", " + std::to_string(line.number) + " lines";
  session.progress.Update(reader.raw_bytes(), in.messages, reader.bytes());
  session.progress.End();
  return in;
}

}  // namespace model_auditor::scan
