// The added tokens of a tokenizer.json (special tokens among them) and the splitting of text at
// their occurrences, with the matching rules of the tokenizers library's AddedVocabulary.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aha::policy {

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool lstrip = false;       // the match takes the whitespace before it
  bool rstrip = false;       // the match takes the whitespace after it
  bool single_word = false;  // matches only where no letter or digit touches it
  bool normalized = false;   // matched in the normalised text (else in the raw text, before normalising)
  bool special = false;
};

// A stretch of text: an added token's id, or text between added tokens (a view into the input).
struct AddedTokenSplit {
  std::string_view text;
  std::optional<int64_t> id;
};

// Finds a set of added tokens in text: leftmost match first, the longest at that position, never
// overlapping (as Aho-Corasick's leftmost-longest search); a single_word match with a letter or
// digit beside it is dropped; lstrip and rstrip widen a match over Unicode whitespace.
class AddedTokenSplitter {
 public:
  // Each token is looked for by its `content`; empty contents are ignored.
  explicit AddedTokenSplitter(std::vector<AddedToken> tokens);
  std::vector<AddedTokenSplit> split(std::string_view text) const;

 private:
  struct Match {
    std::size_t begin, end;
    const AddedToken* token;
  };
  std::optional<Match> find(std::string_view text, std::size_t from) const;

  std::vector<AddedToken> tokens_;
  std::array<std::vector<std::size_t>, 256> by_first_byte_;  // indices into tokens_, longest first
};

}  // namespace aha::policy
