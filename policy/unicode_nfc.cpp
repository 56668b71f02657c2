// NFC over generated Unicode tables (policy/unicode_nfc_tables.inc) plus arithmetic Hangul.
#include "policy/unicode_nfc.hpp"

#include <algorithm>
#include <cstdint>

namespace aha::policy {

namespace {

struct CombiningClass {
  char32_t cp;
  uint8_t ccc;
};
struct Decomposition {
  char32_t cp, first, second;
};
struct Composition {
  char32_t first, second, composite;
};

#include "policy/unicode_nfc_tables.inc"

constexpr char32_t hangul_s = 0xAC00, hangul_l = 0x1100, hangul_v = 0x1161, hangul_t = 0x11A7;
constexpr int hangul_l_count = 19, hangul_v_count = 21, hangul_t_count = 28;
constexpr int hangul_n = hangul_v_count * hangul_t_count, hangul_s_count = hangul_l_count * hangul_n;

uint8_t combining_class(char32_t cp) {
  const auto* end = std::end(combining_classes);
  const auto* it = std::lower_bound(std::begin(combining_classes), end, cp,
                                    [](const CombiningClass& c, char32_t v) { return c.cp < v; });
  return it != end && it->cp == cp ? it->ccc : 0;
}

void decompose(char32_t cp, std::vector<char32_t>& out) {
  if (cp >= hangul_s && cp < hangul_s + hangul_s_count) {
    const char32_t index = cp - hangul_s;
    out.push_back(hangul_l + index / hangul_n);
    out.push_back(hangul_v + (index % hangul_n) / hangul_t_count);
    if (index % hangul_t_count) out.push_back(hangul_t + index % hangul_t_count);
    return;
  }
  const auto* end = std::end(canonical_decompositions);
  const auto* it = std::lower_bound(std::begin(canonical_decompositions), end, cp,
                                    [](const Decomposition& d, char32_t v) { return d.cp < v; });
  if (it == end || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  decompose(it->first, out);
  if (it->second) decompose(it->second, out);
}

char32_t compose_pair(char32_t first, char32_t second) {
  if (first >= hangul_l && first < hangul_l + hangul_l_count && second >= hangul_v &&
      second < hangul_v + hangul_v_count)
    return hangul_s + ((first - hangul_l) * hangul_v_count + (second - hangul_v)) * hangul_t_count;
  if (first >= hangul_s && first < hangul_s + hangul_s_count && (first - hangul_s) % hangul_t_count == 0 &&
      second > hangul_t && second < hangul_t + hangul_t_count)
    return first + (second - hangul_t);
  const auto* end = std::end(primary_composites);
  const auto* it = std::lower_bound(std::begin(primary_composites), end, std::pair{first, second},
                                    [](const Composition& c, const std::pair<char32_t, char32_t>& v) {
                                      return std::pair{c.first, c.second} < v;
                                    });
  return it != end && it->first == first && it->second == second ? it->composite : 0;
}

}  // namespace

std::vector<char32_t> utf8_to_code_points(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      out.push_back(lead);
      ++i;
      continue;
    }
    // The length a lead byte announces, and the range its second byte must fall in (the tighter ranges
    // after E0, ED, F0 and F4 exclude overlong forms, surrogates and code points above U+10FFFF).
    const int length = lead >= 0xC2 && lead <= 0xDF   ? 2
                       : lead >= 0xE0 && lead <= 0xEF ? 3
                       : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                      : 0;
    const unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
    char32_t cp = lead & (0x7F >> length);
    int used = 1;
    for (; length > 0 && used < length && i + used < text.size(); ++used) {
      const auto c = static_cast<unsigned char>(text[i + used]);
      if (c < (used == 1 ? low : 0x80) || c > (used == 1 ? high : 0xBF)) break;
      cp = (cp << 6) | (c & 0x3F);
    }
    // A broken sequence becomes one U+FFFD for its longest valid prefix (its "maximal subpart").
    out.push_back(length > 0 && used == length ? cp : 0xFFFD);
    i += static_cast<std::size_t>(used);
  }
  return out;
}

std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const char32_t cp : utf8_to_code_points(bytes)) append_utf8(out, cp);
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string nfc(std::string_view text) {
  const std::vector<char32_t> input = utf8_to_code_points(text);
  // Below U+0300 (where combining marks begin) every string is already in NFC.
  if (std::all_of(input.begin(), input.end(), [](char32_t cp) { return cp < 0x300; })) return valid_utf8(text);
  std::vector<char32_t> d;
  for (const char32_t cp : input) decompose(cp, d);
  // Canonical ordering: stable-sort each run of non-starters by combining class.
  for (std::size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j,
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // Canonical composition: a mark joins the last starter unless a character between them has
  // class 0 or a class at least its own (it is "blocked").
  std::vector<char32_t> out;
  std::ptrdiff_t starter = -1;
  int last_class = 0;  // class of the last character kept after the starter
  for (const char32_t cp : d) {
    const int cls = combining_class(cp);
    if (starter >= 0) {
      const bool adjacent = out.size() == static_cast<std::size_t>(starter) + 1;
      if (adjacent || last_class < cls) {
        if (const char32_t composite = compose_pair(out[starter], cp)) {
          out[starter] = composite;
          continue;
        }
      }
    }
    if (cls == 0) starter = static_cast<std::ptrdiff_t>(out.size());
    last_class = cls;
    out.push_back(cp);
  }
  std::string result;
  for (const char32_t cp : out) append_utf8(result, cp);
  return result;
}

}  // namespace aha::policy
