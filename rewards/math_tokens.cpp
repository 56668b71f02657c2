// Tokenizer of math answers.
#include "rewards/math_tokens.hpp"

#include <fmt/format.h>

#include <cctype>

#include "core/error.hpp"

namespace aha::rewards {

namespace {
bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
}  // namespace

std::vector<MathToken> tokenize_math(std::string_view text, std::size_t max_chars) {
  if (text.size() > max_chars)
    throw Error(
        fmt::format("a math answer of {} characters is longer than the {} the parser reads", text.size(), max_chars));
  std::vector<MathToken> tokens;
  bool space = false;
  bool single_digits = false;  // right after \frac, \sqrt or ^
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      ++i;
      continue;
    }
    MathToken token;
    token.space_before = space;
    space = false;
    std::size_t end = i + 1;
    if (is_digit(c) || (c == '.' && i + 1 < text.size() && is_digit(text[i + 1]))) {
      token.kind = MathToken::Kind::number;
      if (!single_digits) {
        bool point = c == '.';
        while (end < text.size() && (is_digit(text[end]) || (!point && text[end] == '.' && end + 1 < text.size() &&
                                                             is_digit(text[end + 1])))) {
          point = point || text[end] == '.';
          ++end;
        }
      }
    } else if (is_letter(c)) {
      token.kind = MathToken::Kind::word;
      while (end < text.size() && is_letter(text[end])) ++end;
    } else if (c == '\\' && i + 1 < text.size()) {
      token.kind = MathToken::Kind::command;
      end = i + 2;
      if (is_letter(text[i + 1]))
        while (end < text.size() && is_letter(text[end])) ++end;
    } else {
      token.kind = MathToken::Kind::symbol;
      if (static_cast<unsigned char>(c) >= 0x80)  // one UTF-8 character
        while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    }
    token.text = std::string(text.substr(i, end - i));
    single_digits =
        token.text == "\\frac" || token.text == "\\sqrt" || token.text == "^" ||
        (single_digits && token.kind == MathToken::Kind::number && !tokens.empty() && tokens.back().text == "\\frac");
    tokens.push_back(std::move(token));
    i = end;
  }
  tokens.push_back(MathToken{});
  return tokens;
}

}  // namespace aha::rewards
