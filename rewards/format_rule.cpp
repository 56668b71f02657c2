// The R1-Zero format rule and its keys.
#include "rewards/format_rule.hpp"

#include <fmt/format.h>

#include <cctype>

namespace aha::rewards {

namespace {

std::string xml_tag_name(const std::string& tag) {
  if (tag.empty()) return "must not be empty";
  for (const char c : tag)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      return fmt::format("\"{}\" is not a tag name (letters, digits, _ and - only)", tag);
  return "";
}

std::int64_t count(std::string_view text, std::string_view what) {
  std::int64_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

bool only_space(std::string_view text) {
  for (const char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

void bind_keys(config::Binder& b, FormatKeys& keys) {
  const config::TextRule tag{xml_tag_name, "a tag name"};
  b.text({"think_tag", "tag around the reasoning"}, keys.think_tag, "think", tag);
  b.text({"answer_tag", "tag around the final answer"}, keys.answer_tag, "answer", tag);
  b.boolean({"think_opened_in_prompt", "the prompt ends with the opening think tag, so the completion starts inside "
                                       "the thinking and has no opening tag"},
            keys.think_opened_in_prompt, false);
}

RuleOutcome FormatRule::score(const CompletionRecord& record) const {
  const std::string think_open = "<" + keys_.think_tag + ">", think_close = "</" + keys_.think_tag + ">";
  const std::string answer_open = "<" + keys_.answer_tag + ">", answer_close = "</" + keys_.answer_tag + ">";
  const std::string_view text = record.completion;
  const std::int64_t opens = count(text, think_open), closes = count(text, think_close);
  const std::int64_t answer_opens = count(text, answer_open), answer_closes = count(text, answer_close);
  const std::int64_t expected_opens = keys_.think_opened_in_prompt ? 0 : 1;
  bool ok = opens == expected_opens && closes == 1 && answer_opens == 1 && answer_closes == 1;
  if (ok) {
    const auto think_start = keys_.think_opened_in_prompt ? 0 : text.find(think_open);
    const auto think_end = text.find(think_close), answer_start = text.find(answer_open);
    const auto answer_end = text.find(answer_close);
    ok = only_space(text.substr(0, think_start)) && think_start <= think_end && think_end < answer_start &&
         only_space(text.substr(think_end + think_close.size(), answer_start - think_end - think_close.size())) &&
         answer_start < answer_end && only_space(text.substr(answer_end + answer_close.size()));
  }
  return {ok ? 1.0 : 0.0,
          {{"format_ok", ok}, {"think_tags", opens + closes}, {"answer_tags", answer_opens + answer_closes}}};
}

}  // namespace aha::rewards
