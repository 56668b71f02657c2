// The pairs `aha sft` trains on: JSONL prompt/completion records read with line-numbered errors,
// tokenized with the student's tokenizer (the completion gets the end-of-sequence token), and
// served in a seeded order per epoch that a checkpoint can save and restore. Traces written by
// `aha distill` carry the teacher's tokenizer fingerprint; one that differs from the student's is
// an error.
#pragma once

#include <filesystem>
#include <vector>

#include "datasets/data_sections.hpp"
#include "datasets/prompt_source.hpp"
#include "policy/tokenizer.hpp"

namespace aha::datasets {

// One pair's token ids: the prompt, and the completion ending in end-of-sequence.
struct TokenPair {
  std::vector<int64_t> prompt, completion;
};

struct SftPairs {
  std::vector<TokenPair> pairs;
  std::size_t too_long = 0;  // skipped: longer than data.max_tokens
};

// `student` names the student's folder in messages.
SftPairs read_sft_pairs(const std::filesystem::path& path, const SftDataSection& data,
                        const policy::Tokenizer& tokenizer, int64_t eos_id, const std::string& student);

// Batches of pair indices: each epoch a fresh seeded order (or the file's order without shuffle).
class PairOrder {
 public:
  PairOrder(std::size_t pairs, bool shuffle, uint64_t seed);
  std::vector<std::size_t> next(std::size_t count);
  double epochs_done() const;  // fractional
  const PromptCursor& cursor() const { return cursor_; }
  // Throws aha::Error when the cursor belongs to another number of pairs.
  void restore(PromptCursor cursor);

 private:
  void order_epoch();
  std::size_t pairs_;
  bool shuffle_;
  uint64_t seed_;
  PromptCursor cursor_;
};

}  // namespace aha::datasets
