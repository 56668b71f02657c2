// ConfigReader: TOML++ parsing, overrides, and the Binder that checks each key as it is read.
#include "core/config_reader.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "core/did_you_mean.hpp"
#include "core/error.hpp"

namespace aha::config {

namespace {

// "file:line:col", or the `--set ...` text for a value that came from the command line.
std::string where(const toml::source_region& region, const std::string& fallback) {
  if (!region.path) return fallback;
  if (region.path->starts_with("--set")) return *region.path;
  return fmt::format("{}:{}:{}", *region.path, region.begin.line, region.begin.column);
}

std::string show(const toml::node& node) {
  std::string text;
  if (node.is_string()) {
    text = quote(node.as_string()->get());
  } else {
    std::ostringstream out;
    node.visit([&](auto&& value) { out << value; });
    text = out.str();
  }
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::string: return "a string";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

std::string join(std::span<const std::string_view> items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + std::string(items[i]);
  return out;
}

}  // namespace

struct ConfigReader::State {
  toml::table root;
  std::string source_name;
  std::vector<std::string> problems;
  std::set<std::string, std::less<>> known_sections;
  std::map<std::string, std::set<std::string>, std::less<>> known_keys;  // by section name
  struct Unknown {
    std::string section, display, key, location;
  };
  std::vector<Unknown> unknown_keys;
  std::vector<std::pair<std::string, std::string>> aliases;

  void problem(std::string location, std::string message) {
    problems.push_back(fmt::format("{}: {}", location, message));
  }
};

namespace {

// Binds the keys of one TOML table (a section, or one entry of an array of tables).
class TableReader final : public Binder {
 public:
  TableReader(const toml::table* table, std::string section, std::string display, ConfigReader::State& state)
      : table_(table), section_(std::move(section)), display_(std::move(display)), state_(state) {
    location_ = table_ ? where(table_->source(), state_.source_name) : state_.source_name;
  }

  void cases(std::string_view selector, const std::string& selected, std::span<const Case> cases) override {
    for (const auto& item : cases) {
      if (item.name == selected) {
        item.bind(*this);
        return;
      }
    }
    unknown_keys_unreliable_ = true;  // no valid selector: the other keys cannot be judged
  }

  // Records keys of the table that no bind call named.
  void collect_unknown_keys() {
    auto& known = state_.known_keys[section_];
    known.insert(bound_.begin(), bound_.end());
    if (!table_ || unknown_keys_unreliable_) return;
    for (auto&& [key, node] : *table_) {
      if (std::find(bound_.begin(), bound_.end(), key.str()) != bound_.end()) continue;
      const auto& region = key.source().path ? key.source() : node.source();
      state_.unknown_keys.push_back({section_, display_, std::string(key.str()), where(region, location_)});
    }
  }

  std::span<const std::string> bound() const { return bound_; }

 protected:
  void bind_integer(Key key, std::int64_t& value, std::int64_t fallback, IntRange range) override {
    value = fallback;
    const toml::node* node = find(key);
    if (!node) return;
    if (!node->is_integer()) return wrong_type(key, *node, "an integer");
    const std::int64_t v = node->as_integer()->get();
    if (v < range.min || v > range.max) return out_of_range(key, *node, describe(range));
    value = v;
  }

  void bind_number(Key key, double& value, double fallback, NumberRange range) override {
    value = fallback;
    const toml::node* node = find(key);
    if (!node) return;
    double v = 0;
    if (node->is_floating_point()) v = node->as_floating_point()->get();
    else if (node->is_integer()) v = static_cast<double>(node->as_integer()->get());
    else return wrong_type(key, *node, "a number");
    const bool below = range.min_exclusive ? v <= range.min : v < range.min;
    const bool above = range.max_exclusive ? v >= range.max : v > range.max;
    if (!std::isfinite(v) || below || above) return out_of_range(key, *node, describe(range));
    value = v;
  }

  void bind_boolean(Key key, bool& value, bool fallback) override {
    value = fallback;
    const toml::node* node = find(key);
    if (!node) return;
    if (!node->is_boolean()) return wrong_type(key, *node, "a boolean (true or false)");
    value = node->as_boolean()->get();
  }

  void bind_text(Key key, std::string& value, const std::optional<std::string>& fallback,
                 const TextRule& rule) override {
    value = fallback.value_or("");
    const toml::node* node = find(key);
    if (!node) {
      if (!fallback)
        state_.problem(location_,
                       fmt::format("[{}] is missing the required key '{}' ({})", display_, key.name, key.doc));
      return;
    }
    if (!node->is_string()) return wrong_type(key, *node, "a string");
    const std::string& v = node->as_string()->get();
    if (rule.validate) {
      if (std::string why = rule.validate(v); !why.empty())
        return state_.problem(where(node->source(), location_), fmt::format("{}.{}: {}", display_, key.name, why));
    }
    value = v;
  }

