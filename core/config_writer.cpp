// ConfigWriter: one `key = value` line per bound key, in declaration order.
#include "core/config_writer.hpp"

#include <fmt/format.h>

namespace aha::config {

namespace {

class TextBinder final : public Binder {
 public:
  explicit TextBinder(std::string& out) : out_(out) {}

  void cases(std::string_view, const std::string& selected, std::span<const Case> cases) override {
    for (const auto& item : cases)
      if (item.name == selected) item.bind(*this);
  }

 protected:
  void bind_integer(Key key, std::int64_t& value, std::int64_t, IntRange) override {
    line(key, fmt::format("{}", value));
  }
  void bind_number(Key key, double& value, double, NumberRange) override { line(key, format_number(value)); }
  void bind_boolean(Key key, bool& value, bool) override { line(key, value ? "true" : "false"); }
  void bind_text(Key key, std::string& value, const std::optional<std::string>&, const TextRule&) override {
    line(key, quote(value));
  }
  void bind_texts(Key key, std::vector<std::string>& value, const std::vector<std::string>&) override {
    std::string items;
    for (const auto& item : value) items += (items.empty() ? "" : ", ") + quote(item);
    line(key, "[" + items + "]");
  }
  void bind_choice(Key key, std::string& value, std::string_view, std::span<const std::string_view>) override {
    line(key, quote(value));
  }

 private:
  void line(Key key, const std::string& value) { out_ += fmt::format("{} = {}\n", key.name, value); }
  std::string& out_;
};

}  // namespace

void ConfigWriter::section(std::string_view name, std::string_view, const std::function<void(Binder&)>& bind) {
  table(name, false, bind);
}

void ConfigWriter::table(std::string_view name, bool array_entry, const std::function<void(Binder&)>& bind) {
  if (!text_.empty()) text_ += "\n";
  text_ += array_entry ? fmt::format("[[{}]]\n", name) : fmt::format("[{}]\n", name);
  TextBinder binder(text_);
  bind(binder);
}

}  // namespace aha::config
