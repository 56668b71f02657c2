// The [data] sections: where `aha train` takes its prompts (DataSection) and where `aha sft` takes
// its prompt/completion pairs (SftDataSection).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "core/config_binder.hpp"

namespace aha::datasets {

enum class Curriculum { none, field, pass_rate };
struct DataSection {
  std::string train;  // JSONL of training prompts
  std::string eval;   // JSONL of held-out prompts; empty: no evaluation
  std::string question_key = "question";
  std::string answer_key = "answer";
  std::string prompt_template = "r1_zero";
  int max_prompt_tokens = 512;
  bool shuffle = true;
  bool dedupe = true;
  Curriculum curriculum = Curriculum::none;
  std::string difficulty_key;
  int eval_limit = 0;
};

struct SftDataSection {
  std::string train;  // JSONL of prompt/completion pairs
  std::string prompt_key = "prompt";
  std::string completion_key = "completion";
  int max_tokens = 1024;  // longer pairs are skipped and counted
  bool shuffle = true;
  std::string eval;  // held-out problems (question/answer); empty: no evaluation
  std::string question_key = "question";
  std::string answer_key = "answer";
  std::string prompt_template = "r1_zero";  // for the held-out problems
  int eval_limit = 0;
};

inline constexpr std::string_view data_section_doc =
    "Where prompts come from: JSONL files, one object per line, and the template that turns a question "
    "into a prompt.";

// Empty when `value` is "r1_zero" or a template with {question}; else what is wrong.
std::string prompt_template_rule(const std::string& value);

void bind(config::Binder& b, DataSection& s);
void bind(config::Binder& b, SftDataSection& s);

}  // namespace aha::datasets
