#include "registry/registry.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "util/error.h"
#include "util/text.h"

namespace model_auditor::registry {
namespace {

constexpr std::size_t kMaxModels = 200'000;
constexpr std::size_t kMaxAliasesPerModel = 1'000;

std::string At(const std::string& source, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.line < 0) return source;
  return source + ":" + std::to_string(m.line + 1);
}

[[noreturn]] void Fail(const std::string& where, const std::string& what) {
  throw LoadError(where + ": " + what);
}

std::string Sha256Hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len && i < 8; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string ScalarName(const std::string& source, const YAML::Node& node, const char* what) {
  if (!node.IsScalar()) Fail(At(source, node), std::string(what) + " must be a string");
  const std::string& s = node.Scalar();
  if (s.empty()) Fail(At(source, node), std::string(what) + " must not be empty");
  if (s.size() > kMaxNameBytes) {
    Fail(At(source, node), std::string(what) + " is longer than " + std::to_string(kMaxNameBytes) +
                               " bytes");
  }
  if (!util::IsValidUtf8(s)) Fail(At(source, node), std::string(what) + " is not valid UTF-8");
  return s;
}

Model ParseNativeModel(const std::string& source, const YAML::Node& entry) {
  Model m;
  if (entry.IsScalar()) {  // shorthand: a bare name is an online model
    m.name = ScalarName(source, entry, "model name");
    return m;
  }
  if (!entry.IsMap()) Fail(At(source, entry), "a model must be a mapping with at least 'name'");
  bool have_name = false;
  for (const auto& kv : entry) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& value = kv.second;
    if (key == "name") {
      m.name = ScalarName(source, value, "'name'");
      have_name = true;
    } else if (key == "status") {
      if (!value.IsScalar()) Fail(At(source, value), "'status' must be a string");
      auto st = ParseStatus(value.Scalar());
      if (!st) {
        Fail(At(source, value), "unknown status '" + value.Scalar() +
                                    "' (expected online, testing, deprecated, retired or planned)");
      }
      m.status = *st;
    } else if (key == "aliases") {
      if (value.IsNull()) continue;
      if (!value.IsSequence()) Fail(At(source, value), "'aliases' must be a list of names");
      if (value.size() > kMaxAliasesPerModel) {
        Fail(At(source, value), "more than " + std::to_string(kMaxAliasesPerModel) + " aliases");
      }
      for (const auto& a : value) m.aliases.push_back(ScalarName(source, a, "alias"));
    } else if (key == "replaced_by") {
      if (value.IsNull()) continue;
      m.replaced_by = ScalarName(source, value, "'replaced_by'");
    } else if (key == "description" || key == "owner" || key == "metadata" || key == "labels" ||
               key == "uuid" || key == "version") {
      // Informational fields a real registry carries; not used for auditing.
    } else {
      Fail(At(source, kv.first),
           "unknown key '" + key +
               "' in model (expected name, status, aliases, replaced_by, description, owner, "
               "metadata, labels, uuid, version)");
    }
  }
  if (!have_name) Fail(At(source, entry), "model without 'name'");
  return m;
}

}  // namespace

std::string_view StatusName(Status s) {
  switch (s) {
    case Status::kOnline: return "online";
    case Status::kTesting: return "testing";
    case Status::kDeprecated: return "deprecated";
    case Status::kRetired: return "retired";
    case Status::kPlanned: return "planned";
  }
  return "unknown";
}

std::optional<Status> ParseStatus(std::string_view s) {
  for (Status st : kAllStatuses) {
    if (StatusName(st) == s) return st;
  }
  return std::nullopt;
}

std::string_view FormatName(Format f) {
  return f == Format::kNative ? "native" : "openai";
}

Snapshot::Snapshot(std::vector<Model> models, Format format, std::string source,
                   std::int64_t loaded_at_ms, std::string digest)
    : models_(std::move(models)),
      format_(format),
      source_(std::move(source)),
      loaded_at_ms_(loaded_at_ms),
      digest_(std::move(digest)) {
  exact_.reserve(models_.size() * 2);
  for (std::uint32_t i = 0; i < models_.size(); ++i) {
    const Model& m = models_[i];
    if (!exact_.emplace(m.name, ExactHit{i, false}).second) {
      throw LoadError(source_ + ": duplicate model name '" + m.name + "'");
    }
    ++by_status_[static_cast<std::size_t>(m.status)];
  }
  for (std::uint32_t i = 0; i < models_.size(); ++i) {
    for (const std::string& a : models_[i].aliases) {
      auto [it, inserted] = exact_.emplace(a, ExactHit{i, true});
      if (!inserted) {
        const Model& other = models_[it->second.model];
        throw LoadError(source_ + ": alias '" + a + "' of model '" + models_[i].name +
                        "' is already " +
                        (it->second.alias ? "an alias of '" + other.name + "'" : "a model name"));
      }
    }
  }
  replacement_.assign(models_.size(), -1);
  for (std::uint32_t i = 0; i < models_.size(); ++i) {
    const Model& m = models_[i];
    if (m.replaced_by.empty()) continue;
    auto it = exact_.find(m.replaced_by);
    if (it == exact_.end() || it->second.alias) {
      throw LoadError(source_ + ": model '" + m.name + "' is replaced_by '" + m.replaced_by +
                      "', which is not a model name in the registry");
    }
    if (it->second.model == i) {
      throw LoadError(source_ + ": model '" + m.name + "' is replaced_by itself");
    }
  }
  // A replaced_by cycle is an error whatever the statuses along it (a serving
  // model on the cycle would otherwise hide it from the walk below).
  std::vector<std::uint8_t> state(models_.size(), 0);  // 0 unseen, 1 on this walk, 2 done
  for (std::uint32_t i = 0; i < models_.size(); ++i) {
    if (state[i] != 0) continue;
    for (std::uint32_t at = i;;) {
      state[at] = 1;
      if (models_[at].replaced_by.empty()) break;
      at = exact_.at(models_[at].replaced_by).model;
      if (state[at] == 1) {
        throw LoadError(source_ + ": replaced_by chain starting at '" + models_[i].name +
                        "' forms a cycle through '" + models_[at].name + "'");
      }
      if (state[at] == 2) break;
    }
    for (std::uint32_t at = i; state[at] == 1;) {
      state[at] = 2;
      if (models_[at].replaced_by.empty()) break;
      at = exact_.at(models_[at].replaced_by).model;
    }
  }
  // Follow each chain to the first serving model; a chain longer than the
  // registry is a cycle.
  for (std::uint32_t i = 0; i < models_.size(); ++i) {
    if (Serves(models_[i].status)) {
      replacement_[i] = static_cast<std::int32_t>(i);
      continue;
    }
    std::int32_t cur = -1;
    std::uint32_t at = i;
    for (std::size_t steps = 0; !models_[at].replaced_by.empty(); ++steps) {
      if (steps > models_.size()) {
        throw LoadError(source_ + ": replaced_by chain starting at '" + models_[i].name +
                        "' forms a cycle");
      }
      at = exact_.at(models_[at].replaced_by).model;
      cur = static_cast<std::int32_t>(at);
      if (Serves(models_[at].status)) break;
    }
    replacement_[i] = cur;
  }
}

