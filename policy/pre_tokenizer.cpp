// RegexSplit over PCRE2, and the byte <-> unicode tables of the ByteLevel step.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "policy/pre_tokenizer.hpp"

#include <fmt/format.h>
#include <pcre2.h>

#include <algorithm>
#include <array>

#include "core/error.hpp"
#include "policy/unicode_nfc.hpp"

namespace aha::policy {

const char* const gpt2_split_pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct RegexSplit::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

RegexSplit::RegexSplit(const std::string& pattern, Behavior behavior, bool invert)
    : compiled_(std::make_unique<Compiled>()), behavior_(behavior), invert_(invert) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                                  &error, &offset, nullptr);
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

// The matches and the text between them, in order. Like the Oniguruma iteration tokenizers uses,
// an empty match right where the previous match ended is skipped by moving on one character.
std::vector<RegexSplit::Stretch> RegexSplit::stretches(std::string_view text) const {
  std::vector<Stretch> out;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(compiled_->code, nullptr), &pcre2_match_data_free);
  std::size_t search_from = 0, previous_end = 0;
  bool matched_before = false;
  while (search_from <= text.size()) {
    const int rc = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), search_from,
                               PCRE2_NO_UTF_CHECK, match.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      std::array<PCRE2_UCHAR, 256> message{};
      pcre2_get_error_message(rc, message.data(), message.size());
      throw Error(fmt::format("pre-tokenizer regex failed: {}", reinterpret_cast<const char*>(message.data())));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    const std::size_t begin = ovector[0], end = ovector[1];
    if (begin == end && matched_before && end == previous_end) {
      ++search_from;
      while (search_from < text.size() && (static_cast<unsigned char>(text[search_from]) & 0xC0) == 0x80) ++search_from;
      continue;
    }
    if (begin != previous_end) out.push_back({previous_end, begin, false});
    out.push_back({begin, end, true});
    search_from = previous_end = end;
    matched_before = true;
  }
  if (previous_end != text.size()) out.push_back({previous_end, text.size(), false});
  if (invert_)
    for (auto& stretch : out) stretch.is_match = !stretch.is_match;
  return out;
}

std::vector<std::string_view> RegexSplit::split(std::string_view text) const {
  std::vector<Stretch> pieces;
  bool previous_match = false;
  const auto all = stretches(text);
  switch (behavior_) {
    case Behavior::isolated:
    case Behavior::removed: pieces = all; break;
    case Behavior::contiguous:
      for (const Stretch& s : all) {
        if (!pieces.empty() && s.is_match == previous_match) pieces.back().end = s.end;
        else pieces.push_back(s);
        previous_match = s.is_match;
      }
      break;
    case Behavior::merged_with_previous:
      for (const Stretch& s : all) {
        if (!pieces.empty() && s.is_match && !previous_match) pieces.back().end = s.end;
        else pieces.push_back(s);
        previous_match = s.is_match;
      }
      break;
    case Behavior::merged_with_next:
      for (auto s = all.rbegin(); s != all.rend(); ++s) {
        if (!pieces.empty() && s->is_match && !previous_match) pieces.back().begin = s->begin;
        else pieces.push_back(*s);
        previous_match = s->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
  }
  std::vector<std::string_view> out;
  for (const Stretch& s : pieces)
    if (s.end > s.begin && !(behavior_ == Behavior::removed && s.is_match))
      out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

std::string escape_regex(std::string_view literal) {
  std::string out;
  for (const char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}-#/ ").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
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
