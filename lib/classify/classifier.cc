#include "classify/classifier.h"

#include <algorithm>

#include "util/text.h"

namespace model_auditor::classify {
namespace {

std::uint64_t Mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Polynomial hashes of every string reachable by deleting up to two code
// points, each in O(1) from prefix hashes: H(A.C) = H(A) * B^|C| + H(C). The
// index and the query use this same function, so their hashes meet.
class DeletionHasher {
 public:
  explicit DeletionHasher(const std::u32string& s) : n_(s.size()), p_(n_ + 1), pow_(n_ + 1) {
    pow_[0] = 1;
    for (std::size_t i = 0; i < n_; ++i) {
      p_[i + 1] = p_[i] * kBase + (static_cast<std::uint64_t>(s[i]) + 1);
      pow_[i + 1] = pow_[i] * kBase;
    }
  }
  std::uint64_t Whole() const { return Final(p_[n_], n_); }
  std::uint64_t Without(std::size_t i) const {
    return Final(Sub(0, i) * pow_[n_ - i - 1] + Sub(i + 1, n_), n_ - 1);
  }
  std::uint64_t Without(std::size_t i, std::size_t j) const {  // i < j
    return Final((Sub(0, i) * pow_[j - i - 1] + Sub(i + 1, j)) * pow_[n_ - j - 1] + Sub(j + 1, n_),
                 n_ - 2);
  }

 private:
  static constexpr std::uint64_t kBase = 0x100000001b3ULL;
  std::uint64_t Sub(std::size_t a, std::size_t b) const { return p_[b] - p_[a] * pow_[b - a]; }
  static std::uint64_t Final(std::uint64_t h, std::size_t len) {
    return Mix(h + len * 0x9e3779b97f4a7c15ULL);
  }
  std::size_t n_;
  std::vector<std::uint64_t> p_, pow_;
};

template <typename F>
void ForEachDeletion(const std::u32string& s, int depth, F&& f) {
  const DeletionHasher h(s);
  f(h.Whole());
  if (depth >= 1) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i > 0 && s[i] == s[i - 1]) continue;  // same string as deleting i-1
      f(h.Without(i));
    }
  }
  if (depth >= 2) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      for (std::size_t j = i + 1; j < s.size(); ++j) f(h.Without(i, j));
    }
  }
}

}  // namespace

std::u32string ToCodePoints(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) out.push_back(util::DecodeUtf8(s, i));
  return out;
}

std::string DigitRuns(std::u32string_view s) {
  std::string out;
  bool in_run = false;
  for (char32_t c : s) {
    if (c >= U'0' && c <= U'9') {
      if (!in_run && !out.empty()) out.push_back('.');
      out.push_back(static_cast<char>(c));
      in_run = true;
    } else {
      in_run = false;
    }
  }
  return out;
}

int OsaDistance(std::u32string_view a, std::u32string_view b, int limit) {
  const int n = static_cast<int>(a.size());
  const int m = static_cast<int>(b.size());
  if (std::abs(n - m) > limit) return limit + 1;
  // Three rows: i-2, i-1, i. Small names, so plain vectors on the stack path.
  std::vector<int> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (int j = 0; j <= m; ++j) prev[j] = j;
  for (int i = 1; i <= n; ++i) {
    cur[0] = i;
    int row_min = cur[0];
    for (int j = 1; j <= m; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        v = std::min(v, prev2[j - 2] + 1);
      }
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > limit) return limit + 1;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], limit + 1);
}

