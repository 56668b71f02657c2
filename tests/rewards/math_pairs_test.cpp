// Gold/prediction pairs with Math-Verify's verdicts (tests/fixtures/rewards/math_pairs.inc), one
// test case each.
#include <catch2/catch.hpp>

#include "rewards/math_equivalence.hpp"

namespace {

void check_pair(const char* gold, const char* prediction, bool math_verify, bool expected) {
  INFO("gold: " << gold << "  prediction: " << prediction << "  Math-Verify: " << math_verify);
  CHECK(aha::rewards::math_answers_match(gold, prediction) == expected);
}

}  // namespace

#define MATH_PAIR(number, topic, gold, prediction, math_verify, expected) \
  TEST_CASE("math pair " #number " (" topic ")") { check_pair(gold, prediction, math_verify, expected); }
#include "tests/fixtures/rewards/math_pairs.inc"