std::optional<Snapshot::ExactHit> Snapshot::FindExact(std::string_view name) const {
  // Heterogeneous lookup arrives in libstdc++ 12 only for C++20 with transparent
  // hashers; a std::string key keeps this simple and it is off the hot path
  // (the consumer caches verdicts per name).
  auto it = exact_.find(std::string(name));
  if (it == exact_.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<const Snapshot> ParseSnapshot(std::string_view text, const std::string& source) {
  if (text.size() > kMaxDocumentBytes) {
    throw LoadError(source + ": document is " + std::to_string(text.size()) +
                    " bytes, over the limit of " + std::to_string(kMaxDocumentBytes));
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    const std::string where =
        e.mark.line >= 0 ? source + ":" + std::to_string(e.mark.line + 1) : source;
    throw LoadError(where + ": cannot parse registry: " + e.msg);
  }
  try {
    if (!root || root.IsNull()) throw LoadError(source + ": registry document is empty");
    if (!root.IsMap()) {
      Fail(At(source, root),
           "registry must be a mapping with 'models' (native) or 'object: list' and 'data' "
           "(OpenAI /v1/models)");
    }
    std::vector<Model> models;
    Format format;
    if (root["models"]) {
      format = Format::kNative;
      for (const auto& kv : root) {
        const std::string key = kv.first.as<std::string>();
        if (key != "models" && key != "version" && key != "generated_at" && key != "metadata") {
          Fail(At(source, kv.first), "unknown top-level key '" + key +
                                         "' (expected models, version, generated_at, metadata)");
        }
      }
      const YAML::Node list = root["models"];
      if (list.IsNull()) {
        // `models:` with nothing under it is an empty registry, not an error here.
      } else if (!list.IsSequence()) {
        Fail(At(source, list), "'models' must be a list");
      } else {
        if (list.size() > kMaxModels) Fail(At(source, list), "too many models");
        models.reserve(list.size());
        for (const auto& entry : list) models.push_back(ParseNativeModel(source, entry));
      }
    } else if (root["data"] && root["object"] && root["object"].IsScalar() &&
               root["object"].Scalar() == "list") {
      format = Format::kOpenAiList;
      const YAML::Node data = root["data"];
      if (!data.IsSequence()) Fail(At(source, data), "'data' must be a list");
      if (data.size() > kMaxModels) Fail(At(source, data), "too many models");
      for (const auto& entry : data) {
        if (!entry.IsMap() || !entry["id"]) Fail(At(source, entry), "model entry without 'id'");
        Model m;
        m.name = ScalarName(source, entry["id"], "'id'");
        m.status = Status::kOnline;
        models.push_back(std::move(m));
      }
    } else {
      Fail(At(source, root),
           "registry must have 'models' (native) or 'object: list' and 'data' (OpenAI "
           "/v1/models)");
    }
    return std::make_shared<const Snapshot>(std::move(models), format, source, util::NowUnixMs(),
                                            Sha256Hex(text));
  } catch (const YAML::Exception& e) {
    const std::string where =
        e.mark.line >= 0 ? source + ":" + std::to_string(e.mark.line + 1) : source;
    throw LoadError(where + ": invalid registry: " + e.msg);
  }
}

std::shared_ptr<const Snapshot> LoadSnapshotFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw LoadError(path + ": cannot open registry file: " + std::strerror(errno));
  // Refuse an oversized file before reading a byte of it (a 1 GB file costs
  // nothing to reject).
  struct stat st {};
  if (::fstat(::fileno(f), &st) == 0 && static_cast<std::uint64_t>(st.st_size) > kMaxDocumentBytes) {
    std::fclose(f);
    throw LoadError(path + ": registry file is " + std::to_string(st.st_size) +
                    " bytes, over the limit of " + std::to_string(kMaxDocumentBytes));
  }
  std::string text;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxDocumentBytes) {
      std::fclose(f);
      throw LoadError(path + ": registry file is larger than " +
                      std::to_string(kMaxDocumentBytes) + " bytes");
    }
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw LoadError(path + ": cannot read registry file");
  return ParseSnapshot(text, path);
}

}  // namespace model_auditor::registry
