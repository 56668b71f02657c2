// tokenizer.json -> Tokenizer: reading the pipeline (with errors naming the file and JSON path),
// then encoding (added tokens, normaliser, pre-tokenizers, BPE) and decoding (ByteLevel).
#include "policy/tokenizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "core/error.hpp"
#include "policy/added_tokens.hpp"
#include "policy/bpe_model.hpp"
#include "policy/pre_tokenizer.hpp"
#include "policy/unicode_nfc.hpp"

namespace aha::policy {

namespace {

using nlohmann::json;

// One pre-tokenizer of the sequence: an optional regex split, then (for ByteLevel) the optional
// leading space and the bytes-to-unicode mapping of each piece.
struct PreTokenizerStep {
  std::optional<RegexSplit> split;
  bool byte_level = false;
  bool add_prefix_space = false;
};

// The member `key` of the object at `path`; throws naming the path when it is absent or null.
const json& member(const json& object, const std::string& path, const char* key) {
  if (!object.is_object()) throw Error(fmt::format("{}: expected an object", path));
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) throw Error(fmt::format("{}.{}: missing", path, key));
  return *it;
}

// `value` (at `path`) as T; throws naming the path and the expected type.
template <typename T>
T get(const json& value, const std::string& path) {
  try {
    return value.get<T>();
  } catch (const json::exception&) {
    throw Error(fmt::format("{}: expected {}, found {}", path,
                            std::is_same_v<T, std::string> ? "a string"
                            : std::is_same_v<T, bool>      ? "true or false"
                                                           : "an integer",
                            value.dump().substr(0, 40)));
  }
}

// The member `key` of `object` as T, or `fallback` when it is absent or null.
template <typename T>
T get_or(const json& object, const std::string& path, const char* key, T fallback) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? fallback : get<T>(*it, fmt::format("{}.{}", path, key));
}

std::string type_of(const json& object, const std::string& path) {
  return get<std::string>(member(object, path, "type"), path + ".type");
}

std::vector<std::pair<std::string, std::string>> read_merges(const json& merges, const std::string& path) {
  if (!merges.is_array()) throw Error(fmt::format("{}: expected an array", path));
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const std::string where = fmt::format("{}[{}]", path, i);
    const json& merge = merges[i];
    if (merge.is_array() && merge.size() == 2) {
      out.emplace_back(get<std::string>(merge[0], where + "[0]"), get<std::string>(merge[1], where + "[1]"));
      continue;
    }
    const std::string text = merge.is_string() ? merge.get<std::string>() : std::string();
    const auto space = text.find(' ', 1);
    if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos)
      throw Error(fmt::format("{}: expected \"left right\" or [\"left\", \"right\"], found {}", where, merge.dump()));
    out.emplace_back(text.substr(0, space), text.substr(space + 1));
  }
  return out;
}

std::unique_ptr<BpeModel> read_model(const json& model, const std::string& path) {
  if (const auto type = type_of(model, path); type != "BPE")
    throw Error(fmt::format("{}.type: \"{}\" is not supported (BPE)", path, type));
  if (model.contains("dropout") && !model["dropout"].is_null())
    throw Error(fmt::format("{}.dropout: BPE dropout is not supported (set it to null)", path));
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (!get_or<std::string>(model, path, key, "").empty())
      throw Error(fmt::format("{}.{}: a non-empty value is not supported (byte-level BPE leaves it empty)", path, key));
  const json& vocab_json = member(model, path, "vocab");
  if (!vocab_json.is_object()) throw Error(fmt::format("{}.vocab: expected an object of token -> id", path));
  std::unordered_map<std::string, int64_t> vocab;
  vocab.reserve(vocab_json.size());
  for (const auto& [token, id] : vocab_json.items()) {
    const auto value = get<int64_t>(id, fmt::format("{}.vocab[\"{}\"]", path, token));
    if (value < 0) throw Error(fmt::format("{}.vocab[\"{}\"]: negative id {}", path, token, value));
    vocab.emplace(token, value);
  }
  const auto merges = read_merges(member(model, path, "merges"), path + ".merges");
  const bool ignore_merges = get_or(model, path, "ignore_merges", false);
  try {
    return std::make_unique<BpeModel>(std::move(vocab), merges, ignore_merges);
  } catch (const Error& e) {
    throw Error(fmt::format("{}.{}", path, e.what()));
  }
}

