// AddedTokenSplitter: the scan of tokenizers' AddedVocabulary::find_matches, with Unicode
// whitespace and alphanumerics (Rust's char::is_whitespace and char::is_alphanumeric) from PCRE2.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "policy/added_tokens.hpp"

#include <fmt/format.h>
#include <pcre2.h>

#include <algorithm>

#include "core/error.hpp"

namespace aha::policy {

namespace {

// Whether the one character `ch` (UTF-8) matches a Unicode property class.
class CharacterClass {
 public:
  explicit CharacterClass(const char* pattern) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &error,
                          &offset, nullptr);
    if (!code_)
      throw Error(fmt::format("PCRE2 cannot compile {} (Unicode binary properties need PCRE2 10.40)", pattern));
  }
  CharacterClass(const CharacterClass&) = delete;
  CharacterClass& operator=(const CharacterClass&) = delete;
  ~CharacterClass() { pcre2_code_free(code_); }

  bool contains(std::string_view ch) const {
    if (ch.empty()) return false;
    pcre2_match_data* match = pcre2_match_data_create(1, nullptr);
    const int rc =
        pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(ch.data()), ch.size(), 0, PCRE2_ANCHORED, match, nullptr);
    pcre2_match_data_free(match);
    return rc > 0;
  }

 private:
  pcre2_code* code_ = nullptr;
};

const CharacterClass& whitespace() {
  static const CharacterClass c(R"(\p{White_Space})");
  return c;
}
const CharacterClass& alphanumeric() {
  static const CharacterClass c(R"([\p{Alphabetic}\p{N}])");
  return c;
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string_view first_char(std::string_view text) {
  std::size_t length = text.empty() ? 0 : 1;
  while (length < text.size() && is_continuation(text[length])) ++length;
  return text.substr(0, length);
}

std::string_view last_char(std::string_view text) {
  std::size_t begin = text.size();
  while (begin > 0) {
    --begin;
    if (!is_continuation(text[begin])) break;
  }
  return text.substr(begin);
}

// Where the whitespace that ends `text` begins.
std::size_t trailing_whitespace_begin(std::string_view text) {
  while (!text.empty() && whitespace().contains(last_char(text))) text.remove_suffix(last_char(text).size());
  return text.size();
}

// How many bytes of whitespace begin `text`.
std::size_t leading_whitespace_size(std::string_view text) {
  std::size_t size = 0;
  for (auto ch = first_char(text); whitespace().contains(ch); ch = first_char(text.substr(size))) size += ch.size();
  return size;
}

}  // namespace

AddedTokenSplitter::AddedTokenSplitter(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  for (std::size_t i = 0; i < tokens_.size(); ++i)
    if (!tokens_[i].content.empty()) by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
  for (auto& bucket : by_first_byte_)
    std::stable_sort(bucket.begin(), bucket.end(), [&](std::size_t a, std::size_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
}

std::optional<AddedTokenSplitter::Match> AddedTokenSplitter::find(std::string_view text, std::size_t from) const {
  for (std::size_t i = from; i < text.size(); ++i)
    for (const std::size_t index : by_first_byte_[static_cast<unsigned char>(text[i])])
      if (text.substr(i).starts_with(tokens_[index].content))
        return Match{i, i + tokens_[index].content.size(), &tokens_[index]};
  return std::nullopt;
}

std::vector<AddedTokenSplit> AddedTokenSplitter::split(std::string_view text) const {
  std::vector<AddedTokenSplit> out;
  std::size_t done = 0;  // end of the last match taken, rstrip included
  for (auto match = find(text, 0); match; match = find(text, match->end)) {
    std::size_t begin = match->begin, end = match->end;
    const AddedToken& token = *match->token;
    if (token.single_word && (alphanumeric().contains(last_char(text.substr(0, begin))) ||
                              alphanumeric().contains(first_char(text.substr(end)))))
      continue;
    if (token.lstrip) begin = std::max(trailing_whitespace_begin(text.substr(0, begin)), done);
    if (token.rstrip) end += leading_whitespace_size(text.substr(end));
    if (done < begin) out.push_back({text.substr(done, begin - done), std::nullopt});
    out.push_back({text.substr(begin, end - begin), token.id});
    done = end;
  }
  if (done < text.size()) out.push_back({text.substr(done), std::nullopt});
  return out;
}

}  // namespace aha::policy
