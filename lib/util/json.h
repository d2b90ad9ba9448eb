#pragma once
// A minimal streaming JSON writer for the report: correct string escaping and
// commas, nothing else. Not thread-safe (one writer per document).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace model_auditor::util {

/// Appends `s` as a JSON string literal (quotes included) to `out`. Invalid
/// UTF-8 never reaches here (names are validated), control bytes are escaped.
void AppendJsonString(std::string& out, std::string_view s);

/// Builds a JSON document into a string.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view v);
  JsonWriter& Uint(std::uint64_t v);
  JsonWriter& Int(std::int64_t v);
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Comma();
  std::string out_;
  std::vector<bool> first_{true};  // per nesting level: no element written yet
  bool after_key_ = false;
};

}  // namespace model_auditor::util