std::vector<AddedToken> read_added_tokens(const json& root) {
  std::vector<AddedToken> out;
  if (!root.contains("added_tokens") || root["added_tokens"].is_null()) return out;
  const json& list = root["added_tokens"];
  if (!list.is_array()) throw Error("added_tokens: expected an array");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = fmt::format("added_tokens[{}]", i);
    const json& a = list[i];
    const auto id = get<int64_t>(member(a, path, "id"), path + ".id");
    if (id < 0) throw Error(fmt::format("{}.id: negative id {}", path, id));
    out.push_back({get<std::string>(member(a, path, "content"), path + ".content"), id,
                   get_or(a, path, "lstrip", false), get_or(a, path, "rstrip", false),
                   get_or(a, path, "single_word", false), get_or(a, path, "normalized", false),
                   get_or(a, path, "special", false)});
  }
  return out;
}

// Returns whether the normaliser applies NFC.
bool read_normalizer(const json& normalizer, const std::string& path) {
  if (normalizer.is_null()) return false;
  const std::string type = type_of(normalizer, path);
  if (type == "NFC") return true;
  if (type != "Sequence")
    throw Error(fmt::format("{}.type: normalizer \"{}\" is not supported (NFC, Sequence)", path, type));
  const json& list = member(normalizer, path, "normalizers");
  bool nfc = false;
  for (std::size_t i = 0; i < list.size(); ++i)
    nfc = read_normalizer(list[i], fmt::format("{}.normalizers[{}]", path, i)) || nfc;
  return nfc;
}

RegexSplit::Behavior split_behavior(const std::string& name, const std::string& path) {
  using B = RegexSplit::Behavior;
  static const std::unordered_map<std::string, B> names{{"Isolated", B::isolated},
                                                        {"Removed", B::removed},
                                                        {"MergedWithPrevious", B::merged_with_previous},
                                                        {"MergedWithNext", B::merged_with_next},
                                                        {"Contiguous", B::contiguous}};
  const auto it = names.find(name);
  if (it == names.end())
    throw Error(fmt::format(
        "{}: behavior \"{}\" is unknown (Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous)", path,
        name));
  return it->second;
}

void read_pre_tokenizer(const json& pre, const std::string& path, std::vector<PreTokenizerStep>& steps) {
  if (pre.is_null()) return;
  const std::string type = type_of(pre, path);
  if (type == "Sequence") {
    const json& list = member(pre, path, "pretokenizers");
    for (std::size_t i = 0; i < list.size(); ++i)
      read_pre_tokenizer(list[i], fmt::format("{}.pretokenizers[{}]", path, i), steps);
  } else if (type == "Split") {
    const json& pattern = member(pre, path, "pattern");
    std::string regex;
    if (pattern.contains("Regex")) regex = get<std::string>(pattern["Regex"], path + ".pattern.Regex");
    else regex = escape_regex(get<std::string>(member(pattern, path + ".pattern", "String"), path + ".pattern.String"));
    const auto behavior =
        split_behavior(get<std::string>(member(pre, path, "behavior"), path + ".behavior"), path + ".behavior");
    const bool invert = get_or(pre, path, "invert", false);
    PreTokenizerStep step;
    try {
      step.split.emplace(regex, behavior, invert);
    } catch (const Error& e) {
      throw Error(fmt::format("{}.pattern: {}", path, e.what()));
    }
    steps.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    PreTokenizerStep step;
    step.byte_level = true;
    step.add_prefix_space = get_or(pre, path, "add_prefix_space", true);
    if (get_or(pre, path, "use_regex", true)) step.split.emplace(gpt2_split_pattern, RegexSplit::Behavior::isolated);
    steps.push_back(std::move(step));
  } else {
    throw Error(fmt::format("{}.type: pre-tokenizer \"{}\" is not supported (Sequence, Split, ByteLevel)", path, type));
  }
}

