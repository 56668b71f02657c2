// Unicode script blocks and UTF-8 decoding.
#include "rewards/unicode_script.hpp"

#include <array>

namespace aha::rewards {

namespace {

struct Block {
  char32_t first, last;
  Script script;
};

constexpr std::array<Block, 24> blocks{{
    {U'A', U'Z', Script::latin},       {U'a', U'z', Script::latin},        {0x00C0, 0x00D6, Script::latin},
    {0x00D8, 0x00F6, Script::latin},   {0x00F8, 0x024F, Script::latin},    {0x1E00, 0x1EFF, Script::latin},
    {0x0370, 0x03FF, Script::greek},   {0x0400, 0x052F, Script::cyrillic}, {0x0530, 0x058F, Script::armenian},
    {0x0590, 0x05FF, Script::hebrew},  {0x0600, 0x06FF, Script::arabic},   {0x0900, 0x097F, Script::devanagari},
    {0x0980, 0x09FF, Script::bengali}, {0x0E00, 0x0E7F, Script::thai},     {0x1100, 0x11FF, Script::hangul},
    {0x3130, 0x318F, Script::hangul},  {0xAC00, 0xD7AF, Script::hangul},   {0x3040, 0x30FF, Script::kana},
    {0x3400, 0x4DBF, Script::han},     {0x4E00, 0x9FFF, Script::han},      {0xF900, 0xFAFF, Script::han},
    {0x20000, 0x2A6DF, Script::han},   {0x2A700, 0x2EBEF, Script::han},    {0x30000, 0x3134F, Script::han},
}};

constexpr std::array<std::string_view, 13> names{"none",   "latin",  "greek",      "cyrillic", "armenian",
                                                 "hebrew", "arabic", "devanagari", "bengali",  "thai",
                                                 "hangul", "kana",   "han"};

}  // namespace

std::string_view script_name(Script script) { return names[static_cast<std::size_t>(script)]; }

Script script_of(char32_t c) {
  for (const Block& b : blocks)
    if (c >= b.first && c <= b.last) return b.script;
  return Script::none;
}

std::vector<char32_t> decode_utf8(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const int extra = byte < 0x80 ? 0 : (byte >> 5) == 0x6 ? 1 : (byte >> 4) == 0xE ? 2 : (byte >> 3) == 0x1E ? 3 : -1;
    char32_t c = extra == 0 ? byte : extra == 1 ? byte & 0x1F : extra == 2 ? byte & 0x0F : byte & 0x07;
    bool valid = extra >= 0 && i + static_cast<std::size_t>(extra) < text.size();
    for (int k = 1; valid && k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      valid = (next & 0xC0) == 0x80;
      c = (c << 6) | (next & 0x3F);
    }
    out.push_back(valid ? c : 0xFFFD);
    i += valid ? static_cast<std::size_t>(extra) + 1 : 1;
  }
  return out;
}

}  // namespace aha::rewards
