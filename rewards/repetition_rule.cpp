// The repetition rule and its keys.
#include "rewards/repetition_rule.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_set>
#include <vector>

namespace aha::rewards {

void bind_keys(config::Binder& b, RepetitionKeys& keys) {
  b.integer({"ngram", "length of the repeated n-grams counted"}, keys.ngram, 3, {1, 64});
  b.number({"max_penalty", "score of a completion made only of repeats"}, keys.max_penalty, -1.0, {-1e9, 0.0});
}

RuleOutcome RepetitionRule::score(const CompletionRecord& record) const {
  std::vector<std::string> words;
  std::string word;
  for (const char c : record.completion + " ") {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  const auto n = static_cast<std::size_t>(keys_.ngram);
  if (words.size() < n) return {0.0, {{"repeated_ngram_share", 0.0}}};
  std::unordered_set<std::string> distinct;
  const std::size_t total = words.size() - n + 1;
  for (std::size_t i = 0; i < total; ++i) {
    std::string gram;
    for (std::size_t k = 0; k < n; ++k) gram.append(words[i + k]).push_back('\x1f');
    distinct.insert(std::move(gram));
  }
  const double repeated = 1.0 - static_cast<double>(distinct.size()) / static_cast<double>(total);
  return {repeated * keys_.max_penalty, {{"repeated_ngram_share", repeated}}};
}

}  // namespace aha::rewards
