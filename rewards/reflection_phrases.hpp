// Counting reflection phrases ("wait", "let me verify", "等等") in a text: case-insensitive for
// ASCII, at word boundaries for phrases that begin or end with a letter or digit ("await" is not
// "wait"), a space in a phrase matching any run of whitespace, CJK phrases matched as they are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aha::rewards {

class ReflectionPhrases {
 public:
  explicit ReflectionPhrases(std::vector<std::string> phrases);
  // Occurrences of every phrase, added up (each phrase's occurrences do not overlap).
  std::int64_t count(std::string_view text) const;

 private:
  std::vector<std::string> phrases_;  // lowercased
};

}  // namespace aha::rewards
