// The PCRE2 regex rule and its keys.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rewards/regex_rule.hpp"

#include <fmt/format.h>
#include <pcre2.h>

#include "core/error.hpp"

namespace aha::rewards {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

void bind_keys(config::Binder& b, RegexKeys& keys) {
  b.text({"pattern", "PCRE2 pattern searched in the completion, under a match limit"}, keys.pattern, std::nullopt);
  b.number({"score", "score when the pattern matches; 0 otherwise"}, keys.score, 1.0);
  b.integer({"match_limit", "PCRE2 match and depth limit; a search that reaches it fails the rule"}, keys.match_limit,
            1000000, {1000, 1000000000});
}

struct RegexRule::Compiled {
  pcre2_code* code = nullptr;
  pcre2_match_context* context = nullptr;
  ~Compiled() {
    pcre2_match_context_free(context);
    pcre2_code_free(code);
  }
};

RegexRule::RegexRule(const RegexKeys& keys) : compiled_(std::make_unique<Compiled>()), keys_(keys) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(keys_.pattern.data()), keys_.pattern.size(),
                                  PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
  if (!compiled_->code)
    throw ConfigError(fmt::format("reward rule \"regex\": pattern {:?} does not compile at offset {}: {}; fix the "
                                  "pattern (PCRE2 syntax)",
                                  keys_.pattern, offset, pcre2_message(error)));
  jit_ = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
  compiled_->context = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(compiled_->context, static_cast<uint32_t>(keys_.match_limit));
  pcre2_set_depth_limit(compiled_->context, static_cast<uint32_t>(keys_.match_limit));
}

RegexRule::~RegexRule() = default;

RuleOutcome RegexRule::score(const CompletionRecord& record) const {
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(compiled_->code, nullptr);
  if (!data) throw Error("reward rule \"regex\": out of memory for the match data");
  const int rc = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(record.completion.data()),
                             record.completion.size(), 0, 0, data, compiled_->context);
  pcre2_match_data_free(data);
  if (rc == PCRE2_ERROR_NOMATCH) return {0.0, {{"regex_matched", false}}};
  if (rc < 0)
    throw Error(fmt::format("reward rule \"regex\": pattern {:?} failed on a completion: {}; simplify the pattern or "
                            "raise match_limit",
                            keys_.pattern, pcre2_message(rc)));
  return {keys_.score, {{"regex_matched", true}}};
}

}  // namespace aha::rewards
