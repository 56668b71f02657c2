// A bounded random test of the math parser and the input reader: random strings over math
// tokens and JSON pieces must give a verdict or an aha::Error. The libFuzzer target
// (tests/rewards/fuzz_rewards.cpp) does the same without bounds.
#include <catch2/catch.hpp>

#include <array>
#include <random>
#include <string>

#include "core/error.hpp"
#include "rewards/math_answer_extraction.hpp"
#include "rewards/math_equivalence.hpp"
#include "rewards/reward_json.hpp"

using namespace aha::rewards;

namespace {

constexpr std::array<std::string_view, 44> pieces{"1",
                                                  "0",
                                                  "9999999999",
                                                  ".",
                                                  ",",
                                                  "{",
                                                  "}",
                                                  "(",
                                                  ")",
                                                  "[",
                                                  "]",
                                                  "\\{",
                                                  "\\}",
                                                  "^",
                                                  "_",
                                                  "!",
                                                  "%",
                                                  "\\%",
                                                  "-",
                                                  "+",
                                                  "*",
                                                  "/",
                                                  "=",
                                                  "<",
                                                  "\\leq",
                                                  " ",
                                                  "x",
                                                  "\\frac",
                                                  "\\sqrt",
                                                  "\\boxed{",
                                                  "\\cup",
                                                  "\\infty",
                                                  "\\pi",
                                                  "$",
                                                  "\\",
                                                  "####",
                                                  "\n",
                                                  "<answer>",
                                                  "</answer>",
                                                  "\\text{",
                                                  "\\left(",
                                                  "\"",
                                                  "\xe4\xb8\xad",
                                                  "\xff"};

std::string random_text(std::mt19937& rng, std::size_t max_pieces) {
  std::string out;
  const std::size_t n = std::uniform_int_distribution<std::size_t>(0, max_pieces)(rng);
  std::uniform_int_distribution<std::size_t> piece(0, pieces.size() - 1);
  for (std::size_t i = 0; i < n; ++i) out += pieces[piece(rng)];
  return out;
}

}  // namespace

TEST_CASE("random math answers give a verdict or an aha::Error") {
  std::mt19937 rng(20261128);
  int verdicts = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string gold = random_text(rng, 12), prediction = random_text(rng, 24);
    try {
      math_answers_match(gold, prediction);
      if (auto answer = extract_predicted_answer(prediction)) math_answers_match(gold, *answer);
      ++verdicts;
    } catch (const aha::Error&) {
    }
  }
  CHECK(verdicts > 2900);
}

TEST_CASE("random input lines are read or rejected with an aha::Error") {
  std::mt19937 rng(7);
  int read = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string line = i % 2 ? random_text(rng, 16)
                                   : "{\"completion\": \"" + random_text(rng, 8) +
                                         "\", \"answer\": " + random_text(rng, 3) + "}";
    try {
      completion_from_json(line);
      ++read;
    } catch (const aha::Error&) {
    }
  }
  CHECK(read > 0);
}
