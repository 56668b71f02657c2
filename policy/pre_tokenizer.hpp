// Pre-tokenization of the byte-level BPE tokenizers: regex splitting through PCRE2 (UTF, Unicode
// properties, JIT) and the GPT-2 byte-to-unicode mapping.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aha::policy {

// Splits text at the matches of a pattern. Isolated keeps matches and the text between them as
// pieces; removed drops the matches.
class RegexSplit {
 public:
  enum class Behavior { isolated, removed };
  // Throws aha::Error with PCRE2's message when the pattern does not compile.
  RegexSplit(const std::string& pattern, Behavior behavior);
  RegexSplit(RegexSplit&&) noexcept;
  ~RegexSplit();
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  Behavior behavior_;
};

// The GPT-2 regex ByteLevel uses when its use_regex is true.
extern const char* const gpt2_split_pattern;

// Each byte as the printable character GPT-2's bytes_to_unicode assigns it, in UTF-8.
std::string bytes_to_unicode(std::string_view bytes);
// The inverse, appending the bytes to `out`; false when a character is not in the mapping.
bool unicode_to_bytes(std::string_view text, std::string& out);

}  // namespace aha::policy
