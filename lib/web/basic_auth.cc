#include "web/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace model_auditor::web {
namespace {

int BcryptCost(const std::string& hash) {
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

std::string Sha256(std::string_view a, std::string_view b, std::string_view c) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) throw std::bad_alloc();
  // Lengths first, so that ("ab","c") and ("a","bc") cannot collide.
  const std::array<std::size_t, 3> sizes{a.size(), b.size(), c.size()};
  const bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, sizes.data(), sizeof sizes) == 1 &&
                  EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 &&
                  EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
                  EVP_DigestUpdate(ctx, c.data(), c.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, digest.data(), &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(digest.data()), len);
}

}  // namespace

bool DecodeBase64(std::string_view in, std::string& out) {
  out.clear();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {
  int cost = 10;
  for (const auto& [user, hash] : users_) {
    if (hash.size() >= 7) cost = std::max(cost, BcryptCost(hash));
  }
  // A random password hashed now, at the highest configured cost: checking unknown users
  // against it costs what checking a known user costs.
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt.data(),
                       static_cast<int>(salt.size())) == nullptr) {
    throw std::runtime_error("libcrypt cannot make bcrypt salts: " +
                             std::string(std::strerror(errno)));
  }
  auto data = std::make_unique<crypt_data>();
  const char* hashed = crypt_rn("not a password of anybody", salt.data(), data.get(),
                                sizeof(crypt_data));
  if (hashed == nullptr || hashed[0] == '*') {
    throw std::runtime_error("libcrypt has no bcrypt ($2b$) support");
  }
  dummy_hash_ = hashed;
}

bool BasicAuth::Verify(const std::string& password, const std::string& hash) const {
  // crypt_data is ~32 KiB: too large for the I/O thread's stack frame habits, so heap.
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  const bool ok = out != nullptr && std::strlen(out) == hash.size() &&
                  CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));  // it held the password
  return ok;
}

bool BasicAuth::Check(std::string_view authorization) const {
  std::string user;
  std::string password;
  bool well_formed = false;
  constexpr std::string_view kScheme = "basic ";
  if (authorization.size() > kScheme.size()) {
    std::string scheme(authorization.substr(0, kScheme.size()));
    for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    std::string decoded;
    std::string_view token = authorization.substr(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    if (scheme == kScheme && DecodeBase64(token, decoded)) {
      const std::size_t colon = decoded.find(':');
      if (colon != std::string::npos) {
        user = decoded.substr(0, colon);
        password = decoded.substr(colon + 1);
        well_formed = true;
      }
      OPENSSL_cleanse(decoded.data(), decoded.size());
    }
  }
  const auto it = users_.find(user);
  const bool known = well_formed && it != users_.end();
  const std::string& hash = known ? it->second : dummy_hash_;
  const std::string key = Sha256(user, hash, password);
  {
    std::lock_guard lock(mutex_);
    if (known && cache_.count(key)) {
      ++cache_hits_;
      OPENSSL_cleanse(password.data(), password.size());
      return true;
    }
  }
  // Malformed headers and unknown users pay a bcrypt as well: every failure costs the same.
  const bool ok = Verify(password, hash) && known;
  OPENSSL_cleanse(password.data(), password.size());
  if (ok) {
    std::lock_guard lock(mutex_);
    // Bounded: a full cache starts over rather than grow with every password rotation.
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_.insert(key);
  }
  return ok;
}

std::size_t BasicAuth::cache_hits() const {
  std::lock_guard lock(mutex_);
  return cache_hits_;
}

http::Handler WithBasicAuth(std::shared_ptr<const BasicAuth> auth, http::Handler inner) {
  return [auth = std::move(auth), inner = std::move(inner)](const http::Request& req) {
    if (auth->Check(req.Header("Authorization"))) return inner(req);
    http::Response res;
    res.status = 401;
    res.body = "401 Unauthorized: credentials required\n";
    res.headers.emplace_back("WWW-Authenticate",
                             "Basic realm=\"" + std::string(kRealm) + "\"");
    return res;
  };
}

}  // namespace model_auditor::web
