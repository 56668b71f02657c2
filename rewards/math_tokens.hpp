// The tokens of a normalised math answer: numbers, words (letters), LaTeX commands and single
// characters. After \frac, \sqrt and '^' digits come one per token, as LaTeX reads \frac12 and 2^10.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aha::rewards {

struct MathToken {
  enum class Kind { number, word, command, symbol, end };
  Kind kind = Kind::end;
  std::string text;           // "12.5", "x", "\frac", "(" ...
  bool space_before = false;  // whitespace separated it from the token before
};

// Throws Error on an answer longer than max_chars (the verifier then compares text only).
std::vector<MathToken> tokenize_math(std::string_view text, std::size_t max_chars = 2000);

}  // namespace aha::rewards
