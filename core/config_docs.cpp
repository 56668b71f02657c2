// ConfigDocs: one Markdown table per section, and one per alternative of a selector key.
#include "core/config_docs.hpp"

#include <fmt/format.h>

namespace aha::config {

namespace {

constexpr std::string_view table_header = "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n";

std::string code(std::string_view text) { return fmt::format("`{}`", text); }

class DocBinder final : public Binder {
 public:
  explicit DocBinder(std::string& out) : out_(out) { out_ += table_header; }

  void cases(std::string_view selector, const std::string&, std::span<const Case> cases) override {
    for (const auto& item : cases) {
      out_ += fmt::format("\nWith `{} = \"{}\"`: {}\n\n", selector, item.name, item.doc);
      std::string rows;
      DocBinder nested(rows);
      item.bind(nested);
      out_ += nested.has_rows_ ? rows : "No further keys.\n";
    }
  }

 protected:
  void bind_integer(Key key, std::int64_t&, std::int64_t fallback, IntRange range) override {
    row(key, "integer", code(fmt::format("{}", fallback)), describe(range));
  }
  void bind_number(Key key, double&, double fallback, NumberRange range) override {
    row(key, "number", code(format_number(fallback)), describe(range));
  }
  void bind_boolean(Key key, bool&, bool fallback) override {
    row(key, "boolean", code(fallback ? "true" : "false"), "");
  }
  void bind_text(Key key, std::string&, const std::optional<std::string>& fallback, const TextRule& rule) override {
    row(key, "string", fallback ? code(quote(*fallback)) : "required", std::string(rule.summary));
  }
  void bind_texts(Key key, std::vector<std::string>&, const std::vector<std::string>& fallback) override {
    std::string items;
    for (const auto& item : fallback) items += (items.empty() ? "" : ", ") + quote(item);
    row(key, "array of strings", code("[" + items + "]"), "");
  }
  void bind_choice(Key key, std::string& value, std::string_view fallback,
                   std::span<const std::string_view> choices) override {
    value.clear();  // documents every alternative, not the example's
    std::string allowed;
    for (const auto& choice : choices) allowed += (allowed.empty() ? "" : ", ") + code(quote(choice));
    row(key, "string", fallback.empty() ? "required" : code(quote(fallback)), allowed);
  }

 private:
  void row(Key key, std::string_view type, const std::string& fallback, const std::string& allowed) {
    std::string meaning(key.doc);
    for (std::size_t at = 0; (at = meaning.find('|', at)) != std::string::npos; at += 2) meaning.replace(at, 1, "\\|");
    out_ += fmt::format("| `{}` | {} | {} | {} | {} |\n", key.name, type, fallback, allowed, meaning);
    has_rows_ = true;
  }
  std::string& out_;
  bool has_rows_ = false;
};

}  // namespace

std::string ConfigDocs::fmt_array_heading(std::string_view name) { return fmt::format("[[{}]]", name); }

void ConfigDocs::section(std::string_view name, std::string_view doc, const std::function<void(Binder&)>& bind) {
  table(fmt::format("[{}]", name), doc, bind);
}

void ConfigDocs::table(const std::string& heading, std::string_view doc, const std::function<void(Binder&)>& bind) {
  markdown_ += fmt::format("{}## {}\n\n{}\n\n", markdown_.empty() ? "" : "\n", heading, doc);
  DocBinder binder(markdown_);
  bind(binder);
}

}  // namespace aha::config
