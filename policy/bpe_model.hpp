// The BPE model of a tokenizer.json: the vocabulary, the merge ranks, and the merging of one
// pre-tokenized word into token ids (cached per word, bounded, safe across threads).
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace aha::policy {

class BpeModel {
 public:
  BpeModel(std::unordered_map<std::string, int64_t> vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           bool ignore_merges);

  // `word` is already in the byte-level alphabet. Appends its ids to `out`.
  void encode_word(const std::string& word, std::vector<int64_t>& out) const;
  const std::unordered_map<std::string, int64_t>& vocab() const { return vocab_; }

 private:
  std::vector<int64_t> merge(const std::string& word) const;
  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<std::string, int> ranks_;  // "left\0right" -> merge priority
  bool ignore_merges_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

}  // namespace aha::policy
