// RegexSplit over PCRE2, and the byte <-> unicode tables of the ByteLevel step.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "policy/pre_tokenizer.hpp"

#include <fmt/format.h>
#include <pcre2.h>

#include <array>

#include "core/error.hpp"
#include "policy/unicode_nfc.hpp"

namespace aha::policy {

const char* const gpt2_split_pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct RegexSplit::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

RegexSplit::RegexSplit(const std::string& pattern, Behavior behavior)
    : compiled_(std::make_unique<Compiled>()), behavior_(behavior) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
  if (!compiled_->code) {
    std::array<PCRE2_UCHAR, 256> message{};
    pcre2_get_error_message(error, message.data(), message.size());
    throw Error(fmt::format("pre-tokenizer regex does not compile at offset {}: {}", offset,
                            reinterpret_cast<const char*>(message.data())));
  }
  pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
}

RegexSplit::RegexSplit(RegexSplit&&) noexcept = default;
RegexSplit::~RegexSplit() = default;

std::vector<std::string_view> RegexSplit::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(compiled_->code, nullptr);
  std::size_t start = 0, gap = 0;
  while (start <= text.size()) {
    const int rc = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                               PCRE2_NO_UTF_CHECK, match, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
    const std::size_t begin = ovector[0], end = ovector[1];
    if (end == begin) {  // an empty match: move on by one character
      start = end + 1;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
      continue;
    }
    if (begin > gap) pieces.push_back(text.substr(gap, begin - gap));
    if (behavior_ == Behavior::isolated) pieces.push_back(text.substr(begin, end - begin));
    gap = start = end;
  }
  pcre2_match_data_free(match);
  if (gap < text.size()) pieces.push_back(text.substr(gap));
  return pieces;
}

namespace {

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards.
const std::array<char32_t, 256>& byte_to_char() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

}  // namespace

std::string bytes_to_unicode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char b : bytes) append_utf8(out, byte_to_char()[static_cast<unsigned char>(b)]);
  return out;
}

bool unicode_to_bytes(std::string_view text, std::string& out) {
  static const std::array<int, 512> inverse = [] {
    std::array<int, 512> t{};
    t.fill(-1);
    for (int b = 0; b < 256; ++b) t[byte_to_char()[b]] = b;
    return t;
  }();
  for (const char32_t cp : utf8_to_code_points(text)) {
    if (cp >= inverse.size() || inverse[cp] < 0) return false;
    out += static_cast<char>(inverse[cp]);
  }
  return true;
}

}  // namespace aha::policy
