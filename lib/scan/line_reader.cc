#include "scan/line_reader.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "util/error.h"

namespace model_auditor::scan {
namespace {

// Text is produced in 1 MiB steps: big enough that read() and memchr run at
// memory speed, small enough that a chunk is still in cache when it is parsed.
constexpr std::size_t kChunk = 1u << 20;
constexpr std::size_t kRawChunk = 256u << 10;
constexpr std::size_t kPadding = simdjson::SIMDJSON_PADDING;

}  // namespace

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "plain";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "plain";
}

LineReader::LineReader(const std::string& path, std::size_t max_line)
    : path_(path), max_line_(max_line) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw LoadError(path + ": cannot open: " + std::strerror(errno));
    own_fd_ = true;
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      if (own_fd_) ::close(fd_);
      throw LoadError(path + ": is a directory, not a call-log file");
    }
    if (S_ISREG(st.st_mode)) {
      size_ = st.st_size;
      ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
  }
  cap_ = max_line_ + kChunk + kPadding;
  buf_.reset(new char[cap_]);
  std::memset(buf_.get(), 0, kPadding);
  raw_.reset(new char[kRawChunk]);
  // Sniff the format from the first bytes (a pipe may deliver fewer at once).
  try {
    while (raw_len_ < 4) {
      const std::size_t n = ReadRaw(raw_.get() + raw_len_, kRawChunk - raw_len_);
      if (n == 0) {
        raw_eof_ = true;
        break;
      }
      raw_len_ += n;
    }
  } catch (const std::runtime_error& e) {
    if (own_fd_) ::close(fd_);
    throw LoadError(e.what());
  }
  const auto* b = reinterpret_cast<const unsigned char*>(raw_.get());
  if (raw_len_ >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
    compression_ = Compression::kGzip;
    // 15 + 32: zlib or gzip header, detected; members are reset one by one.
    if (inflateInit2(&z_, 15 + 32) != Z_OK) Fail("cannot initialise zlib");
    z_init_ = true;
    z_.next_in = reinterpret_cast<Bytef*>(raw_.get());
    z_.avail_in = static_cast<uInt>(raw_len_);
  } else if (raw_len_ >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) {
    compression_ = Compression::kZstd;
    zstd_ = ZSTD_createDCtx();
    if (!zstd_) Fail("cannot initialise zstd");
    zstd_hint_ = 1;  // a frame has started
  }
}

LineReader::~LineReader() {
  if (z_init_) inflateEnd(&z_);
  if (zstd_) ZSTD_freeDCtx(zstd_);
  if (own_fd_ && fd_ >= 0) ::close(fd_);
}

void LineReader::Fail(const std::string& what) const {
  throw std::runtime_error((path_ == "-" ? std::string("stdin") : path_) + ": " + what);
}