void check_decoder(const json& decoder) {
  if (decoder.is_null()) throw Error("decoder: missing; only the ByteLevel decoder is supported");
  if (const auto type = type_of(decoder, "decoder"); type != "ByteLevel")
    throw Error(fmt::format("decoder.type: \"{}\" is not supported (ByteLevel)", type));
}

// The id of the token tokenizer_config.json names under `key` (a string or {"content": ...}).
std::optional<int64_t> config_token_id(const json& config, const char* key, const Tokenizer& tokenizer) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  const std::string content = it->is_string()
                                  ? it->get<std::string>()
                                  : get<std::string>(member(*it, key, "content"), std::string(key) + ".content");
  const auto id = tokenizer.token_to_id(content);
  if (!id) throw Error(fmt::format("{}: \"{}\" is not a token of tokenizer.json", key, content));
  return id;
}

json parse_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(fmt::format("{}: cannot read the file", file.string()));
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("{}: malformed JSON: {}", file.string(), e.what()));
  }
}

// FNV-1a (64 bits) over the parts of tokenizer.json that decide the ids: the model (vocabulary and
// merges), the added tokens, the normaliser and the pre-tokenizer, as nlohmann dumps them (keys
// sorted), so formatting and key order do not matter.
std::string fingerprint_of(const json& root) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char* part : {"model", "added_tokens", "normalizer", "pre_tokenizer"})
    for (const unsigned char byte : root.value(part, json()).dump()) hash = (hash ^ byte) * 0x100000001b3ull;
  return fmt::format("{:016x}", hash);
}

}  // namespace

struct Tokenizer::Impl {
  std::unique_ptr<BpeModel> model;
  std::unordered_map<std::string, int64_t> added_ids;  // content -> id
  std::vector<std::string> id_to_token;
  bool normalize_nfc = false;
  std::vector<PreTokenizerStep> pre_tokenizers;
  std::optional<AddedTokenSplitter> raw_tokens, normalized_tokens;  // matched before / after normalising
  std::optional<int64_t> eos, pad;
  std::string fingerprint;

