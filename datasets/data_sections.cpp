// Keys of the [data] sections.
#include "datasets/data_sections.hpp"

namespace aha::datasets {

namespace {

using config::Binder;

constexpr std::array<std::pair<Curriculum, std::string_view>, 3> curriculum_names{
    {{Curriculum::none, "none"}, {Curriculum::field, "field"}, {Curriculum::pass_rate, "pass_rate"}}};

constexpr int unbounded = 1 << 30;

}  // namespace

std::string prompt_template_rule(const std::string& value) {
  if (value == "r1_zero" || value.find("{question}") != std::string::npos) return "";
  return "must be \"r1_zero\" or a template containing {question}";
}

void bind(Binder& b, DataSection& s) {
  b.text({"train", "JSONL file of training prompts, one object per line"}, s.train, std::nullopt);
  b.text({"eval", "JSONL file of held-out prompts; empty: no evaluation"}, s.eval, "");
  b.text({"question_key", "field holding the question"}, s.question_key, "question");
  b.text({"answer_key", "field holding the reference answer (GSM8K's `#### N` line is understood)"}, s.answer_key,
         "answer");
  b.text({"template", "\"r1_zero\" (the DeepSeek-R1-Zero prompt) or your own text with {question}"}, s.prompt_template,
         "r1_zero", {prompt_template_rule, "\"r1_zero\" or text with {question}"});
  b.integer({"max_prompt_tokens",
             "training prompts longer than this many tokens (template applied) are skipped, counted in "
             "prompts_skipped and replaced by the next, never cut; the memory plan sizes prompts at this length"},
            s.max_prompt_tokens, 512, {1, 1 << 20});
  b.boolean({"shuffle", "shuffle the prompts each epoch (seeded by train.seed)"}, s.shuffle, true);
  b.boolean({"dedupe", "drop prompts whose question appeared before"}, s.dedupe, true);
  b.choice({"curriculum", "prompt order: none, easy to hard by a field, or by measured pass rate"}, s.curriculum,
           Curriculum::none, curriculum_names);
  b.text({"difficulty_key", "field holding a number that orders prompts when curriculum = \"field\""}, s.difficulty_key,
         "");
  b.integer({"eval_limit", "evaluate on the first eval_limit held-out prompts; 0: all of them"}, s.eval_limit, 0,
            {0, unbounded});
}

void bind(Binder& b, SftDataSection& s) {
  b.text({"train", "JSONL of prompt/completion pairs, e.g. the traces `aha distill` writes"}, s.train, std::nullopt);
  b.text({"prompt_key", "field holding the prompt text, used as it is (no template)"}, s.prompt_key, "prompt");
  b.text({"completion_key", "field holding the completion; the loss covers its tokens only"}, s.completion_key,
         "completion");
  b.integer({"max_tokens", "pairs longer than this (prompt + completion tokens) are skipped and counted"}, s.max_tokens,
            1024, {2, unbounded});
  b.boolean({"shuffle", "shuffle the pairs each epoch (seeded by train.seed)"}, s.shuffle, true);
  b.text({"eval", "JSONL of held-out problems (question and answer) judged by the math rule; empty: no evaluation"},
         s.eval, "");
  b.text({"question_key", "held-out problems: field holding the question"}, s.question_key, "question");
  b.text({"answer_key", "held-out problems: field holding the reference answer"}, s.answer_key, "answer");
  b.text({"template", "held-out problems: \"r1_zero\" or text with {question}; use the template the pairs' prompts "
                      "were written with"},
         s.prompt_template, "r1_zero", {prompt_template_rule, "\"r1_zero\" or text with {question}"});
  b.integer({"eval_limit", "evaluate on the first eval_limit held-out problems; 0: all of them"}, s.eval_limit, 0,
            {0, unbounded});
}

}  // namespace aha::datasets
