// The math verifier beyond the pair table: answer extraction, GSM8K end to end, and answers built
// to be slow or huge.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "rewards/math_answer_extraction.hpp"
#include "rewards/math_equivalence.hpp"
#include "tests/test_paths.hpp"

using namespace aha::rewards;

TEST_CASE("the answer comes from <answer>, the last \\boxed, #### N or 'the answer is', never from the text") {
  CHECK(extract_predicted_answer("<think>2+2</think> <answer>4</answer>") == "4");
  CHECK(extract_predicted_answer("<answer>so \\boxed{\\frac{1}{2}}</answer>") == "\\frac{1}{2}");
  CHECK(extract_predicted_answer("first \\boxed{1} then \\boxed{\\frac{2}{3}}") == "\\frac{2}{3}");
  CHECK(extract_predicted_answer("\\fbox{7}") == "7");
  CHECK(extract_predicted_answer("\\boxed{{a}{b}}") == "{a}{b}");
  CHECK(extract_predicted_answer("We get 5 + 3.\n#### 8") == "8");
  CHECK(extract_predicted_answer("Thus the answer is 42.") == "42");
  CHECK(extract_predicted_answer("So The answer is $3.5$. Done") == "$3.5$");
  CHECK_FALSE(extract_predicted_answer("the total is 42").has_value());
  CHECK_FALSE(extract_predicted_answer("\\boxed{unbalanced").has_value());
  CHECK_FALSE(extract_predicted_answer("<answer></answer>").has_value());
  CHECK(extract_gold_answer("Janet sells 9 eggs.\n#### 18") == "18");
  CHECK(extract_gold_answer("\\frac{1}{2}") == "\\frac{1}{2}");
}

TEST_CASE("exponent towers, huge numbers and deep nesting are refused, not evaluated") {
  CHECK_FALSE(math_answers_match("1", "2^{2^{2^{2^{2}}}}"));
  CHECK(math_answers_match("2^{2^{2^{2^{2}}}}", "2^{2^{2^{2^{2}}}}"));
  CHECK_FALSE(math_answers_match("0", "10^{-100000}"));
  CHECK_FALSE(math_answers_match("1", "99999999999999999999999999999999999999999999999999"));
  CHECK_FALSE(math_answers_match("1", "1000!"));
  CHECK_FALSE(math_answers_match("1", std::string(5000, '(') + "1" + std::string(5000, ')')));
  CHECK_FALSE(math_answers_match("1", std::string(100, '(') + "1" + std::string(100, ')')));
  CHECK(math_answers_match("1", std::string(30, '(') + "1" + std::string(30, ')')));
  CHECK_FALSE(math_answers_match("1", "1/0"));
}

TEST_CASE("GSM8K: every gold #### N accepts N inside <answer> and rejects N+1") {
  const auto path = data_dir() / "gsm8k" / "test.jsonl";
  std::ifstream in(path);
  if (!in) {
    WARN("skipped: " << path.string() << " is missing (set AHA_DATA_DIR to the folder holding gsm8k/test.jsonl)");
    return;
  }
  int items = 0, accepted = 0, rejected = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto reference = nlohmann::json::parse(line).at("answer").get<std::string>();
    const std::string gold = extract_gold_answer(reference);
    std::string plain = gold;
    std::erase(plain, ',');
    const long long n = std::stoll(plain);
    ++items;
    const auto same = extract_predicted_answer("<think>…</think> <answer>" + gold + "</answer>");
    const auto next = extract_predicted_answer("<think>…</think> <answer>" + std::to_string(n + 1) + "</answer>");
    REQUIRE(same);
    REQUIRE(next);
    if (math_answers_match(gold, *same)) ++accepted;
    else FAIL_CHECK("gold " << gold << " rejected itself");
    if (!math_answers_match(gold, *next)) ++rejected;
    else FAIL_CHECK("gold " << gold << " accepted " << n + 1);
  }
  CHECK(items == 1319);
  CHECK(accepted == items);
  CHECK(rejected == items);
}
