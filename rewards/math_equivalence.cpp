// Equivalence of math answers.
#include "rewards/math_equivalence.hpp"

#include <vector>

#include "rewards/math_normalization.hpp"

namespace aha::rewards {

namespace {

constexpr int float_rounding = 6;  // Math-Verify's default

Rational percent_value(const MathValue& v) { return v.percent ? *v.number / Rational(100) : *v.number; }

// Math-Verify's numeric rule: with a float on either side both are rounded to 6 places (50% is
// 0.5 then); two integers compare without their % (9% equals 9); otherwise exactly, % as / 100.
bool numbers_equal(const MathValue& a, const MathValue& b) {
  try {
    if (a.inexact || b.inexact)
      return percent_value(a).rounded(float_rounding) == percent_value(b).rounded(float_rounding);
    if (a.number->is_integer() && b.number->is_integer()) return *a.number == *b.number;
    return percent_value(a) == percent_value(b);
  } catch (const NumberTooLarge&) {
    return *a.number == *b.number;
  }
}

// Every element of `a` pairs with its own element of `b`, in any order.
bool same_elements(const std::vector<MathValue>& a, const std::vector<MathValue>& b, Deadline& deadline) {
  if (a.size() != b.size()) return false;
  std::vector<bool> used(b.size(), false);
  for (const MathValue& x : a) {
    bool found = false;
    for (std::size_t j = 0; j < b.size() && !found; ++j)
      if (!used[j] && math_values_equal(x, b[j], deadline)) used[j] = found = true;
    if (!found) return false;
  }
  return true;
}

bool same_sequence(const std::vector<MathValue>& a, const std::vector<MathValue>& b, Deadline& deadline) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!math_values_equal(a[i], b[i], deadline)) return false;
  return true;
}

bool same_relation(const MathValue& a, const MathValue& b, Deadline& deadline) {
  if (a.relations == b.relations && same_sequence(a.items, b.items, deadline)) return true;
  // a = b is b = a
  if (a.is_equation() && b.is_equation() && a.items.size() == 2 && b.items.size() == 2)
    return math_values_equal(a.items[0], b.items[1], deadline) && math_values_equal(a.items[1], b.items[0], deadline);
  return false;
}

}  // namespace

bool math_values_equal(const MathValue& gold, const MathValue& prediction, Deadline& deadline) {
  deadline.check();
  using Kind = MathValue::Kind;
  if (gold.kind == Kind::number && prediction.kind == Kind::number) return numbers_equal(gold, prediction);
  if (gold.kind == Kind::sequence && prediction.kind == Kind::sequence) {
    if (gold.is_set() || prediction.is_set())
      return gold.is_set() && prediction.is_set() && same_elements(gold.items, prediction.items, deadline);
    return gold.open == prediction.open && gold.close == prediction.close &&
           same_sequence(gold.items, prediction.items, deadline);
  }
  if (gold.kind == Kind::relation && prediction.kind == Kind::relation)
    return same_relation(gold, prediction, deadline);
  return !gold.text.empty() && gold.text == prediction.text;
}

bool math_answers_match(std::string_view gold_answer, std::string_view predicted_answer,
                        std::chrono::milliseconds budget) {
  Deadline deadline(budget);
  // No reference answer is this long; a prediction that is gets the plain string comparison.
  constexpr std::size_t longest_answer = 10000;
  if (gold_answer.size() > longest_answer || predicted_answer.size() > longest_answer)
    return gold_answer == predicted_answer;
  const std::string gold_text = normalize_math_answer(gold_answer);
  const std::string predicted_text = normalize_math_answer(predicted_answer);
  if (gold_text.empty() || predicted_text.empty()) return false;
  if (gold_text == predicted_text) return true;
  MathValue gold = parse_math_value(gold_text, deadline);
  MathValue prediction = parse_math_value(predicted_text, deadline);
  // Math-Verify follows the gold's form: "9 = 1" against "1" compares 1 with 1, and gold "x = 1"
  // against "1" compares 1 with 1, but gold "2x + z = 1" is not unwrapped.
  if (prediction.is_equation() && !gold.is_equation()) {
    MathValue rhs = prediction.items.back();
    prediction = std::move(rhs);
  } else if (gold.is_assignment() && !prediction.is_equation()) {
    MathValue rhs = gold.items.back();
    gold = std::move(rhs);
  }
  if (gold.kind == MathValue::Kind::relation && prediction.kind == MathValue::Kind::sequence)
    if (auto interval = inequality_as_interval(gold)) gold = std::move(*interval);
  return math_values_equal(gold, prediction, deadline);
}

}  // namespace aha::rewards
