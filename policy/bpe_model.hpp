// The BPE model of a tokenizer.json: the vocabulary, the merge ranks, and the merging of one
// pre-tokenized word into token ids (cached per word, bounded, safe across threads).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace aha::policy {

class BpeModel {
 public:
  // Throws aha::Error naming merges[i] when a merge's parts or result are not in the vocabulary.
  BpeModel(std::unordered_map<std::string, int64_t> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, bool ignore_merges);

  // `word` is already in the byte-level alphabet. Appends its ids to `out`.
  void encode_word(const std::string& word, std::vector<int64_t>& out) const;
  const std::unordered_map<std::string, int64_t>& vocab() const { return vocab_; }

 private:
  struct Merge {
    int rank;
    int64_t merged_id;
  };
  std::vector<int64_t> merge(const std::string& word) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) -> rank and the id of the merged token
  bool ignore_merges_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;
};

}  // namespace aha::policy
