// Reads an experiment config from TOML (plus `--set` overrides) through the sections' bind()
// functions, checking every key's type and range and collecting every problem with its location.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config_binder.hpp"

namespace aha::config {

class ConfigReader {
 public:
  // Throws ConfigError when the file cannot be read or is not valid TOML.
  static ConfigReader from_file(const std::filesystem::path& path);
  static ConfigReader from_string(std::string_view text, const std::string& source_name);
  ConfigReader(ConfigReader&&) noexcept;
  ConfigReader& operator=(ConfigReader&&) noexcept;
  ~ConfigReader();

  // Whether the document has `path` ("section" or "section.key"), overrides not counted.
  bool contains(std::string_view path) const;

  // Applies one `section.key=value` (or `table.N.key=value` for an array of tables) override.
  // The value is TOML (`8`, `0.5`, `true`, `"text"`, `["a", "b"]`) or else a bare string.
  // Throws UsageError when the assignment itself is malformed.
  void apply_override(std::string_view assignment);

  void section(std::string_view name, std::string_view doc, const std::function<void(Binder&)>& bind);

  template <class T>
  void table_array(std::string_view name, std::string_view doc, std::vector<T>& items,
                   const std::function<void(Binder&, T&)>& bind) {
    items.assign(table_array_size(name), T{});
    for (std::size_t i = 0; i < items.size(); ++i)
      table_array_entry(name, i, [&](Binder& binder) { bind(binder, items[i]); });
  }

  // Reports unknown sections and keys (with "did you mean"), then throws ConfigError listing
  // every problem found, if there was any.
  void finish();

  // Names users bring from other trainers, each mapped to the key that means the same here
  // ("learning_rate" -> "optim.lr"); an unknown key with such a name is pointed to its counterpart.
  void set_aliases(std::vector<std::pair<std::string, std::string>> aliases);

  // Records a problem found by a check across keys; `section` names where it applies.
  void add_problem(std::string_view section, std::string message);

  struct State;  // the parsed document and what reading it found; defined in the .cpp

 private:
  explicit ConfigReader(std::unique_ptr<State> state);
  std::size_t table_array_size(std::string_view name);
  void table_array_entry(std::string_view name, std::size_t index, const std::function<void(Binder&)>& bind);
  std::unique_ptr<State> state_;
};

}  // namespace aha::config
