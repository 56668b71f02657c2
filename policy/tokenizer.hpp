// The Hugging Face byte-level BPE tokenizer, read from tokenizer.json: added and special tokens
// split out first, the NFC normaliser, the Split (PCRE2) and ByteLevel pre-tokenizers, BPE merges
// (as "a b" strings or as pairs, with ignore_merges), and the ByteLevel decoder. Encoding and
// decoding give what the tokenizers library gives; decode(encode(x)) is x (in NFC when the
// normaliser is NFC). docs/tokenizer.md says what is supported.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aha::policy {

class Tokenizer {
 public:
  // PATH is a tokenizer.json or a folder holding one (and, optionally, tokenizer_config.json,
  // which names the EOS and padding tokens). Throws aha::Error naming the file and JSON path.
  static Tokenizer from_file(const std::filesystem::path& path);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // No special tokens are added; invalid UTF-8 in `text` is read as U+FFFD. Safe across threads.
  std::vector<int64_t> encode(std::string_view text) const;
  // Special tokens are kept; bytes that do not form UTF-8 (a cut multi-byte character) become U+FFFD.
  std::string decode(std::span<const int64_t> ids) const;

  int64_t vocab_size() const;  // largest id + 1
  std::optional<int64_t> token_to_id(std::string_view token) const;
  std::string id_to_token(int64_t id) const;
  std::optional<int64_t> eos_id() const;
  std::optional<int64_t> pad_id() const;
  // 16 hex digits identifying the vocabulary, merges, added tokens and pre-processing: two
  // tokenizers with the same fingerprint give the same ids.
  const std::string& fingerprint() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aha::policy
