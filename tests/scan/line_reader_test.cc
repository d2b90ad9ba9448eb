// The call-log reader: plain, gzip (also concatenated members) and zstd,
// detected from content; CRLF, a last line without newline, over-long lines,
// chunk boundaries; corrupt or truncated archives fail with the file's name.

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "scan/line_reader.h"
#include "util/error.h"

namespace ms = model_auditor::scan;

namespace {

struct Dir {
  Dir() {
    char tmpl[] = "/tmp/model-auditor-scan-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~Dir() { std::filesystem::remove_all(path); }
  std::string Write(const std::string& name, const std::string& bytes) const {
    const std::string p = path + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::string path;
};

std::string Gzip(const std::string& text) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::vector<std::string> ReadAll(const std::string& path, ms::Compression* c = nullptr,
                                 std::size_t max_line = (8u << 20) + 1) {
  ms::LineReader r(path, max_line);
  std::vector<std::string> lines;
  ms::Line line;
  while (r.Next(line)) {
    CHECK(line.number == lines.size() + 1);
    lines.emplace_back(line.text);
  }
  if (c) *c = r.compression();
  return lines;
}

}  // namespace

TEST_CASE("plain, gzip and zstd files yield the same lines", "[scan][reader]") {
  Dir d;
  const std::string text = "{\"a\":1}\r\n{\"b\":2}\n\n{\"c\":3}";
  const std::vector<std::string> want = {"{\"a\":1}", "{\"b\":2}", "", "{\"c\":3}"};
  ms::Compression c;
  CHECK(ReadAll(d.Write("plain.ndjson", text), &c) == want);
  CHECK(c == ms::Compression::kNone);
  // The extension says nothing: content decides.
  CHECK(ReadAll(d.Write("gz.ndjson", Gzip(text)), &c) == want);
  CHECK(c == ms::Compression::kGzip);
  CHECK(ReadAll(d.Write("zst.log", Zstd(text)), &c) == want);
  CHECK(c == ms::Compression::kZstd);
  SECTION("concatenated gzip members read as one stream") {
    CHECK(ReadAll(d.Write("cat.gz", Gzip("{\"a\":1}\n") + Gzip("{\"b\":2}\n"))) ==
          std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
  }
  SECTION("concatenated zstd frames read as one stream") {
    CHECK(ReadAll(d.Write("cat.zst", Zstd("x\n") + Zstd("y\n"))) ==
          std::vector<std::string>{"x", "y"});
  }
}

TEST_CASE("an empty file has no lines", "[scan][reader]") {
  Dir d;
  CHECK(ReadAll(d.Write("empty", "")).empty());
  CHECK(ReadAll(d.Write("empty.gz", Gzip(""))).empty());
  CHECK(ReadAll(d.Write("empty.zst", Zstd(""))).empty());
}

TEST_CASE("lines across chunk boundaries come out whole", "[scan][reader]") {
  Dir d;
  std::string text;
  std::vector<std::string> want;
  for (int i = 0; i < 40'000; ++i) {  // ~4.5 MB: several 1 MiB chunks, lines straddling them
    std::string line =
        "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(80 + i % 61, 'x') + "\"}";
    text += line + "\n";
    want.push_back(std::move(line));
  }
  CHECK(ReadAll(d.Write("big", text)) == want);
  CHECK(ReadAll(d.Write("big.gz", Gzip(text))) == want);
  CHECK(ReadAll(d.Write("big.zst", Zstd(text))) == want);
}

TEST_CASE("a line over the limit is returned truncated and the rest skipped", "[scan][reader]") {
  Dir d;
  const std::string huge(3000, 'h');
  const std::string path = d.Write("long", "first\n" + huge + "\nlast\n" + huge);
  ms::LineReader r(path, 1000);
  ms::Line line;
  REQUIRE(r.Next(line));
  CHECK(line.text == "first");
  REQUIRE(r.Next(line));
  CHECK(line.truncated);
  CHECK(line.text.size() == 1000);
  CHECK(line.number == 2);
  REQUIRE(r.Next(line));
  CHECK_FALSE(line.truncated);
  CHECK(line.text == "last");
  CHECK(line.number == 3);
  REQUIRE(r.Next(line));
  CHECK(line.truncated);
  CHECK(line.number == 4);
  CHECK_FALSE(r.Next(line));
}

TEST_CASE("corrupt or truncated archives fail with the file's name", "[scan][reader]") {
  Dir d;
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "{\"model\":\"Qwen-Tiny\",\"i\":" + std::to_string(i) + "}\n";
  SECTION("truncated gzip") {
    const std::string gz = Gzip(text);
    const std::string path = d.Write("cut.gz", gz.substr(0, gz.size() / 2));
    CHECK_THROWS_WITH(ReadAll(path), Catch::Contains("cut.gz") && Catch::Contains("truncated"));
  }
  SECTION("truncated zstd") {
    const std::string zs = Zstd(text);
    const std::string path = d.Write("cut.zst", zs.substr(0, zs.size() - 7));
    CHECK_THROWS_WITH(ReadAll(path), Catch::Contains("cut.zst") && Catch::Contains("truncated"));
  }
  SECTION("corrupt gzip") {
    std::string gz = Gzip(text);
    for (std::size_t i = 20; i < 60; ++i) gz[i] = static_cast<char>(gz[i] ^ 0x5a);
    CHECK_THROWS_AS(ReadAll(d.Write("bad.gz", gz)), std::runtime_error);
  }
}

TEST_CASE("a missing file or a directory is a load error", "[scan][reader]") {
  Dir d;
  CHECK_THROWS_AS(ms::LineReader(d.path + "/nope.ndjson"), model_auditor::LoadError);
  CHECK_THROWS_WITH(ms::LineReader(d.path + "/nope.ndjson"), Catch::Contains("nope.ndjson"));
  CHECK_THROWS_AS(ms::LineReader(d.path), model_auditor::LoadError);
}
