// Unicode normalisation form C (canonical decomposition, canonical ordering, canonical
// composition), as the Hugging Face tokenizers' NFC normaliser applies it, and the UTF-8
// helpers the tokenizer needs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aha::policy {

// NFC of UTF-8 text. Invalid UTF-8 sequences become U+FFFD.
std::string nfc(std::string_view text);

// Code points of UTF-8 text; each maximal invalid subpart becomes one U+FFFD, as in Rust's
// String::from_utf8_lossy (and so in the tokenizers library).
std::vector<char32_t> utf8_to_code_points(std::string_view text);
// The bytes with invalid sequences replaced as above.
std::string valid_utf8(std::string_view bytes);
void append_utf8(std::string& out, char32_t cp);

}  // namespace aha::policy
