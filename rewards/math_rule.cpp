// The math answer rule and its keys.
#include "rewards/math_rule.hpp"

#include "rewards/math_answer_extraction.hpp"
#include "rewards/math_equivalence.hpp"

namespace aha::rewards {

void bind_keys(config::Binder& b, MathKeys& keys) {
  b.integer({"timeout_ms", "longest time one verdict may take; slower ones score failure_score"}, keys.timeout_ms, 1000,
            {1, 600000});
}

RuleOutcome MathRule::score(const CompletionRecord& record) const {
  if (!record.answer)
    throw Error("rule \"math\" needs the reference answer: give the input record an \"answer\" field");
  const auto predicted = extract_predicted_answer(record.completion);
  const bool correct = predicted && math_answers_match(extract_gold_answer(*record.answer), *predicted,
                                                       std::chrono::milliseconds(keys_.timeout_ms));
  return {correct ? 1.0 : 0.0, {{"answer_found", predicted.has_value()}, {"correct", correct}}};
}

}  // namespace aha::rewards
