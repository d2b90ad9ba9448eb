#pragma once
// A fast "can this key be in the document at all?" test. simdjson compares
// object keys by their raw JSON bytes, so a root key `k` can only be present if
// the bytes `"k"` occur somewhere in the value. Checking that with SIMD (~20 ns
// per KB) spares walking the whole root object to prove that a field the rule
// lists first (the default `/model_name`) is absent when the traffic uses
// another one (`/model`): that walk was a third of the per-message cost.

#include <string>
#include <string_view>
#include <vector>

namespace model_auditor::extract {

/// True when `needle` occurs in `haystack`, byte for byte. Uses AVX-512BW or
/// AVX2 when the CPU has them, SSE2 otherwise (x86-64), a plain search elsewhere.
bool ContainsBytes(std::string_view haystack, std::string_view needle);

/// The raw bytes a JSON object key must have for `pointer`'s first reference
/// token to match it (`/model_name/x` -> `"model_name"`); empty (no shortcut)
/// when the pointer has no token or the token holds `~`, `"` or `\`.
std::string RootKeyNeedle(std::string_view pointer);

namespace detail {
/// The implementations behind ContainsBytes, for tests that compare them all.
enum class SearchIsa { kPortable, kSse2, kAvx2, kAvx512 };
/// Those this CPU can run (kPortable always).
std::vector<SearchIsa> SupportedSearchIsas();
bool ContainsBytesWith(SearchIsa isa, std::string_view haystack, std::string_view needle);
}  // namespace detail

}  // namespace model_auditor::extract
