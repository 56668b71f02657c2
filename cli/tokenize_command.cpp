// `aha tokenize --tokenizer PATH (--text TEXT | --input FILE.jsonl | --decode --ids 1,2,3)`: token
// ids as JSON arrays, one per input, or the text of given ids.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "policy/tokenizer.hpp"

namespace aha::cli {

namespace {

struct TokenizeOptions {
  std::string tokenizer, text, input, ids;
  bool decode = false, has_text = false, has_ids = false;  // has_*: the option was given, even as ""
};

void print_ids(const std::vector<int64_t>& ids) { std::cout << nlohmann::json(ids).dump() << "\n"; }

int run_tokenize(const TokenizeOptions& o) {
  const int modes = o.has_text + !o.input.empty() + o.decode;
  if (modes != 1 || o.decode != o.has_ids)
    throw UsageError("tokenize: give exactly one of --text, --input or --decode --ids");
  const auto tokenizer = policy::Tokenizer::from_file(o.tokenizer);
  if (o.decode) {
    std::vector<int64_t> ids;
    std::size_t start = 0;
    while (start < o.ids.size()) {
      const auto comma = o.ids.find(',', start);
      const std::string item = o.ids.substr(start, comma - start);
      try {
        std::size_t used = 0;
        ids.push_back(std::stoll(item, &used));
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::logic_error&) {
        throw UsageError(fmt::format("tokenize: --ids expects comma-separated integers, got \"{}\"", item));
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    std::cout << tokenizer.decode(ids) << "\n";
    return 0;
  }
  if (o.has_text) {
    print_ids(tokenizer.encode(o.text));
    return 0;
  }
  std::ifstream in(o.input);
  if (!in) throw Error(fmt::format("{}: cannot read", o.input));
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("text") || !record["text"].is_string())
      throw Error(fmt::format("{}:{}: expected a JSON object with a string \"text\"", o.input, number));
    print_ids(tokenizer.encode(record["text"].get<std::string>()));
  }
  return 0;
}

}  // namespace

void add_tokenize_command(CLI::App& app, Action& chosen) {
  auto options = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Encode text to token ids, or decode ids, with a tokenizer.json");
  cmd->add_option("--tokenizer", options->tokenizer, "tokenizer.json, or a folder holding one")->required();
  auto* text = cmd->add_option("--text", options->text, "text to encode (no special tokens are added)");
  cmd->add_option("--input", options->input, "JSONL file of {\"text\": ...} lines, one array printed per line");
  cmd->add_flag("--decode", options->decode, "decode --ids instead of encoding");
  auto* ids = cmd->add_option("--ids", options->ids, "comma-separated ids to decode");
  cmd->callback([&chosen, options, text, ids] {
    options->has_text = text->count() > 0;
    options->has_ids = ids->count() > 0;
    chosen = [options] { return run_tokenize(*options); };
  });
}

}  // namespace aha::cli