  // Normalised text -> pieces in the byte-level alphabet -> ids.
  void encode_normalized(std::string_view text, std::vector<int64_t>& ids) const {
    std::vector<std::string> pieces{std::string(text)};
    for (const PreTokenizerStep& step : pre_tokenizers) {
      std::vector<std::string> next;
      for (const auto& piece : pieces) {
        const std::string current = step.add_prefix_space && !piece.starts_with(' ') ? " " + piece : piece;
        const auto parts = step.split ? step.split->split(current) : std::vector<std::string_view>{current};
        for (const auto part : parts) next.push_back(step.byte_level ? bytes_to_unicode(part) : std::string(part));
      }
      pieces = std::move(next);
    }
    for (const auto& piece : pieces)
      if (!piece.empty()) model->encode_word(piece, ids);
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    throw Error(
        fmt::format("{}: no such file or folder (give a tokenizer.json or a folder holding one)", path.string()));
  const auto file = std::filesystem::is_directory(path) ? path / "tokenizer.json" : path;
  const json root = parse_file(file);
  auto impl = std::make_unique<Impl>();
  try {
    if (!root.is_object()) throw Error("expected a JSON object at the top");
    impl->model = read_model(member(root, "tokenizer.json", "model"), "model");
    const std::vector<AddedToken> added = read_added_tokens(root);
    impl->normalize_nfc = read_normalizer(root.value("normalizer", json()), "normalizer");
    read_pre_tokenizer(root.value("pre_tokenizer", json()), "pre_tokenizer", impl->pre_tokenizers);
    check_decoder(root.value("decoder", json()));

    int64_t size = 0;
    for (const auto& [token, id] : impl->model->vocab()) size = std::max(size, id + 1);
    for (const auto& a : added) size = std::max(size, a.id + 1);
    impl->id_to_token.resize(static_cast<std::size_t>(size));
    for (const auto& [token, id] : impl->model->vocab()) impl->id_to_token[id] = token;
    std::vector<AddedToken> raw, normalized;
    for (AddedToken a : added) {
      impl->id_to_token[a.id] = a.content;
      impl->added_ids.emplace(a.content, a.id);
      if (a.normalized && impl->normalize_nfc) a.content = nfc(a.content);
      (a.normalized ? normalized : raw).push_back(std::move(a));
    }
    impl->raw_tokens.emplace(std::move(raw));
    impl->normalized_tokens.emplace(std::move(normalized));
    impl->fingerprint = fingerprint_of(root);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", file.string(), e.what()));
  }
  Tokenizer tokenizer(std::move(impl));
  const auto config_file = file.parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_file)) {
    const json config = parse_file(config_file);
    try {
      if (!config.is_object()) throw Error("expected a JSON object at the top");
      tokenizer.impl_->eos = config_token_id(config, "eos_token", tokenizer);
      tokenizer.impl_->pad = config_token_id(config, "pad_token", tokenizer);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", config_file.string(), e.what()));
    }
  }
  return tokenizer;
}

std::vector<int64_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  const std::string valid = valid_utf8(text);
  for (const AddedTokenSplit& outer : impl_->raw_tokens->split(valid)) {
    if (outer.id) {
      ids.push_back(*outer.id);
      continue;
    }
    const std::string normalized = impl_->normalize_nfc ? nfc(outer.text) : std::string(outer.text);
    for (const AddedTokenSplit& inner : impl_->normalized_tokens->split(normalized)) {
      if (inner.id) ids.push_back(*inner.id);
      else impl_->encode_normalized(inner.text, ids);
    }
  }
  return ids;
}

// As tokenizers' ByteLevel decoder: each token whose characters all come from the byte map becomes
// those bytes, any other token stays as it is, and invalid UTF-8 in the result becomes U+FFFD.
std::string Tokenizer::decode(std::span<const int64_t> ids) const {
  std::string bytes;
  for (const int64_t id : ids) {
    if (id < 0 || id >= vocab_size())
      throw Error(fmt::format("decode: id {} is outside the vocabulary (0..{})", id, vocab_size() - 1));
    const std::string& token = impl_->id_to_token[static_cast<std::size_t>(id)];
    const std::size_t before = bytes.size();
    if (!unicode_to_bytes(token, bytes)) {
      bytes.resize(before);
      bytes += token;
    }
  }
  return valid_utf8(bytes);
}

int64_t Tokenizer::vocab_size() const { return static_cast<int64_t>(impl_->id_to_token.size()); }

std::optional<int64_t> Tokenizer::token_to_id(std::string_view token) const {
  const std::string key(token);
  if (const auto it = impl_->added_ids.find(key); it != impl_->added_ids.end()) return it->second;
  const auto& vocab = impl_->model->vocab();
  if (const auto it = vocab.find(key); it != vocab.end()) return it->second;
  return std::nullopt;
}

std::string Tokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size())
    throw Error(fmt::format("id {} is outside the vocabulary (0..{})", id, vocab_size() - 1));
  return impl_->id_to_token[static_cast<std::size_t>(id)];
}

std::optional<int64_t> Tokenizer::eos_id() const { return impl_->eos; }
std::optional<int64_t> Tokenizer::pad_id() const { return impl_->pad; }
const std::string& Tokenizer::fingerprint() const { return impl_->fingerprint; }

}  // namespace aha::policy