NameIndex::NameIndex(std::shared_ptr<const registry::Snapshot> snapshot,
                     const MatchOptions& options)
    : snapshot_(std::move(snapshot)),
      decorations_(options.decorations),
      max_distance_(std::clamp(options.max_distance, 0, 2)) {
  const auto& models = snapshot_->models();
  auto add_key = [&](const std::string& name, std::uint32_t model) {
    std::string norm = Normalize(name);
    if (norm.empty()) return;
    auto [it, inserted] = by_normalized_.emplace(norm, static_cast<std::uint32_t>(keys_.size()));
    if (inserted) {
      Key k;
      k.text = ToCodePoints(norm);
      k.digits = DigitRuns(k.text);
      keys_.push_back(std::move(k));
    }
    auto& ms = keys_[it->second].models;
    if (std::find(ms.begin(), ms.end(), model) == ms.end()) ms.push_back(model);
  };
  for (std::uint32_t i = 0; i < models.size(); ++i) {
    add_key(models[i].name, i);
    for (const std::string& a : models[i].aliases) add_key(a, i);
  }

  std::vector<std::pair<std::uint64_t, std::uint32_t>> entries;
  for (std::uint32_t k = 0; k < keys_.size(); ++k) {
    const std::size_t len = keys_[k].text.size();
    if (has_length_.size() <= len) has_length_.resize(len + 1, false);
    has_length_[len] = true;
    // A query at distance d needs d <= len(query)/5 and len(query) <= len + d,
    // so d <= len/4: shorter keys need a shallower neighbourhood.
    const int depth = std::min<int>(max_distance_, static_cast<int>(len / 4));
    AddDeletions(keys_[k].text, depth, k, entries);
  }
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());

  bucket_bits_ = 4;
  while ((std::size_t{1} << bucket_bits_) < entries.size() / 2 + 1 && bucket_bits_ < 30) {
    ++bucket_bits_;
  }
  const std::size_t buckets = std::size_t{1} << bucket_bits_;
  bucket_start_.assign(buckets + 1, 0);
  hashes_.reserve(entries.size());
  key_ids_.reserve(entries.size());
  for (const auto& [h, k] : entries) {
    ++bucket_start_[(h >> (64 - bucket_bits_)) + 1];
    hashes_.push_back(h);
    key_ids_.push_back(k);
  }
  for (std::size_t b = 0; b < buckets; ++b) bucket_start_[b + 1] += bucket_start_[b];
  // A bit filter ~8 bits per entry: most deletions of a query are in no key's
  // neighbourhood, and the filter answers that from a few MB instead of the
  // whole index.
  filter_bits_ = 6;
  while ((std::size_t{1} << filter_bits_) < hashes_.size() * 8 + 64 && filter_bits_ < 34) ++filter_bits_;
  filter_.assign((std::size_t{1} << filter_bits_) / 64, 0);
  for (std::uint64_t h : hashes_) {
    const std::uint64_t bit = h & ((std::uint64_t{1} << filter_bits_) - 1);
    filter_[bit >> 6] |= std::uint64_t{1} << (bit & 63);
  }
}

void NameIndex::AddDeletions(const std::u32string& s, int depth, std::uint32_t key,
                             std::vector<std::pair<std::uint64_t, std::uint32_t>>& out) const {
  ForEachDeletion(s, depth, [&](std::uint64_t h) { out.emplace_back(h, key); });
}

const std::vector<std::uint32_t>* NameIndex::FindNormalized(const std::string& normalized) const {
  auto it = by_normalized_.find(normalized);
  return it == by_normalized_.end() ? nullptr : &keys_[it->second].models;
}

