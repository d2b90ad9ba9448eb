// ${env:NAME} and ${file:PATH} references in kafka.properties.

#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"
#include "util/error.h"

namespace model_auditor::config {
namespace {

std::string ErrorOf(const std::string& text, const std::string& path) {
  try {
    ParseConfig(text, path);
  } catch (const LoadError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("secret references expand at load and mark the property secret", "[config][secrets]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ma-secrets-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "password") << "from-a-file\n\n";
  ::setenv("MA_SECRETS_TEST_VALUE", "from-the-env", 1);
  const std::string path = (dir / "config.yaml").string();

  const Config c = ParseConfig("kafka:\n  properties:\n"
                               "    sasl.password: ${env:MA_SECRETS_TEST_VALUE}\n"
                               "    ssl.key.password: ${file:password}\n"
                               "    sasl.username: pre-${env:MA_SECRETS_TEST_VALUE}-post\n"
                               "    client.rack: $${env:MA_SECRETS_TEST_VALUE}\n"
                               "    client.id: plain\n",
                               path);
  CHECK(c.kafka.properties.at("sasl.password") == "from-the-env");
  CHECK(c.kafka.properties.at("ssl.key.password") == "from-a-file");  // trailing newlines dropped
  CHECK(c.kafka.properties.at("sasl.username") == "pre-from-the-env-post");
  CHECK(c.kafka.properties.at("client.rack") == "${env:MA_SECRETS_TEST_VALUE}");
  CHECK(c.kafka.secret_properties ==
        std::set<std::string>{"sasl.password", "ssl.key.password", "sasl.username"});

  // Errors name the reference and the line, never a value.
  CHECK(ErrorOf("kafka:\n  properties:\n    sasl.password: ${env:MA_SECRETS_TEST_UNSET}\n", path) ==
        path + ":3: 'sasl.password': environment variable 'MA_SECRETS_TEST_UNSET' is not set");
  CHECK(ErrorOf("kafka:\n  properties:\n    sasl.password: ${file:nope}\n", path)
            .rfind(path + ":3: 'sasl.password': cannot read " + (dir / "nope").string(), 0) == 0);
  CHECK(ErrorOf("kafka:\n  properties:\n    sasl.password: ${vault:x}\n", path)
            .find("unknown reference '${vault:...}'") != std::string::npos);
  CHECK(ErrorOf("kafka:\n  properties:\n    sasl.password: ${env:X\n", path)
            .find("unterminated '${'") != std::string::npos);
  // librdkafka rejects the value; its message would quote it, so it is replaced.
  const std::string e =
      ErrorOf("kafka:\n  properties:\n    security.protocol: ${env:MA_SECRETS_TEST_VALUE}\n", path);
  CHECK(e.rfind(path + ":3: kafka property 'security.protocol': invalid value", 0) == 0);
  CHECK(e.find("from-the-env") == std::string::npos);
  ::unsetenv("MA_SECRETS_TEST_VALUE");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace model_auditor::config
