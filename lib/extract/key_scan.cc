#include "extract/key_scan.h"

#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace model_auditor::extract {
namespace {

// Muła's SIMD substring search: compare two bytes of the needle (its 2nd and
// next-to-last: for a quoted key, the key's first and last characters, rarer
// than the quotes) at every position of a block at once; verify candidates.
struct Probe {
  std::size_t a, b;  // offsets of the two probe bytes in the needle
};

Probe PickProbe(std::string_view needle) {
  if (needle.size() >= 3) return {1, needle.size() - 2};
  return {0, needle.size() - 1};
}

// A byte loop, not memcmp: a call inside the SIMD loops makes the compiler
// spill and reload every vector register on each iteration (measured 2x).
inline bool Verify(const char* at, std::string_view needle) {
  for (std::size_t i = 0; i < needle.size(); ++i) {
    if (at[i] != needle[i]) return false;
  }
  return true;
}

// Positions [from, last] one at a time.
bool ScalarFrom(std::string_view hay, std::string_view needle, Probe pr, std::size_t from) {
  const std::size_t k = needle.size();
  for (std::size_t p = from; p + k <= hay.size(); ++p) {
    if (hay[p + pr.a] == needle[pr.a] && hay[p + pr.b] == needle[pr.b] && Verify(hay.data() + p, needle)) {
      return true;
    }
  }
  return false;
}

#if defined(__x86_64__)
bool Sse2(std::string_view hay, std::string_view needle) {
  const Probe pr = PickProbe(needle);
  const __m128i first = _mm_set1_epi8(needle[pr.a]);
  const __m128i last = _mm_set1_epi8(needle[pr.b]);
  const char* s = hay.data();
  std::size_t p = 0;
  for (; p + pr.b + 16 <= hay.size(); p += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + p + pr.a));
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + p + pr.b));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(x, first), _mm_cmpeq_epi8(y, last))));
    while (mask) {
      const std::size_t at = p + static_cast<std::size_t>(__builtin_ctz(mask));
      if (at + needle.size() <= hay.size() && Verify(s + at, needle)) return true;
      mask &= mask - 1;
    }
  }
  return ScalarFrom(hay, needle, pr, p);
}

__attribute__((target("avx2"))) bool Avx2(std::string_view hay, std::string_view needle) {
  const Probe pr = PickProbe(needle);
  const __m256i first = _mm256_set1_epi8(needle[pr.a]);
  const __m256i last = _mm256_set1_epi8(needle[pr.b]);
  const char* s = hay.data();
  std::size_t p = 0;
  for (; p + pr.b + 32 <= hay.size(); p += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + p + pr.a));
    const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + p + pr.b));
    auto mask = static_cast<unsigned>(_mm256_movemask_epi8(
        _mm256_and_si256(_mm256_cmpeq_epi8(x, first), _mm256_cmpeq_epi8(y, last))));
    while (mask) {
      const std::size_t at = p + static_cast<std::size_t>(__builtin_ctz(mask));
      if (at + needle.size() <= hay.size() && Verify(s + at, needle)) return true;
      mask &= mask - 1;
    }
  }
  return ScalarFrom(hay, needle, pr, p);
}

__attribute__((target("avx512f,avx512bw"))) bool Avx512(std::string_view hay,
                                                         std::string_view needle) {
  const Probe pr = PickProbe(needle);
  const __m512i first = _mm512_set1_epi8(needle[pr.a]);
  const __m512i last = _mm512_set1_epi8(needle[pr.b]);
  const char* s = hay.data();
  const std::size_t positions = hay.size() - needle.size() + 1;  // candidate starts
  for (std::size_t p = 0; p < positions; p += 64) {
    // The last block loads only the bytes that exist (masked loads do not
    // fault), so there is no scalar tail.
    const std::size_t left = positions - p;
    const __mmask64 valid = left >= 64 ? ~__mmask64{0} : ((__mmask64{1} << left) - 1);
    const __m512i x = _mm512_maskz_loadu_epi8(valid, s + p + pr.a);
    const __m512i y = _mm512_maskz_loadu_epi8(valid, s + p + pr.b);
    auto mask = static_cast<std::uint64_t>(_mm512_mask_cmpeq_epi8_mask(valid, x, first) &
                                           _mm512_cmpeq_epi8_mask(y, last));
    while (mask) {
      const std::size_t at = p + static_cast<std::size_t>(__builtin_ctzll(mask));
      if (Verify(s + at, needle)) return true;
      mask &= mask - 1;
    }
  }
  return false;
}

using SearchFn = bool (*)(std::string_view, std::string_view);
SearchFn PickSearch() {
  __builtin_cpu_init();  // may run before libgcc's own constructor
  if (__builtin_cpu_supports("avx512bw")) return Avx512;
  return __builtin_cpu_supports("avx2") ? Avx2 : Sse2;
}
#endif

}  // namespace

bool ContainsBytes(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
#if defined(__x86_64__)
  static const SearchFn search = PickSearch();
  return search(haystack, needle);
#else
  return haystack.find(needle) != std::string_view::npos;
#endif
}

namespace detail {

std::vector<SearchIsa> SupportedSearchIsas() {
  std::vector<SearchIsa> out{SearchIsa::kPortable};
#if defined(__x86_64__)
  __builtin_cpu_init();
  out.push_back(SearchIsa::kSse2);
  if (__builtin_cpu_supports("avx2")) out.push_back(SearchIsa::kAvx2);
  if (__builtin_cpu_supports("avx512bw")) out.push_back(SearchIsa::kAvx512);
#endif
  return out;
}

bool ContainsBytesWith(SearchIsa isa, std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  switch (isa) {
#if defined(__x86_64__)
    case SearchIsa::kSse2: return Sse2(haystack, needle);
    case SearchIsa::kAvx2: return Avx2(haystack, needle);
    case SearchIsa::kAvx512: return Avx512(haystack, needle);
#endif
    default: return haystack.find(needle) != std::string_view::npos;
  }
}

}  // namespace detail

std::string RootKeyNeedle(std::string_view pointer) {
  if (pointer.empty() || pointer.front() != '/') return {};
  std::string_view token = pointer.substr(1);
  token = token.substr(0, token.find('/'));
  // Escapes (RFC 6901 `~0`/`~1`, JSON `\"`/`\\`) would make the raw bytes
  // differ from the token: no shortcut for such keys, the walk decides.
  if (token.find_first_of("~\"\\") != std::string_view::npos) return {};
  return "\"" + std::string(token) + "\"";
}

}  // namespace model_auditor::extract
