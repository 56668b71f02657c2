// BPE: repeatedly merge the adjacent pair with the lowest rank (leftmost first), as tokenizers does.
#include "policy/bpe_model.hpp"

#include <fmt/format.h>

#include <limits>

#include "core/error.hpp"

namespace aha::policy {

namespace {

constexpr std::size_t max_cached_words = 200000;

std::string pair_key(std::string_view left, std::string_view right) {
  std::string key;
  key.reserve(left.size() + right.size() + 1);
  return key.append(left).append(1, '\0').append(right);
}

// Splits UTF-8 text into its characters.
std::vector<std::string> characters(const std::string& word) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < word.size();) {
    std::size_t length = 1;
    while (i + length < word.size() && (static_cast<unsigned char>(word[i + length]) & 0xC0) == 0x80) ++length;
    out.push_back(word.substr(i, length));
    i += length;
  }
  return out;
}

}  // namespace

BpeModel::BpeModel(std::unordered_map<std::string, int64_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, bool ignore_merges)
    : vocab_(std::move(vocab)), ignore_merges_(ignore_merges) {
  ranks_.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) ranks_.emplace(pair_key(merges[i].first, merges[i].second), static_cast<int>(i));
}

std::vector<int64_t> BpeModel::merge(const std::string& word) const {
  if (ignore_merges_) {
    if (const auto it = vocab_.find(word); it != vocab_.end()) return {it->second};
  }
  std::vector<std::string> symbols = characters(word);
  while (symbols.size() > 1) {
    int best_rank = std::numeric_limits<int>::max();
    std::size_t best = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto it = ranks_.find(pair_key(symbols[i], symbols[i + 1]));
      if (it != ranks_.end() && it->second < best_rank) {
        best_rank = it->second;
        best = i;
      }
    }
    if (best_rank == std::numeric_limits<int>::max()) break;
    symbols[best] += symbols[best + 1];
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  std::vector<int64_t> ids;
  ids.reserve(symbols.size());
  for (const auto& symbol : symbols) {
    const auto it = vocab_.find(symbol);
    if (it == vocab_.end())
      throw Error(fmt::format("BPE: the symbol \"{}\" of the word \"{}\" is not in the vocabulary", symbol, word));
    ids.push_back(it->second);
  }
  return ids;
}

void BpeModel::encode_word(const std::string& word, std::vector<int64_t>& out) const {
  {
    std::lock_guard lock(cache_mutex_);
    if (const auto it = cache_.find(word); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int64_t> ids = merge(word);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= max_cached_words) cache_.clear();
  cache_.emplace(word, std::move(ids));
}

}  // namespace aha::policy
