// The one place each config key is declared. A section's bind() function names every key with
// its type, default, allowed values and meaning; the TOML reader, the resolved-config writer and
// the docs generator are Binders that walk those same calls.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace aha::config {

struct Key {
  std::string_view name;
  std::string_view doc;
};

struct IntRange {
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
};

struct NumberRange {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  bool max_exclusive = false;
};

// A rule on a string value beyond its type: `validate` returns an empty string when the value is
// fine, else what is wrong with it; `summary` is what the docs show in the "allowed" column.
struct TextRule {
  std::function<std::string(const std::string&)> validate;
  std::string_view summary;
};

// One alternative of a table whose keys depend on a selector key (a [[reward]] entry's `rule`).
struct Case {
  std::string_view name;
  std::string_view doc;
  std::function<void(class Binder&)> bind;
};

class Binder {
 public:
  virtual ~Binder() = default;

  template <std::integral T>
  void integer(Key key, T& value, T fallback, IntRange range = {}) {
    std::int64_t wide = value;
    bind_integer(key, wide, fallback, range);
    value = static_cast<T>(wide);
  }
  void number(Key key, double& value, double fallback, NumberRange range = {}) {
    bind_number(key, value, fallback, range);
  }
  void boolean(Key key, bool& value, bool fallback) { bind_boolean(key, value, fallback); }
  // A string; no fallback means the key is required.
  void text(Key key, std::string& value, std::optional<std::string> fallback, TextRule rule = {}) {
    bind_text(key, value, fallback, rule);
  }
  void texts(Key key, std::vector<std::string>& value, std::vector<std::string> fallback) {
    bind_texts(key, value, fallback);
  }
  // One of a fixed set of names, stored as an enum; no fallback means required. Returns the name chosen, or "" when the
  // value is missing or not one of the names (the reader has then recorded the problem).
  template <class Enum, std::size_t N>
  std::string choice(Key key, Enum& value, std::type_identity_t<std::optional<Enum>> fallback,
                     const std::array<std::pair<Enum, std::string_view>, N>& names) {
    std::vector<std::string_view> choices;
    std::string_view current, fallback_name;
    for (const auto& [item, name] : names) {
      choices.push_back(name);
      if (item == value) current = name;
      if (fallback && item == *fallback) fallback_name = name;
    }
    std::string selected(current);
    bind_choice(key, selected, fallback_name, choices);
    for (const auto& [item, name] : names)
      if (name == selected) value = item;
    return selected;
  }
  // Keys that depend on the value of a selector key bound just before (a [[reward]] entry's rule).
  virtual void cases(std::string_view selector, const std::string& selected, std::span<const Case> cases) = 0;

 protected:
  virtual void bind_integer(Key key, std::int64_t& value, std::int64_t fallback, IntRange range) = 0;
  virtual void bind_number(Key key, double& value, double fallback, NumberRange range) = 0;
  virtual void bind_boolean(Key key, bool& value, bool fallback) = 0;
  virtual void bind_text(Key key, std::string& value, const std::optional<std::string>& fallback,
                         const TextRule& rule) = 0;
  virtual void bind_texts(Key key, std::vector<std::string>& value, const std::vector<std::string>& fallback) = 0;
  virtual void bind_choice(Key key, std::string& value, std::string_view fallback,
                           std::span<const std::string_view> choices) = 0;
};

// Makes `holder` hold alternative T (default-constructed) unless it already does; returns it.
template <class T, class... Ts>
T& ensure_alternative(std::variant<Ts...>& holder) {
  if (!std::holds_alternative<T>(holder)) holder = T{};
  return std::get<T>(holder);
}

// Text shared by the binders: "2 … 1024", "(0, 1]" and the like.
std::string describe(const IntRange& range);
std::string describe(const NumberRange& range);
// A double as TOML writes it: shortest round-trip form, always with a '.' or an exponent.
std::string format_number(double value);
// A string as a TOML basic string, quoted and escaped.
std::string quote(std::string_view text);

}  // namespace aha::config
