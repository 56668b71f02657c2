// Pre-tokenization of the byte-level BPE tokenizers: regex splitting through PCRE2 (UTF, Unicode
// properties, JIT) and the GPT-2 byte-to-unicode mapping.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aha::policy {

// Splits text at the matches of a pattern, as the Split pre-tokenizer of tokenizers does: isolated
// keeps matches and the text between them as pieces, removed drops the matches, merged_with_previous
// (next) joins each match to the piece before (after) it, contiguous joins runs of matches. With
// `invert`, the text between matches plays the part of the matches. Empty pieces are dropped.
class RegexSplit {
 public:
  enum class Behavior { isolated, removed, merged_with_previous, merged_with_next, contiguous };
  // Throws aha::Error with PCRE2's message when the pattern does not compile.
  RegexSplit(const std::string& pattern, Behavior behavior, bool invert = false);
  RegexSplit(RegexSplit&&) noexcept;
  ~RegexSplit();
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Compiled;
  struct Stretch {
    std::size_t begin, end;
    bool is_match;
  };
  std::vector<Stretch> stretches(std::string_view text) const;

  std::unique_ptr<Compiled> compiled_;
  Behavior behavior_;
  bool invert_;
};

// The GPT-2 regex ByteLevel uses when its use_regex is true.
extern const char* const gpt2_split_pattern;

// A pattern that matches `literal` as it is (for a Split whose pattern is a String).
std::string escape_regex(std::string_view literal);

// Each byte as the printable character GPT-2's bytes_to_unicode assigns it, in UTF-8.
std::string bytes_to_unicode(std::string_view bytes);
// The inverse, appending the bytes to `out`; false when a character is not in the mapping.
bool unicode_to_bytes(std::string_view text, std::string& out);

}  // namespace aha::policy
