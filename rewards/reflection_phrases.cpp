// Reflection phrase counting.
#include "rewards/reflection_phrases.hpp"

#include <algorithm>
#include <cctype>

namespace aha::rewards {

namespace {

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// The length of the match of `phrase` at text[at], or 0.
std::size_t match_at(std::string_view text, std::size_t at, std::string_view phrase) {
  std::size_t i = at;
  for (std::size_t p = 0; p < phrase.size(); ++p) {
    if (phrase[p] == ' ') {
      if (i >= text.size() || !is_space(text[i])) return 0;
      while (i < text.size() && is_space(text[i])) ++i;
      continue;
    }
    if (i >= text.size() || lower(text[i]) != phrase[p]) return 0;
    ++i;
  }
  return i - at;
}

}  // namespace

ReflectionPhrases::ReflectionPhrases(std::vector<std::string> phrases) : phrases_(std::move(phrases)) {
  for (auto& phrase : phrases_) std::transform(phrase.begin(), phrase.end(), phrase.begin(), lower);
  std::erase_if(phrases_, [](const std::string& p) { return p.empty(); });
}

std::int64_t ReflectionPhrases::count(std::string_view text) const {
  std::int64_t total = 0;
  for (const std::string& phrase : phrases_) {
    const bool bounded_start = is_word_char(phrase.front()), bounded_end = is_word_char(phrase.back());
    for (std::size_t at = 0; at < text.size();) {
      const std::size_t length = match_at(text, at, phrase);
      const bool starts_word = !bounded_start || at == 0 || !is_word_char(text[at - 1]);
      const bool ends_word = !bounded_end || at + length >= text.size() || !is_word_char(text[at + length]);
      if (length > 0 && starts_word && ends_word) {
        ++total;
        at += length;
      } else {
        ++at;
      }
    }
  }
  return total;
}

}  // namespace aha::rewards
