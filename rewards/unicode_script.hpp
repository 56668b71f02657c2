// The writing system of a Unicode letter (Latin, Han, Cyrillic, …) for the language rule, and a
// lenient UTF-8 decoder (an invalid byte counts as one code point U+FFFD).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace aha::rewards {

enum class Script {
  none,
  latin,
  greek,
  cyrillic,
  armenian,
  hebrew,
  arabic,
  devanagari,
  bengali,
  thai,
  hangul,
  kana,
  han
};

// The script names as the language rule reports them ("latin", "han", …); index by Script.
std::string_view script_name(Script script);

// The script of a letter; Script::none for digits, punctuation, spaces, symbols and unknown blocks.
Script script_of(char32_t code_point);

std::vector<char32_t> decode_utf8(std::string_view text);

}  // namespace aha::rewards
