#include "util/log.h"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "util/error.h"

namespace model_auditor::util {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("SplitLogMessage turns leading text into msg and key=value pairs into fields",
          "[util][log]") {
  SECTION("values run up to the next key, spaces included") {
    const LogFields f = SplitLogMessage("registry loaded source=a b models=7");
    CHECK(f.msg == "registry loaded");
    CHECK(f.fields == Fields{{"source", "a b"}, {"models", "7"}});
  }
  SECTION("a message without fields is all msg") {
    const LogFields f = SplitLogMessage("consumer joined the group");
    CHECK(f.msg == "consumer joined the group");
    CHECK(f.fields.empty());
  }
  SECTION("empty text") {
    const LogFields f = SplitLogMessage("");
    CHECK(f.msg.empty());
    CHECK(f.fields.empty());
  }
  SECTION("quoted values lose their quotes") {
    const LogFields f = SplitLogMessage("reload failed err=\"bad file\" attempt=2");
    CHECK(f.msg == "reload failed");
    CHECK(f.fields == Fields{{"err", "bad file"}, {"attempt", "2"}});
  }
  SECTION("keys may hold digits, underscores and dots") {
    const LogFields f = SplitLogMessage("lag topic.name=t partition_2=5");
    CHECK(f.msg == "lag");
    CHECK(f.fields == Fields{{"topic.name", "t"}, {"partition_2", "5"}});
  }
  SECTION("an = inside a value does not start a field") {
    const LogFields f = SplitLogMessage("fetch url=http://h/x?a=b&c=d status=200");
    CHECK(f.fields == Fields{{"url", "http://h/x?a=b&c=d"}, {"status", "200"}});
  }
  SECTION("upper-case words with = stay in the text") {
    const LogFields f = SplitLogMessage("set Foo=bar now");
    CHECK(f.msg == "set Foo=bar now");
    CHECK(f.fields.empty());
  }
  SECTION("empty values are kept") {
    const LogFields f = SplitLogMessage("x k= j=1");
    CHECK(f.msg == "x");
    CHECK(f.fields == Fields{{"k", ""}, {"j", "1"}});
  }
}

TEST_CASE("SetupLogging rejects unknown levels and formats", "[util][log]") {
  CHECK_THROWS_AS(SetupLogging("verbose", "logfmt"), LoadError);
  CHECK_THROWS_WITH(SetupLogging("info", "xml"), Catch::Contains("unknown format 'xml'"));
}

}  // namespace
}  // namespace model_auditor::util
