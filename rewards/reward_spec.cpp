// Keys of a [[reward]] entry: the common ones, then those of its rule.
#include "rewards/reward_spec.hpp"

#include <fmt/format.h>

#include <set>

#include "core/error.hpp"
#include "rewards/regex_rule.hpp"
#include "rewards/unicode_script.hpp"

namespace aha::rewards {

namespace {

using config::Binder;
using config::Case;

constexpr std::array<std::pair<CodeLanguage, std::string_view>, 2> language_names{{
    {CodeLanguage::python, "python"}, {CodeLanguage::cpp, "cpp"}}};
constexpr std::array<std::pair<CodeScoring, std::string_view>, 2> scoring_names{{
    {CodeScoring::fraction, "fraction"}, {CodeScoring::all_or_nothing, "all_or_nothing"}}};
constexpr std::array<std::pair<LengthMode, std::string_view>, 2> length_mode_names{{
    {LengthMode::dapo, "dapo"}, {LengthMode::cosine, "cosine"}}};

std::string xml_tag_name(const std::string& tag) {
  if (tag.empty()) return "must not be empty";
  for (const char c : tag)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      return fmt::format("\"{}\" is not a tag name (letters, digits, _ and - only)", tag);
  return "";
}

void bind_keys(Binder& b, MathRule& r) {
  b.integer({"timeout_ms", "longest time one verdict may take; slower ones score failure_score"}, r.timeout_ms,
            1000, {1, 600000});
}

void bind_keys(Binder& b, CodeRule& r) {
  b.choice({"language", "language of the program: the last fenced code block, or the whole completion"},
           r.language, CodeLanguage::python, language_names);
  b.choice({"scoring", "fraction: share of tests passed; all_or_nothing: 1 only when every test passes"},
           r.scoring, CodeScoring::fraction, scoring_names);
  b.number({"timeout_s", "wall-clock limit for one program and its tests, in seconds"}, r.timeout_s, 10.0,
           {0.0, 3600.0, true, false});
  b.integer({"memory_mb", "address-space limit of the program, in MiB"}, r.memory_mb, 1024, {16, 1 << 20});
  b.integer({"max_parallel", "programs run at once, each a judge and a candidate sandbox; 0: two per core"}, r.max_parallel, 0, {0, 1024});
  b.integer({"max_processes", "processes and threads the program may run at once (RLIMIT_NPROC)"}, r.max_processes,
            64, {1, 4096});
  b.integer({"max_output_kb", "stdout and stderr kept, in KiB; a program that writes more is stopped and fails"},
            r.max_output_kb, 1024, {1, 1 << 20});
  b.text({"python", "Python interpreter the programs run with (a path visible inside the sandbox)"}, r.python,
         "/usr/bin/python3");
  b.text({"compiler", "C++ compiler for language = \"cpp\" (a path visible inside the sandbox)"}, r.compiler,
         "/usr/bin/g++");
}

void bind_keys(Binder& b, FormatRule& r) {
  const config::TextRule tag{xml_tag_name, "a tag name"};
  b.text({"think_tag", "tag around the reasoning"}, r.think_tag, "think", tag);
  b.text({"answer_tag", "tag around the final answer"}, r.answer_tag, "answer", tag);
  b.boolean({"think_opened_in_prompt", "the prompt ends with the opening think tag, so the completion starts inside "
                                       "the thinking and has no opening tag"},
            r.think_opened_in_prompt, false);
}

void bind_keys(Binder& b, ReflectionRule& r) {
  b.texts({"phrases", "phrases counted as reflection, matched case-insensitively at word boundaries"}, r.phrases,
          default_reflection_phrases());
  b.boolean({"log_only", "true: only log the counts; false: score 1 when a completion reflects at least once"},
            r.log_only, true);
}

std::string script_name_rule(const std::string& name) {
  if (name.empty()) return "";
  for (std::size_t s = 1; s <= static_cast<std::size_t>(Script::han); ++s)
    if (script_name(static_cast<Script>(s)) == name) return "";
  return fmt::format("\"{}\" is not a script; use latin, greek, cyrillic, armenian, hebrew, arabic, devanagari, "
                     "bengali, thai, hangul, kana or han",
                     name);
}

void bind_keys(Binder& b, LanguageRule& r) {
  b.text({"script", "script the thinking should be written in; empty: whichever script dominates"}, r.script, "",
         config::TextRule{script_name_rule, "empty or a script name (latin, han, cyrillic, …)"});
}

void bind_keys(Binder& b, LengthRule& r) {
  b.choice({"mode", "dapo: soft overlong punishment; cosine: length-scaled reward"}, r.mode, LengthMode::dapo,
           length_mode_names);
  b.integer({"max_tokens", "completion length (tokens, else words) at which the penalty is full"}, r.max_tokens, 512,
            {1, 1 << 20});
  b.integer({"buffer_tokens", "the penalty grows linearly over the last buffer_tokens before max_tokens"},
            r.buffer_tokens, 128, {0, 1 << 20});
  b.number({"correct_short", "cosine: reward of a correct answer of length 0"}, r.correct_short, 1.0);
  b.number({"correct_long", "cosine: reward of a correct answer of max_tokens or more"}, r.correct_long, 0.5);
  b.number({"wrong_short", "cosine: reward of a wrong answer of length 0"}, r.wrong_short, -1.0);
  b.number({"wrong_long", "cosine: reward of a wrong answer of max_tokens or more"}, r.wrong_long, -0.5);
}

void bind_keys(Binder& b, RepetitionRule& r) {
  b.integer({"ngram", "length of the repeated n-grams counted"}, r.ngram, 3, {1, 64});
  b.number({"max_penalty", "score of a completion made only of repeats"}, r.max_penalty, -1.0, {-1e9, 0.0});
}

void bind_keys(Binder& b, RegexRule& r) {
  b.text({"pattern", "PCRE2 pattern searched in the completion, under a match limit"}, r.pattern, std::nullopt);
  b.number({"score", "score when the pattern matches; 0 otherwise"}, r.score, 1.0);
  b.integer({"match_limit", "PCRE2 match and depth limit; a search that reaches it fails the rule"}, r.match_limit,
            1000000, {1000, 1000000000});
}

template <class Keys>
Case rule_case(RewardSpec& s, std::string_view name, std::string_view doc) {
  return {name, doc, [&s](Binder& b) { bind_keys(b, config::ensure_alternative<Keys>(s.keys)); }};
}

}  // namespace

const std::vector<std::string>& default_reflection_phrases() {
  static const std::vector<std::string> phrases{
      "wait",    "recheck",       "re-check",    "rethink",  "re-evaluate", "reconsider", "double-check",
      "check again", "let me verify", "try again", "alternatively", "等等", "重新", "检查一下"};
  return phrases;
}

void bind(Binder& b, RewardSpec& s) {
  const std::string rule = b.choice({"rule", "what the entry scores"}, s.rule, std::nullopt, rule_names);
  b.text({"name", "name of the score in the metrics; empty: the rule's name"}, s.name, rule);
  b.number({"weight", "factor of this rule's score in the total reward"}, s.weight, 1.0);
  b.number({"failure_score", "score when the rule itself fails (a crash, a timeout)"}, s.failure_score, 0.0);
  const std::array cases{
      rule_case<MathRule>(s, "math", "the answer (in <answer>, \\boxed{}, #### N or \"the answer is\") equals the "
                                     "reference answer: 1, else 0"),
      rule_case<CodeRule>(s, "code", "the program passes the tests in a sandbox"),
      rule_case<FormatRule>(s, "format", "the completion is <think>…</think> <answer>…</answer>: 1, else 0"),
      rule_case<ReflectionRule>(s, "reflection", "counts reflection phrases (the aha moment)"),
      rule_case<LanguageRule>(s, "language", "share of the thinking written in its dominant script"),
      rule_case<LengthRule>(s, "length", "penalises or shapes completion length"),
      rule_case<RepetitionRule>(s, "repetition", "penalises repeated n-grams"),
      rule_case<RegexRule>(s, "regex", "a user pattern that scores when it matches"),
  };
  b.cases("rule", rule, cases);
}

std::vector<std::string> check(const std::vector<RewardSpec>& specs) {
  std::vector<std::string> problems;
  std::set<std::string> names;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (!names.insert(specs[i].name).second)
      problems.push_back(fmt::format("reward[{}]: the name \"{}\" is used by an earlier [[reward]] entry; give "
                                     "each entry its own name",
                                     i, specs[i].name));
    if (const auto* length = std::get_if<LengthRule>(&specs[i].keys); length && length->buffer_tokens >= length->max_tokens)
      problems.push_back(fmt::format("reward[{}]: buffer_tokens ({}) must be smaller than max_tokens ({})", i,
                                     length->buffer_tokens, length->max_tokens));
    if (const auto* regex = std::get_if<RegexRule>(&specs[i].keys)) {
      try {
        const RegexPatternRule compiled(*regex);
      } catch (const ConfigError& e) {
        problems.push_back(fmt::format("reward[{}]: {}", i, e.what()));
      }
    }
  }
  return problems;
}

}  // namespace aha::rewards
