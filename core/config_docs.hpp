// Generates the config reference (Markdown tables: key, type, default, allowed, meaning) from
// the same bind() functions the reader uses, so docs/config.md cannot drift from the code.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_binder.hpp"

namespace aha::config {

class ConfigDocs {
 public:
  void section(std::string_view name, std::string_view doc, const std::function<void(Binder&)>& bind);

  template <class T>
  void table_array(std::string_view name, std::string_view doc, std::vector<T>&,
                   const std::function<void(Binder&, T&)>& bind) {
    T example{};
    table(fmt_array_heading(name), doc, [&](Binder& binder) { bind(binder, example); });
  }

  const std::string& markdown() const { return markdown_; }

 private:
  static std::string fmt_array_heading(std::string_view name);
  void table(const std::string& heading, std::string_view doc, const std::function<void(Binder&)>& bind);
  std::string markdown_;
};

}  // namespace aha::config