  void bind_texts(Key key, std::vector<std::string>& value, const std::vector<std::string>& fallback) override {
    value = fallback;
    const toml::node* node = find(key);
    if (!node) return;
    const toml::array* array = node->as_array();
    if (!array) return wrong_type(key, *node, "an array of strings");
    std::vector<std::string> items;
    for (const auto& element : *array) {
      if (!element.is_string()) return wrong_type(key, element, "an array of strings, but an element is");
      items.push_back(element.as_string()->get());
    }
    value = std::move(items);
  }

  void bind_choice(Key key, std::string& value, std::string_view fallback,
                   std::span<const std::string_view> choices) override {
    value = std::string(fallback);
    const toml::node* node = find(key);
    if (!node) {
      if (fallback.empty())
        state_.problem(location_, fmt::format("[{}] is missing the required key '{}' (one of: {})", display_, key.name,
                                              join(choices)));
      return;
    }
    if (!node->is_string()) return wrong_type(key, *node, fmt::format("a string, one of: {}", join(choices)));
    const std::string& v = node->as_string()->get();
    if (std::find(choices.begin(), choices.end(), v) != choices.end()) {
      value = v;
      return;
    }
    std::vector<std::string> names(choices.begin(), choices.end());
    std::string hint;
    if (auto near = closest_match(v, names)) hint = fmt::format("; did you mean \"{}\"?", *near);
    state_.problem(where(node->source(), location_), fmt::format("{}.{} = \"{}\" is not allowed (one of: {}){}",
                                                                 display_, key.name, v, join(choices), hint));
    value.clear();
  }

 private:
  const toml::node* find(Key key) {
    bound_.emplace_back(key.name);
    return table_ ? table_->get(key.name) : nullptr;
  }

  void wrong_type(Key key, const toml::node& node, std::string_view expected) {
    state_.problem(where(node.source(), location_), fmt::format("{}.{}: expected {}, got {} ({})", display_, key.name,
                                                                expected, type_name(node), show(node)));
  }

  void out_of_range(Key key, const toml::node& node, const std::string& allowed) {
    state_.problem(where(node.source(), location_),
                   fmt::format("{}.{} = {} is out of range (allowed: {})", display_, key.name, show(node), allowed));
  }

  const toml::table* table_;
  std::string section_, display_, location_;
  ConfigReader::State& state_;
  std::vector<std::string> bound_;
  bool unknown_keys_unreliable_ = false;
};

}  // namespace

ConfigReader::ConfigReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
ConfigReader::ConfigReader(ConfigReader&&) noexcept = default;
ConfigReader& ConfigReader::operator=(ConfigReader&&) noexcept = default;
ConfigReader::~ConfigReader() = default;

ConfigReader ConfigReader::from_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ConfigError(fmt::format("{}: cannot read the config file: {}", path.string(),
                                  std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  auto state = std::make_unique<State>();
  state->source_name = path.string();
  try {
    state->root = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}: TOML syntax error: {}", where(e.source(), state->source_name), e.description()));
  }
  return ConfigReader(std::move(state));
}

ConfigReader ConfigReader::from_string(std::string_view text, const std::string& source_name) {
  auto state = std::make_unique<State>();
  state->source_name = source_name;
  try {
    state->root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}: TOML syntax error: {}", where(e.source(), source_name), e.description()));
  }
  return ConfigReader(std::move(state));
}

bool ConfigReader::contains(std::string_view path) const { return static_cast<bool>(state_->root.at_path(path)); }

void ConfigReader::apply_override(std::string_view assignment) {
  const std::string origin = fmt::format("--set {}", assignment);
  const auto equals = assignment.find('=');
  if (equals == std::string_view::npos || equals == 0)
    throw UsageError(fmt::format("{}: expected section.key=value", origin));
  const std::string_view path = assignment.substr(0, equals), text = assignment.substr(equals + 1);

  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const auto dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  const bool has_empty = std::any_of(parts.begin(), parts.end(), [](const auto& p) { return p.empty(); });
  if (has_empty || parts.size() < 2 || parts.size() > 3)
    throw UsageError(fmt::format("{}: expected section.key=value or table.N.key=value", origin));

  toml::table parsed;
  try {
    parsed = toml::parse("value = " + std::string(text), origin);
  } catch (const toml::parse_error&) {
    parsed = toml::parse("value = " + quote(text), origin);  // a bare word: take it as a string
  }
  toml::node& value = *parsed.get("value");

  toml::table* target = nullptr;
  toml::node* section = state_->root.get(parts[0]);
  if (parts.size() == 2) {
    if (!section) section = &state_->root.insert(parts[0], toml::table{}).first->second;
    target = section->as_table();
    if (!target) throw ConfigError(fmt::format("{}: '{}' is not a [section] in the config", origin, parts[0]));
  } else {
    std::size_t index = 0;
    const auto [end, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), index);
    if (ec != std::errc{} || end != parts[1].data() + parts[1].size())
      throw UsageError(fmt::format("{}: '{}' is not an entry number", origin, parts[1]));
    toml::array* entries = section ? section->as_array() : nullptr;
    const std::size_t count = entries ? entries->size() : 0;
    if (index >= count)
      throw ConfigError(fmt::format("{}: the config has {} [[{}]] entr{}, numbered from 0", origin, count, parts[0],
                                    count == 1 ? "y" : "ies"));
    target = entries->get(index)->as_table();
    if (!target) throw ConfigError(fmt::format("{}: [[{}]] entry {} is not a table", origin, parts[0], index));
  }
  target->insert_or_assign(parts.back(), std::move(value));
}