NameIndex::Near NameIndex::FindNear(const std::u32string& query, int max_d) const {
  Near near;
  if (max_d <= 0 || keys_.empty()) return near;
  const std::size_t n = query.size();
  bool any_length = false;
  for (std::size_t len = n > static_cast<std::size_t>(max_d) ? n - max_d : 0;
       len <= n + max_d && len < has_length_.size(); ++len) {
    any_length = any_length || has_length_[len];
  }
  if (!any_length) return near;  // no key of a reachable length: skip the work

  const std::string digits = DigitRuns(query);
  // Two passes so the memory accesses of one pass are independent and
  // prefetched: filter bits first, then the CSR buckets of the survivors.
  std::vector<std::uint64_t> hashes;
  hashes.reserve(1 + query.size() * (query.size() + 1) / 2);
  const std::uint64_t filter_mask = (std::uint64_t{1} << filter_bits_) - 1;
  ForEachDeletion(query, max_d, [&](std::uint64_t h) {
    __builtin_prefetch(&filter_[(h & filter_mask) >> 6]);
    hashes.push_back(h);
  });
  std::size_t kept = 0;
  const int shift = 64 - bucket_bits_;
  for (std::uint64_t h : hashes) {
    const std::uint64_t bit = h & filter_mask;
    if (filter_[bit >> 6] & (std::uint64_t{1} << (bit & 63))) {
      __builtin_prefetch(&bucket_start_[h >> shift]);
      hashes[kept++] = h;
    }
  }
  std::vector<std::uint32_t> candidates;
  for (std::size_t k = 0; k < kept; ++k) {
    const std::uint64_t h = hashes[k];
    const std::size_t b = h >> shift;
    for (std::uint32_t i = bucket_start_[b]; i < bucket_start_[b + 1]; ++i) {
      if (hashes_[i] == h) candidates.push_back(key_ids_[i]);
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());

  int best = max_d + 1;
  for (std::uint32_t k : candidates) {
    const Key& key = keys_[k];
    if (key.digits != digits) continue;  // numbers never fuzz
    const int d = OsaDistance(query, key.text, std::min(best, max_d));
    if (d > max_d || d > best) continue;
    if (d < best) {
      best = d;
      near.models.clear();
    }
    for (std::uint32_t m : key.models) {
      if (std::find(near.models.begin(), near.models.end(), m) == near.models.end()) {
        near.models.push_back(m);
      }
    }
  }
  if (!near.models.empty()) near.distance = best;
  return near;
}

Classification Classify(std::string_view name, const NameIndex& index) {
  const registry::Snapshot& snap = index.snapshot();
  Classification c;
  if (auto hit = snap.FindExact(name)) {
    const registry::Model& m = snap.models()[hit->model];
    c.model = static_cast<std::int32_t>(hit->model);
    if (!registry::Serves(m.status)) {
      c.verdict = Verdict::kInactive;
      const std::int32_t r = snap.Replacement(hit->model);
      c.suggestion = r == c.model ? -1 : r;
    } else if (hit->alias) {
      c.verdict = Verdict::kAlias;
      c.suggestion = c.model;
    } else {
      c.verdict = Verdict::kRegistered;
    }
    return c;
  }

  const std::string normalized = Normalize(name);
  if (normalized.empty()) return c;  // only separators: nothing to match
  const std::vector<std::string> forms = index.decorations().Forms(normalized);

  // The suggestion for a resolved model: itself when serving, else its
  // replacement when one is declared, else itself (the caller meant it).
  auto resolve = [&](std::uint32_t model, Verdict v, int distance) {
    c.verdict = v;
    c.model = static_cast<std::int32_t>(model);
    const std::int32_t r = snap.Replacement(model);
    c.suggestion = r >= 0 ? r : c.model;
    c.distance = static_cast<std::uint8_t>(distance);
    return c;
  };

  for (const std::string& form : forms) {
    if (const auto* models = index.FindNormalized(form)) {
      if (models->size() == 1) return resolve(models->front(), Verdict::kVariant, 0);
      return c;  // two models normalize alike: ambiguous, never a guess
    }
  }
  for (const std::string& form : forms) {
    const std::u32string cps = ToCodePoints(form);
    const int max_d = std::min<int>(index.max_distance(), static_cast<int>(cps.size() / 5));
    if (max_d <= 0) continue;
    const NameIndex::Near near = index.FindNear(cps, max_d);
    if (near.models.empty()) continue;
    if (near.models.size() == 1) return resolve(near.models.front(), Verdict::kTypo, near.distance);
    return c;  // equally near, different models: ambiguous
  }
  return c;
}

std::string_view SuggestionName(const Classification& c, const registry::Snapshot& snapshot) {
  if (c.suggestion < 0) return {};
  return snapshot.models()[static_cast<std::size_t>(c.suggestion)].name;
}

std::optional<Verdict> ParseVerdict(std::string_view s) {
  for (Verdict v : kAllVerdicts) {
    if (VerdictName(v) == s) return v;
  }
  return std::nullopt;
}

}  // namespace model_auditor::classify
