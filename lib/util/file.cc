#include "util/file.h"

#include <fstream>
#include <sstream>

namespace model_auditor::util {

bool ReadWholeFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace model_auditor::util
