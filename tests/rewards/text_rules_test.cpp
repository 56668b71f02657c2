// The text rules: format, reflection, regex, language, length and repetition.
#include <catch2/catch.hpp>

#include <cmath>

#include "rewards/format_rule.hpp"
#include "rewards/language_rule.hpp"
#include "rewards/length_rule.hpp"
#include "rewards/reflection_phrases.hpp"
#include "rewards/reflection_rule.hpp"
#include "rewards/regex_rule.hpp"
#include "rewards/repetition_rule.hpp"

using namespace aha::rewards;

namespace {

CompletionRecord completion(std::string text) {
  CompletionRecord r;
  r.completion = std::move(text);
  return r;
}

template <class T>
T flag(const RuleOutcome& outcome, const std::string& name) {
  for (const auto& f : outcome.flags)
    if (f.name == name) return std::get<T>(f.value);
  FAIL("no flag " << name);
  return T{};
}

}  // namespace

TEST_CASE("format: the R1-Zero template as a whole, each tag once") {
  const FormatRule rule(FormatKeys{});
  CHECK(rule.score(completion("<think> 2+2=4 </think> <answer> 4 </answer>")).score == 1.0);
  CHECK(rule.score(completion("\n<think>a</think>\n\n<answer>4</answer>\n")).score == 1.0);
  CHECK(rule.score(completion("so <think>a</think><answer>4</answer>")).score == 0.0);
  CHECK(rule.score(completion("<think>a</think><answer>4</answer> trailing")).score == 0.0);
  CHECK(rule.score(completion("<think>a</think><think>b</think><answer>4</answer>")).score == 0.0);
  CHECK(rule.score(completion("<answer>4</answer><think>a</think>")).score == 0.0);
  const auto counted = rule.score(completion("<think>a</think><think>"));
  CHECK(flag<std::int64_t>(counted, "think_tags") == 3);
  CHECK(flag<std::int64_t>(counted, "answer_tags") == 0);
  FormatKeys opened;
  opened.think_opened_in_prompt = true;
  opened.answer_tag = "final";
  CHECK(FormatRule(opened).score(completion("a b </think> <final>4</final>")).score == 1.0);
  CHECK(FormatRule(opened).score(completion("<think>a</think> <final>4</final>")).score == 0.0);
}

TEST_CASE("reflection: word-bounded, case-insensitive, CJK, count and flag") {
  const ReflectionPhrases phrases(default_reflection_phrases());
  CHECK(phrases.count("Wait, let me re-check. WAIT.") == 3);
  CHECK(phrases.count("we await the result; waiting; wait3") == 0);
  CHECK(phrases.count("Let me   verify: check\nagain") == 2);
  CHECK(phrases.count("Alternatively, double-check it") == 2);
  CHECK(phrases.count("等等，我需要重新检查一下") == 3);
  CHECK(phrases.count("") == 0);
  ReflectionKeys keys{default_reflection_phrases(), true};
  const auto logged = ReflectionRule(keys).score(completion("wait. wait!"));
  CHECK(logged.score == 0.0);
  CHECK(flag<std::int64_t>(logged, "reflection_count") == 2);
  CHECK(flag<std::int64_t>(logged, "reflects") == 1);
  keys.log_only = false;
  CHECK(ReflectionRule(keys).score(completion("hmm, wait")).score == 1.0);
  CHECK(ReflectionRule(keys).score(completion("straight through")).score == 0.0);
}

TEST_CASE("regex: PCRE2 search with a score, errors for bad patterns and runaway searches") {
  RegexKeys keys;
  keys.pattern = "(?i)^<think>.*</think>";
  keys.score = 0.5;
  const RegexRule rule(keys);
  CHECK(rule.score(completion("<THINK>x</think>")).score == 0.5);
  CHECK(rule.score(completion("no")).score == 0.0);
  CHECK(rule.score(completion("\xff\xfe invalid UTF-8")).score == 0.0);
  keys.pattern = "(unclosed";
  CHECK_THROWS_WITH(RegexRule(keys), Catch::Contains("does not compile at offset 9"));
  keys.pattern = "(a+)+$";
  keys.match_limit = 1000;
  CHECK_THROWS_WITH(RegexRule(keys).score(completion(std::string(40, 'a') + "b")), Catch::Contains("limit"));
}

TEST_CASE("language: share of the dominant script in the thinking") {
  const LanguageRule rule(LanguageKeys{});
  const auto english = rule.score(completion("<think>All English here, 123!</think><answer>中文</answer>"));
  CHECK(english.score == 1.0);
  CHECK(flag<std::string>(english, "script") == "latin");
  const auto mixed = rule.score(completion("<think>abcd 中文</think>"));
  CHECK(mixed.score == Approx(4.0 / 6.0));
  CHECK(rule.score(completion("12 + 3 = 15")).score == 1.0);
  LanguageKeys han{"han"};
  CHECK(LanguageRule(han).score(completion("abcd 中文")).score == Approx(2.0 / 6.0));
}

TEST_CASE("length: DAPO soft overlong punishment and cosine length reward") {
  CHECK(dapo_overlong_penalty(384, 512, 128) == 0.0);
  CHECK(dapo_overlong_penalty(448, 512, 128) == -0.5);
  CHECK(dapo_overlong_penalty(512, 512, 128) == -1.0);
  CHECK(dapo_overlong_penalty(600, 512, 128) == -1.0);
  CHECK(cosine_length_reward(0, 1000, 1.0, 0.5) == Approx(1.0));
  CHECK(cosine_length_reward(500, 1000, 1.0, 0.5) == Approx(0.75));
  CHECK(cosine_length_reward(2000, 1000, 1.0, 0.5) == Approx(0.5));
  LengthKeys keys;
  keys.max_tokens = 4;
  keys.buffer_tokens = 2;
  auto record = completion("one two three");
  CHECK(LengthRule(keys).score(record).score == Approx(-0.5));
  record.completion_tokens = 1;
  CHECK(LengthRule(keys).score(record).score == 0.0);
  keys.mode = LengthMode::cosine;
  record.completion = "<answer>4</answer>";
  record.answer.emplace("4");
  record.completion_tokens = 0;
  CHECK(LengthRule(keys).score(record).score == Approx(1.0));
  record.answer.emplace("5");
  CHECK(LengthRule(keys).score(record).score == Approx(-1.0));
}

TEST_CASE("repetition: n-gram repetition penalty as in open-r1") {
  const RepetitionRule rule(RepetitionKeys{});
  CHECK(rule.score(completion("a b")).score == 0.0);
  CHECK(rule.score(completion("the cat sat on the mat")).score == 0.0);
  // 6 trigrams, 1 distinct: (1 - 1/6) * -1
  CHECK(rule.score(completion("go go go go go go go go")).score == Approx(-5.0 / 6.0));
}
