// The language consistency rule and its keys.
#include "rewards/language_rule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "rewards/unicode_script.hpp"

namespace aha::rewards {

namespace {

std::string_view thinking(std::string_view text) {
  const auto close = text.find("</think>");
  if (close == std::string_view::npos) return text;
  const auto open = text.rfind("<think>", close);
  return open == std::string_view::npos ? text.substr(0, close) : text.substr(open + 7, close - open - 7);
}

std::string script_name_rule(const std::string& name) {
  if (name.empty()) return "";
  for (std::size_t s = 1; s <= static_cast<std::size_t>(Script::han); ++s)
    if (script_name(static_cast<Script>(s)) == name) return "";
  return fmt::format("\"{}\" is not a script; use latin, greek, cyrillic, armenian, hebrew, arabic, devanagari, "
                     "bengali, thai, hangul, kana or han",
                     name);
}

}  // namespace

void bind_keys(config::Binder& b, LanguageKeys& keys) {
  b.text({"script", "script the thinking should be written in; empty: whichever script dominates"}, keys.script, "",
         config::TextRule{script_name_rule, "empty or a script name (latin, han, cyrillic, …)"});
}

RuleOutcome LanguageRule::score(const CompletionRecord& record) const {
  std::array<std::int64_t, 13> counts{};
  std::int64_t letters = 0;
  for (const char32_t c : decode_utf8(thinking(record.completion))) {
    const Script s = script_of(c);
    if (s == Script::none) continue;
    ++counts[static_cast<std::size_t>(s)];
    ++letters;
  }
  const auto dominant = static_cast<std::size_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
  std::size_t scored = dominant;
  if (!keys_.script.empty())
    for (std::size_t s = 1; s < counts.size(); ++s)
      if (script_name(static_cast<Script>(s)) == keys_.script) scored = s;
  const double share = letters == 0 ? 1.0 : static_cast<double>(counts[scored]) / static_cast<double>(letters);
  const std::string name(letters == 0 ? "none" : script_name(static_cast<Script>(dominant)));
  return {share, {{"script", name}, {"script_share", share}}};
}

}  // namespace aha::rewards
