// The records that go in and out of the reward rules: a completion with what its scoring needs
// (reference answer, tests), and the scores and flags that come back. No tensors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace aha::rewards {

struct CompletionRecord {
  std::string completion;
  std::optional<std::string> answer;              // the reference answer (math)
  std::optional<std::string> tests;               // test code run after the program (code)
  std::optional<std::string> entry_point;         // function passed to check() after the tests (HumanEval)
  std::optional<std::string> language;            // "python" or "cpp"; the rule's language when absent
  std::optional<std::int64_t> completion_tokens;  // length in tokens; words counted when absent
  std::string prompt;                             // the prompt as the model saw it ("" when unknown)
  std::string fields;                             // the data record, a JSON object's text ("" when none)
};

using FlagValue = std::variant<bool, std::int64_t, double, std::string>;

struct Flag {
  std::string name;
  FlagValue value;
};

// What one rule says about one completion.
struct RuleOutcome {
  double score = 0.0;
  std::vector<Flag> flags;  // e.g. answer_found, correct, reflection_count
};

struct RuleScore {
  std::string name;                  // the [[reward]] entry's name
  double score = 0.0;                // before the weight
  std::optional<std::string> error;  // set when the rule failed and failure_score was used
};

struct ScoreRecord {
  double total = 0.0;  // sum of weight * score
  std::vector<RuleScore> rules;
  std::vector<Flag> flags;  // the first rule to set a flag name wins
};

}  // namespace aha::rewards