std::size_t LineReader::ReadRaw(char* dst, std::size_t cap) {
  for (;;) {
    const ssize_t n = ::read(fd_, dst, cap);
    if (n >= 0) {
      raw_bytes_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    if (errno == EINTR) continue;
    Fail(std::string("read error: ") + std::strerror(errno));
  }
}

bool LineReader::FillRaw() {
  if (raw_eof_) return false;
  raw_pos_ = 0;
  raw_len_ = ReadRaw(raw_.get(), kRawChunk);
  if (raw_len_ == 0) raw_eof_ = true;
  return raw_len_ > 0;
}

std::size_t LineReader::Inflate(char* dst, std::size_t cap) {
  z_.next_out = reinterpret_cast<Bytef*>(dst);
  z_.avail_out = static_cast<uInt>(cap);
  while (z_.avail_out == cap) {
    if (z_.avail_in == 0) {
      if (!FillRaw()) {
        if (!z_member_done_) Fail("unexpected end of gzip data (truncated file?)");
        return 0;
      }
      z_.next_in = reinterpret_cast<Bytef*>(raw_.get());
      z_.avail_in = static_cast<uInt>(raw_len_);
    }
    if (z_member_done_) {
      // Concatenated gzip members (e.g. appended log rotations) form one stream.
      inflateReset(&z_);
      z_member_done_ = false;
    }
    const int rc = inflate(&z_, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      z_member_done_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      Fail(std::string("corrupt gzip data: ") + (z_.msg ? z_.msg : zError(rc)));
    }
  }
  return cap - z_.avail_out;
}

std::size_t LineReader::Unzstd(char* dst, std::size_t cap) {
  ZSTD_outBuffer out{dst, cap, 0};
  while (out.pos == 0) {
    if (raw_pos_ == raw_len_) FillRaw();
    const bool have_input = raw_pos_ < raw_len_;
    if (!have_input && zstd_hint_ == 0) return 0;  // every frame complete
    ZSTD_inBuffer in{raw_.get(), raw_len_, raw_pos_};
    const std::size_t r = ZSTD_decompressStream(zstd_, &out, &in);
    raw_pos_ = in.pos;
    if (ZSTD_isError(r)) Fail(std::string("corrupt zstd data: ") + ZSTD_getErrorName(r));
    zstd_hint_ = r;
    if (!have_input && out.pos == 0) Fail("unexpected end of zstd data (truncated file?)");
  }
  return out.pos;
}

bool LineReader::Fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  const std::size_t want = std::min(kChunk, cap_ - kPadding - end_);
  char* dst = buf_.get() + end_;
  std::size_t n = 0;
  switch (compression_) {
    case Compression::kNone:
      if (raw_pos_ < raw_len_) {
        n = std::min(want, raw_len_ - raw_pos_);
        std::memcpy(dst, raw_.get() + raw_pos_, n);
        raw_pos_ += n;
      } else if (!raw_eof_) {
        n = ReadRaw(dst, want);
        if (n == 0) raw_eof_ = true;
      }
      break;
    case Compression::kGzip:
      n = Inflate(dst, want);
      break;
    case Compression::kZstd:
      n = Unzstd(dst, want);
      break;
  }
  end_ += n;
  bytes_ += n;
  // The parser may read (never use) the padding after the last line.
  std::memset(buf_.get() + end_, 0, kPadding);
  if (n == 0) eof_ = true;
  return n > 0;
}

bool LineReader::Next(Line& line) {
  for (;;) {
    char* const base = buf_.get();
    if (skipping_) {
      const void* nl = std::memchr(base + pos_, '\n', end_ - pos_);
      if (nl) {
        pos_ = static_cast<std::size_t>(static_cast<const char*>(nl) - base) + 1;
        skipping_ = false;
        continue;
      }
      pos_ = end_;
      if (!Fill()) return false;
      continue;
    }
    const void* nl = std::memchr(base + pos_, '\n', end_ - pos_);
    if (nl) {
      const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
      std::size_t len = at - pos_;
      if (len > max_line_) {
        line.text = std::string_view(base + pos_, max_line_);
        line.truncated = true;
      } else {
        if (len > 0 && base[at - 1] == '\r') --len;
        line.text = std::string_view(base + pos_, len);
        line.truncated = false;
      }
      line.number = ++line_no_;
      pos_ = at + 1;
      return true;
    }
    if (end_ - pos_ > max_line_) {
      line.text = std::string_view(base + pos_, max_line_);
      line.truncated = true;
      line.number = ++line_no_;
      pos_ = end_;
      skipping_ = true;
      return true;
    }
    if (eof_ || !Fill()) {
      if (pos_ == end_) return false;
      std::size_t len = end_ - pos_;  // a last line without '\n'
      if (base[end_ - 1] == '\r') --len;
      line.text = std::string_view(base + pos_, len);
      line.truncated = false;
      line.number = ++line_no_;
      pos_ = end_;
      return true;
    }
  }
}

}  // namespace model_auditor::scan
