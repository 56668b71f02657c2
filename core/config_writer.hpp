// Writes a resolved config back as TOML (every key, defaults filled in) by walking the same
// bind() functions the reader uses, so the text always parses back to the same config.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_binder.hpp"

namespace aha::config {

class ConfigWriter {
 public:
  void section(std::string_view name, std::string_view doc, const std::function<void(Binder&)>& bind);

  template <class T>
  void table_array(std::string_view name, std::string_view doc, std::vector<T>& items,
                   const std::function<void(Binder&, T&)>& bind) {
    for (auto& item : items) table(name, true, [&](Binder& binder) { bind(binder, item); });
  }

  const std::string& text() const { return text_; }

 private:
  void table(std::string_view name, bool array_entry, const std::function<void(Binder&)>& bind);
  std::string text_;
};

}  // namespace aha::config
