// tokenizer.json -> Tokenizer: parsing the pipeline, added tokens, encode and decode.
#include "policy/tokenizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.hpp"
#include "policy/bpe_model.hpp"
#include "policy/pre_tokenizer.hpp"
#include "policy/unicode_nfc.hpp"

namespace aha::policy {

namespace {

using nlohmann::json;

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool lstrip = false, rstrip = false, single_word = false, normalized = false, special = false;
};

// A stretch of the input: either an added token's id, or text for the normaliser and BPE.
struct Segment {
  std::string text;
  std::optional<int64_t> added;
};

bool is_word_byte(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Splits text at the added tokens of `tokens` (leftmost match first, then the longest).
std::vector<Segment> split_added(const std::string& text, const std::vector<const AddedToken*>& tokens) {
  std::vector<Segment> out;
  std::size_t gap = 0, i = 0;
  while (i < text.size()) {
    const AddedToken* found = nullptr;
    for (const AddedToken* t : tokens) {
      if (text.compare(i, t->content.size(), t->content) != 0) continue;
      const std::size_t end = i + t->content.size();
      if (t->single_word && ((i > 0 && is_word_byte(text[i - 1])) || (end < text.size() && is_word_byte(text[end]))))
        continue;
      if (!found || t->content.size() > found->content.size()) found = t;
    }
    if (!found) {
      ++i;
      continue;
    }
    std::size_t begin = i, end = i + found->content.size();
    if (found->lstrip)
      while (begin > gap && is_space(text[begin - 1])) --begin;
    if (found->rstrip)
      while (end < text.size() && is_space(text[end])) ++end;
    if (begin > gap) out.push_back({text.substr(gap, begin - gap), std::nullopt});
    out.push_back({"", found->id});
    gap = i = end;
  }
  if (gap < text.size()) out.push_back({text.substr(gap), std::nullopt});
  return out;
}

}  // namespace

struct Tokenizer::Impl {
  std::unique_ptr<BpeModel> model;
  std::vector<AddedToken> added;
  std::vector<std::string> id_to_token;
  bool normalize_nfc = false;
  struct Step {
    std::optional<RegexSplit> split;
    bool byte_level = false;
    bool add_prefix_space = false;
  };
  std::vector<Step> pre_tokenizers;
  std::optional<int64_t> eos, pad;

  std::vector<const AddedToken*> added_where(bool normalized) const {
    std::vector<const AddedToken*> out;
    for (const auto& t : added)
      if (t.normalized == normalized) out.push_back(&t);
    return out;
  }

