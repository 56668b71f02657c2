// One [[reward]] entry: which rule scores completions, its weight in the total, and the rule's
// own keys. The pipeline sums weight * score over the entries.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/config_binder.hpp"

namespace aha::rewards {

enum class Rule { math, code, format, reflection, language, length, repetition, regex };

inline constexpr std::array<std::pair<Rule, std::string_view>, 8> rule_names{{
    {Rule::math, "math"},
    {Rule::code, "code"},
    {Rule::format, "format"},
    {Rule::reflection, "reflection"},
    {Rule::language, "language"},
    {Rule::length, "length"},
    {Rule::repetition, "repetition"},
    {Rule::regex, "regex"},
}};

struct MathRule {
  int timeout_ms = 1000;
};

enum class CodeLanguage { python, cpp };
enum class CodeScoring { fraction, all_or_nothing };
struct CodeRule {
  CodeLanguage language = CodeLanguage::python;
  CodeScoring scoring = CodeScoring::fraction;
  double timeout_s = 10.0;
  int memory_mb = 1024;
  int max_parallel = 0;  // 0: two per core
  int max_processes = 64;
  int max_output_kb = 1024;
  std::string python = "/usr/bin/python3";
  std::string compiler = "/usr/bin/g++";
};

struct FormatRule {
  std::string think_tag = "think";
  std::string answer_tag = "answer";
  bool think_opened_in_prompt = false;  // the prompt ends with <think>: the completion has no opening tag
};

struct ReflectionRule {
  std::vector<std::string> phrases;
  bool log_only = true;
};

struct LanguageRule {
  std::string script;  // empty: the dominant script of the thinking
};

enum class LengthMode { dapo, cosine };
struct LengthRule {
  LengthMode mode = LengthMode::dapo;
  int max_tokens = 512;
  int buffer_tokens = 128;
  double correct_short = 1.0;  // cosine: reward of a correct answer at length 0
  double correct_long = 0.5;   // ... and at max_tokens
  double wrong_short = -1.0;   // cosine: reward of a wrong answer at length 0
  double wrong_long = -0.5;    // ... and at max_tokens
};

struct RepetitionRule {
  int ngram = 3;
  double max_penalty = -1.0;
};

struct RegexRule {
  std::string pattern;
  double score = 1.0;
  int match_limit = 1000000;  // PCRE2 match and depth limit
};

using RuleKeys = std::variant<MathRule, CodeRule, FormatRule, ReflectionRule, LanguageRule, LengthRule,
                              RepetitionRule, RegexRule>;

struct RewardSpec {
  Rule rule = Rule::math;
  std::string name;  // the metric's name; the rule's name unless set
  double weight = 1.0;
  double failure_score = 0.0;
  RuleKeys keys;
};

inline constexpr std::string_view reward_section_doc =
    "The reward rules. Each [[reward]] entry adds weight * score to a completion's reward; each rule's "
    "score is also logged under its name. A rule that fails (a crash, a timeout) gives failure_score and "
    "is counted, never stops the run.";

// The reflection phrases counted when a [[reward]] entry with rule = "reflection" gives none.
const std::vector<std::string>& default_reflection_phrases();

void bind(config::Binder& b, RewardSpec& s);

// Problems across entries (names must be unique), one message each.
std::vector<std::string> check(const std::vector<RewardSpec>& specs);

}  // namespace aha::rewards
