// Normalising a math answer's text.
#include "rewards/math_normalization.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace aha::rewards {

namespace {

bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// Removes a LaTeX command unless it is the prefix of a longer command name (\left vs \leftarrow).
void remove_command(std::string& s, std::string_view command) {
  for (std::size_t at = s.find(command); at != std::string::npos; at = s.find(command, at)) {
    const std::size_t end = at + command.size();
    if (end < s.size() && is_letter(s[end]) && is_letter(command.back())) {
      at = end;
      continue;
    }
    s.erase(at, command.size());
  }
}

void trim(std::string& s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  s.erase(0, start);
}

// \text{…}, \textbf{…}, \mathrm{…}, \mbox{…} and friends: keep the content, drop the wrapper.
void unwrap_text_commands(std::string& s) {
  for (const std::string_view command :
       {"\\boxed", "\\fbox", "\\text", "\\textbf", "\\textit", "\\mathrm", "\\mathbf", "\\mbox", "\\operatorname"}) {
    for (std::size_t at = s.find(command); at != std::string::npos; at = s.find(command, at)) {
      const std::size_t open = at + command.size();
      if (open >= s.size() || s[open] != '{') {
        at = open;
        continue;
      }
      int depth = 0;
      std::size_t close = open;
      for (; close < s.size(); ++close) {
        if (s[close] == '{') ++depth;
        if (s[close] == '}' && --depth == 0) break;
      }
      if (close >= s.size()) break;
      s = s.substr(0, at) + s.substr(open + 1, close - open - 1) + s.substr(close + 1);
    }
  }
}

// "18 dollars", "5 cm^2", "3 \text{ inches}": words after a number are a unit.
void strip_trailing_units(std::string& s) {
  for (;;) {
    trim(s);
    std::size_t end = s.size();
    if (end >= 2 && s[end - 2] == '^' && (s[end - 1] == '2' || s[end - 1] == '3')) end -= 2;
    std::size_t start = end;
    while (start > 0 && is_letter(s[start - 1])) --start;
    if (end - start < 2 || start == 0 || s[start - 1] == '\\') return;
    std::string rest = s.substr(0, start);
    trim(rest);
    if (rest.empty()) return;
    const char last = rest.back();
    if (!is_digit(last) && last != '}' && last != ')' && last != '%') return;
    s = rest;
  }
}

// "1,234,567" (also "1{,}234") is one number when the whole answer is that number.
void drop_thousands_separators(std::string& s) {
  replace_all(s, "{,}", ",");
  std::size_t i = s[0] == '-' ? 1 : 0;
  std::size_t group = 0;
  bool saw_comma = false;
  for (std::size_t digits = 0; i <= s.size(); ++i) {
    const char c = i < s.size() ? s[i] : '\0';
    if (is_digit(c)) {
      ++digits;
      continue;
    }
    if (c == ',') {
      if ((saw_comma ? digits != 3 : (digits == 0 || digits > 3))) return;
      saw_comma = true;
      digits = 0;
      ++group;
      continue;
    }
    if (!saw_comma || digits != 3) return;
    if (c != '\0' && c != '.') return;
    if (c == '.') {
      for (std::size_t j = i + 1; j < s.size(); ++j)
        if (!is_digit(s[j])) return;
    }
    break;
  }
  if (group > 0) replace_all(s, ",", "");
}

}  // namespace

std::string normalize_math_answer(std::string_view answer) {
  std::string s(answer);
  trim(s);
  for (const auto& [open, close] :
       std::array<std::pair<std::string_view, std::string_view>, 3>{{{"\\(", "\\)"}, {"\\[", "\\]"}, {"$$", "$$"}}})
    if (s.size() >= open.size() + close.size() && s.starts_with(open) && s.ends_with(close))
      s = s.substr(open.size(), s.size() - open.size() - close.size());
  replace_all(s, "\\$", "");
  replace_all(s, "$", "");
  for (const std::string_view command :
       {"\\left", "\\right", "\\displaystyle", "\\!", "\\,", "\\;", "\\:", "\\qquad", "\\quad", "\\ "})
    remove_command(s, command);
  replace_all(s, "~", " ");
  replace_all(s, "\\dfrac", "\\frac");
  replace_all(s, "\\tfrac", "\\frac");
  replace_all(s, "^{\\circ}", "");
  replace_all(s, "^\\circ", "");
  replace_all(s, "\u00b0", "");
  replace_all(s, "\\%", "%");
  replace_all(s, "\u2264", "\\leq ");
  replace_all(s, "\u2265", "\\geq ");
  replace_all(s, "\u2212", "-");
  unwrap_text_commands(s);
  trim(s);
  while (!s.empty() && s.back() == '.') s.pop_back();
  strip_trailing_units(s);
  trim(s);
  if (!s.empty()) drop_thousands_separators(s);
  return s;
}

}  // namespace aha::rewards
