#pragma once
// Reads NDJSON call logs line by line from a file or stdin, decompressing gzip
// and zstd on the fly (detected from the first bytes, not the file name). Lines
// are views into one reused buffer that always has SIMDJSON_PADDING readable
// bytes after them, so the JSON parser reads them in place: no per-line
// allocation, no copy.

#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace model_auditor::scan {

enum class Compression : std::uint8_t { kNone, kGzip, kZstd };
std::string_view CompressionName(Compression c);

/// One line of input.
struct Line {
  std::string_view text;     // without '\n' / "\r\n"; valid until the next Next()
  std::uint64_t number = 0;  // 1-based
  bool truncated = false;  // longer than the reader's max_line: `text` is its first max_line bytes
};

/// A line reader over one file. Not thread-safe. Throws LoadError from the
/// constructor when the file cannot be opened (missing, a directory, no
/// permission) and std::runtime_error from Next() on read or decompression
/// errors (e.g. a truncated gzip file), naming the file.
class LineReader {
 public:
  /// `path` "-" reads stdin. Lines longer than `max_line` bytes are returned
  /// truncated (flagged) and the rest of them is skipped.
  explicit LineReader(const std::string& path, std::size_t max_line = (8u << 20) + 1);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// The next line; false at the end of the input.
  bool Next(Line& line);

  const std::string& path() const { return path_; }
  Compression compression() const { return compression_; }
  /// Bytes read from the file so far (compressed bytes for gzip/zstd).
  std::uint64_t raw_bytes() const { return raw_bytes_; }
  /// Bytes of (decompressed) text produced so far.
  std::uint64_t bytes() const { return bytes_; }
  /// Size of a regular file in bytes, or -1 (stdin, pipes).
  std::int64_t size() const { return size_; }

 private:
  std::size_t ReadRaw(char* dst, std::size_t cap);
  bool FillRaw();
  /// Appends decompressed or plain bytes after end_; false at end of input.
  bool Fill();
  std::size_t Inflate(char* dst, std::size_t cap);
  std::size_t Unzstd(char* dst, std::size_t cap);
  [[noreturn]] void Fail(const std::string& what) const;

  std::string path_;
  int fd_ = -1;
  bool own_fd_ = false;
  std::int64_t size_ = -1;
  Compression compression_ = Compression::kNone;
  std::size_t max_line_;

  // Text buffer: [pos_, end_) holds unread text; capacity has padding after it.
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  bool skipping_ = false;  // inside the rest of a truncated line
  std::uint64_t line_no_ = 0;

  // Compressed input.
  std::unique_ptr<char[]> raw_;
  std::size_t raw_pos_ = 0;
  std::size_t raw_len_ = 0;
  bool raw_eof_ = false;
  z_stream z_{};
  bool z_init_ = false;
  bool z_member_done_ = false;  // last inflate() ended a gzip member
  ZSTD_DCtx* zstd_ = nullptr;
  std::size_t zstd_hint_ = 0;  // last ZSTD_decompressStream result: 0 = frame complete

  std::uint64_t raw_bytes_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace model_auditor::scan
