// Rejection sampling for distillation: a teacher samples K completions per problem, the reward
// pipeline scores them, and only traces a rule verified correct (math or code) and, when a format
// rule runs, well formatted are kept, each (prompt, completion) pair once. The kept traces are
// what `aha sft` trains a student on.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/prompt_source.hpp"
#include "policy/tokenizer.hpp"
#include "policy/transformer.hpp"
#include "rewards/reward_pipeline.hpp"
#include "rollout/generator.hpp"

namespace aha::rl {

struct DistillSettings {
  int samples = 4;  // K per problem
  rollout::GenerationSettings generation;
  std::string prompt_template = "r1_zero";
  int batch_prompts = 16;  // problems sampled together
  uint64_t seed = 0;       // batch b samples with seed + b, so a resumed run draws what it would have
};

// What became of one problem's K samples.
struct ProblemTally {
  std::size_t problem = 0;  // index into the problems
  std::size_t line = 0;     // its line in the data file
  int sampled = 0, correct = 0, formatted = 0, duplicates = 0, kept = 0;
};

// One kept trace.
struct Trace {
  std::size_t problem = 0;
  std::string prompt;      // the templated prompt text
  std::string completion;  // the teacher's completion, without the end-of-sequence token
  int64_t tokens = 0;      // completion tokens
  rewards::ScoreRecord score;
};

struct DistilledBatch {
  std::vector<Trace> traces;
  std::vector<ProblemTally> tallies;
};

// Why a sample is kept or not, in the order the checks apply.
enum class Verdict { kept, incorrect, malformed, duplicate };

// The traces already kept, to refuse a second copy of a (prompt, completion) pair.
class TraceSet {
 public:
  // True when the pair is new (and now remembered). Whitespace around the completion is ignored.
  bool insert(const std::string& prompt, const std::string& completion);

 private:
  std::unordered_set<std::string> seen_;
};

// Kept: a rule verified it correct, a format rule (when one runs) accepted it, and it is not a duplicate.
Verdict judge(const rewards::ScoreRecord& score, const std::string& prompt, const std::string& completion,
              TraceSet& seen);

// Throws aha::Error unless `specs` hold a rule that verifies correctness (math or code).
void require_verifier(const std::vector<rewards::RewardSpec>& specs);

// Samples and filters problems [first, last): batch number `batch` of the run.
DistilledBatch distill_batch(policy::CausalLMImpl& teacher, const policy::Tokenizer& tokenizer,
                             const std::vector<datasets::PromptRecord>& problems, std::size_t first, std::size_t last,
                             int64_t batch, const DistillSettings& settings, const rewards::RewardPipeline& pipeline,
                             TraceSet& seen);

// {"prompt", "completion", "reward", "rewards": {rule: score}, "tokens", "question", "answer",
//  "problem", "tokenizer"}: one line of traces.jsonl. `tokenizer` is the teacher's fingerprint.
nlohmann::ordered_json trace_json(const Trace& trace, const datasets::PromptRecord& record,
                                  const std::string& tokenizer);

// {"problem", "line", "sampled", "correct", "formatted", "duplicates", "kept"} and back.
nlohmann::ordered_json tally_json(const ProblemTally& tally);
ProblemTally tally_from_json(const nlohmann::ordered_json& json);

}  // namespace aha::rl
