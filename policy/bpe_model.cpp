// BPE as tokenizers merges a word: a queue of adjacent pairs ordered by merge rank, then position;
// each merge joins two symbols of a linked list and queues the pairs it forms with its neighbours.
#include "policy/bpe_model.hpp"

#include <fmt/format.h>

#include <queue>

#include "core/error.hpp"

namespace aha::policy {

namespace {

constexpr std::size_t max_cached_words = 200000;

uint64_t pair_key(int64_t left, int64_t right) {
  return (static_cast<uint64_t>(left) << 32) | static_cast<uint64_t>(right);
}

// A symbol of the word being merged; `length` 0 marks one merged into its left neighbour.
struct Symbol {
  int64_t id;
  std::ptrdiff_t previous, next;
  std::size_t length;
};

struct QueuedMerge {
  int rank;
  std::size_t position;
  int64_t merged_id;
  bool operator>(const QueuedMerge& other) const {
    return rank != other.rank ? rank > other.rank : position > other.position;
  }
};

}  // namespace

BpeModel::BpeModel(std::unordered_map<std::string, int64_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, bool ignore_merges)
    : vocab_(std::move(vocab)), ignore_merges_(ignore_merges) {
  const auto id_of = [&](const std::string& token, std::size_t i) {
    const auto it = vocab_.find(token);
    if (it == vocab_.end()) throw Error(fmt::format("merges[{}]: \"{}\" is not in the vocabulary", i, token));
    if (it->second > UINT32_MAX) throw Error(fmt::format("merges[{}]: the id of \"{}\" is above 2^32", i, token));
    return it->second;
  };
  merges_.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const auto& [left, right] = merges[i];
    const int64_t left_id = id_of(left, i), right_id = id_of(right, i), merged_id = id_of(left + right, i);
    merges_.insert_or_assign(pair_key(left_id, right_id), Merge{static_cast<int>(i), merged_id});
  }
}

std::vector<int64_t> BpeModel::merge(const std::string& word) const {
  if (ignore_merges_) {
    if (const auto it = vocab_.find(word); it != vocab_.end()) return {it->second};
  }
  std::vector<Symbol> symbols;
  for (std::size_t i = 0; i < word.size();) {
    std::size_t length = 1;
    while (i + length < word.size() && (static_cast<unsigned char>(word[i + length]) & 0xC0) == 0x80) ++length;
    const auto it = vocab_.find(word.substr(i, length));
    if (it == vocab_.end())
      throw Error(fmt::format("BPE: the symbol \"{}\" of the word \"{}\" is not in the vocabulary",
                              word.substr(i, length), word));
    const auto index = static_cast<std::ptrdiff_t>(symbols.size());
    symbols.push_back({it->second, index - 1, index + 1, length});
    i += length;
  }
  std::priority_queue<QueuedMerge, std::vector<QueuedMerge>, std::greater<>> queue;
  const auto queue_pair = [&](std::size_t position) {
    const auto next = symbols[position].next;
    if (next >= static_cast<std::ptrdiff_t>(symbols.size())) return;
    if (const auto it = merges_.find(pair_key(symbols[position].id, symbols[next].id)); it != merges_.end())
      queue.push({it->second.rank, position, it->second.merged_id});
  };
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) queue_pair(i);
  while (!queue.empty()) {
    const QueuedMerge top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.position];
    if (left.length == 0 || left.next >= static_cast<std::ptrdiff_t>(symbols.size())) continue;
    Symbol& right = symbols[left.next];
    const auto current = merges_.find(pair_key(left.id, right.id));
    if (current == merges_.end() || current->second.merged_id != top.merged_id) continue;  // a stale entry
    left.id = top.merged_id;
    left.length += right.length;
    left.next = right.next;
    right.length = 0;
    if (left.next < static_cast<std::ptrdiff_t>(symbols.size()))
      symbols[left.next].previous = static_cast<std::ptrdiff_t>(top.position);
    if (left.previous >= 0) queue_pair(static_cast<std::size_t>(left.previous));
    queue_pair(top.position);
  }
  std::vector<int64_t> ids;
  for (const Symbol& symbol : symbols)
    if (symbol.length > 0) ids.push_back(symbol.id);
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