void ConfigReader::section(std::string_view name, std::string_view, const std::function<void(Binder&)>& bind) {
  state_->known_sections.emplace(name);
  const toml::node* node = state_->root.get(name);
  const toml::table* table = node ? node->as_table() : nullptr;
  if (node && !table) {
    state_->problem(where(node->source(), state_->source_name),
                    fmt::format("'{}' must be a [{}] table, not {}", name, name, type_name(*node)));
  }
  TableReader reader(table, std::string(name), std::string(name), *state_);
  bind(reader);
  reader.collect_unknown_keys();
}

std::size_t ConfigReader::table_array_size(std::string_view name) {
  state_->known_sections.emplace(name);
  const toml::node* node = state_->root.get(name);
  if (!node) return 0;
  if (const toml::array* array = node->as_array(); array && array->is_array_of_tables()) return array->size();
  state_->problem(
      where(node->source(), state_->source_name),
      fmt::format("'{}' must be written as [[{}]] entries (an array of tables), not {}", name, name, type_name(*node)));
  return 0;
}

void ConfigReader::table_array_entry(std::string_view name, std::size_t index,
                                     const std::function<void(Binder&)>& bind) {
  const toml::table* table = state_->root.get(name)->as_array()->get(index)->as_table();
  TableReader reader(table, std::string(name), fmt::format("{}[{}]", name, index), *state_);
  bind(reader);
  reader.collect_unknown_keys();
}

void ConfigReader::set_aliases(std::vector<std::pair<std::string, std::string>> aliases) {
  state_->aliases = std::move(aliases);
}

void ConfigReader::add_problem(std::string_view section, std::string message) {
  const toml::node* node = state_->root.get(section);
  state_->problem(node ? where(node->source(), state_->source_name) : state_->source_name, std::move(message));
}

void ConfigReader::finish() {
  std::vector<std::string> sections(state_->known_sections.begin(), state_->known_sections.end());
  // A key placed in the wrong section: "did you mean [optim] lr?"
  auto elsewhere = [&](const std::string& key) -> std::string {
    for (const auto& [section, keys] : state_->known_keys)
      if (keys.contains(key)) return fmt::format("; did you mean '{}.{}'?", section, key);
    for (const auto& [alias, target] : state_->aliases)
      if (alias == key) return fmt::format("; did you mean '{}'? ('{}' is what TRL or veRL call it)", target, alias);
    return "";
  };
  for (auto&& [key, node] : state_->root) {
    const std::string name(key.str());
    if (state_->known_sections.contains(name)) continue;
    const std::string location = where(key.source(), state_->source_name);
    if (node.is_table() || node.is_array_of_tables()) {
      std::string hint;
      if (auto near = closest_match(name, sections)) hint = fmt::format("; did you mean [{}]?", *near);
      state_->problem(location, fmt::format("unknown section [{}]{}", name, hint));
    } else {
      state_->problem(location, fmt::format("key '{}' is outside any section{}", name, elsewhere(name)));
    }
  }
  for (const auto& unknown : state_->unknown_keys) {
    const auto& known = state_->known_keys[unknown.section];
    std::vector<std::string> names(known.begin(), known.end());
    std::string hint;
    if (auto near = closest_match(unknown.key, names)) hint = fmt::format("; did you mean '{}'?", *near);
    else hint = elsewhere(unknown.key);
    state_->problem(unknown.location, fmt::format("unknown key '{}' in [{}]{}", unknown.key, unknown.display, hint));
  }
  if (state_->problems.empty()) return;
  std::string message;
  for (const auto& line : state_->problems) message += (message.empty() ? "" : "\n") + line;
  throw ConfigError(message);
}

}  // namespace aha::config
