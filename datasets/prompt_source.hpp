// Prompts for the trainer: JSONL records read with line-numbered errors, deduplicated, put into
// the prompt template, and served in batches in a seeded order (shuffled per epoch, or easy to
// hard by a difficulty field or by measured pass rate). The cursor can be saved and restored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/data_sections.hpp"
#include "rewards/reward_spec.hpp"

namespace aha::datasets {

// The R1-Zero prompt of the DeepSeek-R1 paper (Table 1), with {question} for the question.
extern const char* const r1_zero_template;

struct PromptRecord {
  std::string question;
  std::string answer;     // reference answer, as the data gives it (GSM8K: the solution ending "#### N")
  nlohmann::json fields;  // the whole record (tests, entry_point, ... for the code rule)
  double difficulty = 0.0;
  std::size_t line = 0;  // 1-based line in the file
};

// Reads a JSONL file. Blank lines are skipped; a malformed line or a missing question is an
// aha::Error naming file:line. Returns the records and how many duplicates were dropped.
std::vector<PromptRecord> read_prompt_records(const std::filesystem::path& path, const DataSection& data,
                                              std::size_t* duplicates_dropped = nullptr);

// Throws aha::Error, naming the file's first record and its fields, when that record lacks what a
// rule needs: data.answer_key for the math rule, "tests" or "entry_point" for the code rule. A
// misspelt key would otherwise score every completion 0 without a word.
void check_fields_for_rules(const std::vector<PromptRecord>& records, const std::filesystem::path& path,
                            const DataSection& data, const std::vector<rewards::RewardSpec>& rules);

// "question" unless the file's first record has "problem" and no "question" (MATH-style data).
std::string detect_question_key(const std::filesystem::path& path);

// The template with {question} replaced.
std::string apply_template(const std::string& prompt_template, const std::string& question);

// 0..count-1 in the seeded order of epoch `epoch`.
std::vector<std::size_t> shuffled_indices(std::size_t count, uint64_t seed, int64_t epoch);

// Everything needed to continue serving prompts exactly where a run stopped.
struct PromptCursor {
  int64_t epoch = 0;
  int64_t position = 0;            // next index into this epoch's order
  std::vector<std::size_t> order;  // this epoch's order of record indices
  std::vector<double> pass_rates;  // per record, for curriculum = "pass_rate"
};

class PromptSource {
 public:
  PromptSource(std::vector<PromptRecord> records, DataSection data, uint64_t seed);

  // The next `count` record indices, continuing into the next epoch when this one runs out.
  std::vector<std::size_t> next(std::size_t count);
  const PromptRecord& record(std::size_t index) const { return records_.at(index); }
  std::string prompt_text(std::size_t index) const;
  std::size_t size() const { return records_.size(); }

  // For curriculum = "pass_rate": the share of a prompt's completions that were correct.
  void record_pass_rate(std::size_t index, double pass_rate);

  const PromptCursor& cursor() const { return cursor_; }
  // Continues from a saved cursor; throws aha::Error when it does not fit these records.
  void restore(PromptCursor cursor);

 private:
  void order_epoch();
  std::vector<PromptRecord> records_;
  DataSection data_;
  uint64_t seed_;
  PromptCursor cursor_;
};

}  // namespace aha::datasets
