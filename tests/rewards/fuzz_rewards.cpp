// libFuzzer target for the math parser and the `aha reward` input reader: any bytes must give a
// verdict or an aha::Error, never a crash, a hang or undefined behaviour. Built and run by
// scripts/fuzz-rewards.sh (clang with -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "rewards/math_answer_extraction.hpp"
#include "rewards/math_equivalence.hpp"
#include "rewards/reward_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto split = text.find('\n');
  const std::string_view gold = text.substr(0, split);
  const std::string_view rest = split == std::string_view::npos ? std::string_view() : text.substr(split + 1);
  try {
    aha::rewards::math_answers_match(gold, rest);
    aha::rewards::math_answers_match(rest, gold);
    if (auto answer = aha::rewards::extract_predicted_answer(text)) aha::rewards::math_answers_match(gold, *answer);
  } catch (const aha::Error&) {
  }
  try {
    aha::rewards::completion_from_json(text);
  } catch (const aha::Error&) {
  }
  return 0;
}
