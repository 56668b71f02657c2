// How config values and ranges are written, shared by the reader's messages, the writer and the docs.
#include <fmt/format.h>

#include <cmath>

#include "core/config_binder.hpp"

namespace aha::config {

std::string format_number(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

std::string describe(const IntRange& range) {
  constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
  constexpr auto highest = std::numeric_limits<std::int64_t>::max();
  if (range.min == lowest && range.max == highest) return "any";
  if (range.max == highest) return fmt::format(">= {}", range.min);
  if (range.min == lowest) return fmt::format("<= {}", range.max);
  return fmt::format("{} to {}", range.min, range.max);
}

std::string describe(const NumberRange& range) {
  const bool low = std::isfinite(range.min), high = std::isfinite(range.max);
  if (!low && !high) return "any finite number";
  if (!high) return fmt::format("{} {}", range.min_exclusive ? ">" : ">=", format_number(range.min));
  if (!low) return fmt::format("{} {}", range.max_exclusive ? "<" : "<=", format_number(range.max));
  return fmt::format("{}{}, {}{}", range.min_exclusive ? "(" : "[", format_number(range.min), format_number(range.max),
                     range.max_exclusive ? ")" : "]");
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += fmt::format("\\u{:04X}", static_cast<int>(c));
        else out += c;
    }
  }
  return out + "\"";
}

}  // namespace aha::config