  // Normalised text -> pieces in the byte-level alphabet -> ids.
  void encode_text(const std::string& text, std::vector<int64_t>& ids) const {
    std::vector<std::string> pieces{text};
    for (const Step& step : pre_tokenizers) {
      std::vector<std::string> next;
      for (const auto& piece : pieces) {
        std::string current = step.add_prefix_space && !piece.starts_with(' ') ? " " + piece : piece;
        if (step.split) {
          for (const auto part : step.split->split(current)) next.emplace_back(step.byte_level ? bytes_to_unicode(part) : std::string(part));
        } else {
          next.push_back(step.byte_level ? bytes_to_unicode(current) : current);
        }
      }
      pieces = std::move(next);
    }
    for (const auto& piece : pieces)
      if (!piece.empty()) model->encode_word(piece, ids);
  }
};

namespace {

void read_normalizer(const json& j, const std::string& where, Tokenizer::Impl& impl) {
  if (j.is_null()) return;
  const std::string type = j.value("type", "");
  if (type == "NFC") impl.normalize_nfc = true;
  else if (type == "Sequence")
    for (std::size_t i = 0; i < j.at("normalizers").size(); ++i)
      read_normalizer(j["normalizers"][i], fmt::format("{}.normalizers[{}]", where, i), impl);
  else throw Error(fmt::format("{}: normalizer type \"{}\" is not supported (NFC, Sequence)", where, type));
}

void read_pre_tokenizer(const json& j, const std::string& where, Tokenizer::Impl& impl) {
  if (j.is_null()) return;
  const std::string type = j.value("type", "");
  if (type == "Sequence") {
    for (std::size_t i = 0; i < j.at("pretokenizers").size(); ++i)
      read_pre_tokenizer(j["pretokenizers"][i], fmt::format("{}.pretokenizers[{}]", where, i), impl);
  } else if (type == "Split") {
    const std::string behavior = j.value("behavior", "Isolated");
    if ((behavior != "Isolated" && behavior != "Removed") || j.value("invert", false))
      throw Error(fmt::format("{}: Split with behavior \"{}\"{} is not supported (Isolated, Removed)", where, behavior,
                              j.value("invert", false) ? " and invert" : ""));
    const json& pattern = j.at("pattern");
    std::string regex;
    if (pattern.contains("Regex")) {
      regex = pattern["Regex"].get<std::string>();
    } else {  // a literal string: escape it
      for (const char c : pattern.at("String").get<std::string>()) regex += std::string("\\Q") + c + "\\E";
    }
    Tokenizer::Impl::Step step;
    step.split.emplace(regex, behavior == "Isolated" ? RegexSplit::Behavior::isolated : RegexSplit::Behavior::removed);
    impl.pre_tokenizers.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    Tokenizer::Impl::Step step;
    step.byte_level = true;
    step.add_prefix_space = j.value("add_prefix_space", false);
    if (j.value("use_regex", true)) step.split.emplace(gpt2_split_pattern, RegexSplit::Behavior::isolated);
    impl.pre_tokenizers.push_back(std::move(step));
  } else {
    throw Error(fmt::format("{}: pre-tokenizer type \"{}\" is not supported (Sequence, Split, ByteLevel)", where, type));
  }
}

std::optional<int64_t> special_id(const json& config, const char* key, const Tokenizer& tokenizer) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const json& value = config[key];
  const std::string content = value.is_string() ? value.get<std::string>() : value.value("content", "");
  return tokenizer.token_to_id(content);
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw Error(fmt::format("{}: no such file or folder (give a tokenizer.json or a folder holding one)", path.string()));
  const auto file = std::filesystem::is_directory(path) ? path / "tokenizer.json" : path;
  const std::string where = file.string();
  std::ifstream in(file);
  if (!in) throw Error(fmt::format("{}: cannot read the tokenizer", where));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("{}: malformed JSON: {}", where, e.what()));
  }
  auto impl = std::make_unique<Impl>();
  try {
    const json& model = j.at("model");
    if (model.value("type", "") != "BPE")
      throw Error(fmt::format("{}: model.type \"{}\" is not supported (BPE)", where, model.value("type", "")));
    auto vocab = model.at("vocab").get<std::unordered_map<std::string, int64_t>>();
    std::vector<std::pair<std::string, std::string>> merges;
    for (const json& m : model.at("merges")) {
      if (m.is_array()) {
        merges.emplace_back(m.at(0).get<std::string>(), m.at(1).get<std::string>());
      } else {
        const std::string text = m.get<std::string>();
        const auto space = text.find(' ', 1);
        if (space == std::string::npos) throw Error(fmt::format("{}: model.merges: \"{}\" is not \"a b\"", where, text));
        merges.emplace_back(text.substr(0, space), text.substr(space + 1));
      }
    }
    for (const json& a : j.value("added_tokens", json::array())) {
      impl->added.push_back({a.at("content").get<std::string>(), a.at("id").get<int64_t>(), a.value("lstrip", false),
                             a.value("rstrip", false), a.value("single_word", false), a.value("normalized", false),
                             a.value("special", false)});
    }
    int64_t size = 0;
    for (const auto& [token, id] : vocab) size = std::max(size, id + 1);
    for (const auto& a : impl->added) size = std::max(size, a.id + 1);
    impl->id_to_token.resize(static_cast<std::size_t>(size));
    for (const auto& [token, id] : vocab) impl->id_to_token[id] = token;
    for (const auto& a : impl->added) impl->id_to_token[a.id] = a.content;
    impl->model = std::make_unique<BpeModel>(std::move(vocab), merges, model.value("ignore_merges", false));
    read_normalizer(j.value("normalizer", json()), "normalizer", *impl);
    read_pre_tokenizer(j.value("pre_tokenizer", json()), "pre_tokenizer", *impl);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: unexpected structure: {}", where, e.what()));
  }
  Tokenizer tokenizer(std::move(impl));
  const auto config_path = file.parent_path() / "tokenizer_config.json";
  if (std::ifstream config_in(config_path); config_in) {
    const json config = json::parse(config_in, nullptr, false);
    if (config.is_object()) {
      tokenizer.impl_->eos = special_id(config, "eos_token", tokenizer);
      tokenizer.impl_->pad = special_id(config, "pad_token", tokenizer);
    }
  }
  return tokenizer;
}

std::vector<int64_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  const auto raw_tokens = impl_->added_where(false), normalized_tokens = impl_->added_where(true);
  for (const Segment& outer : split_added(std::string(text), raw_tokens)) {
    if (outer.added) {
      ids.push_back(*outer.added);
      continue;
    }
    const std::string normalized = impl_->normalize_nfc ? nfc(outer.text) : outer.text;
    for (const Segment& inner : split_added(normalized, normalized_tokens)) {
      if (inner.added) ids.push_back(*inner.added);
      else impl_->encode_text(inner.text, ids);
    }
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int64_t> ids) const {
  std::string out;
  for (const int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) throw Error(fmt::format("decode: id {} is outside the vocabulary (0..{})", id, vocab_size() - 1));
    const std::string& token = impl_->id_to_token[id];
    const bool added = std::any_of(impl_->added.begin(), impl_->added.end(), [&](const AddedToken& a) { return a.id == id; });
    if (added || !unicode_to_bytes(token, out)) out += token;
  }
  return out;
}

int64_t Tokenizer::vocab_size() const { return static_cast<int64_t>(impl_->id_to_token.size()); }

std::optional<int64_t> Tokenizer::token_to_id(std::string_view token) const {
  for (const auto& a : impl_->added)
    if (a.content == token) return a.id;
  const auto& vocab = impl_->model->vocab();
  if (const auto it = vocab.find(std::string(token)); it != vocab.end()) return it->second;
  return std::nullopt;
}

std::string Tokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size()) throw Error(fmt::format("id {} is outside the vocabulary", id));
  return impl_->id_to_token[id];
}

std::optional<int64_t> Tokenizer::eos_id() const { return impl_->eos; }
std::optional<int64_t> Tokenizer::pad_id() const { return impl_->pad; }

}  // namespace aha::policy
