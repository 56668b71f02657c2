// Answer extraction for the math rule.
#include "rewards/math_answer_extraction.hpp"

#include <algorithm>
#include <cctype>

namespace aha::rewards {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The content of the last <answer>…</answer>, or of a last <answer> left unclosed at the end.
std::optional<std::string_view> last_answer_tag(std::string_view text) {
  const auto open = text.rfind("<answer>");
  if (open == std::string_view::npos) return std::nullopt;
  const auto start = open + 8;
  const auto close = text.find("</answer>", start);
  if (close == std::string_view::npos) return std::nullopt;
  return text.substr(start, close - start);
}

// The rest of the line after the last "####".
std::optional<std::string> after_hashes(std::string_view text) {
  const auto at = text.rfind("####");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(at + 4);
  rest = rest.substr(0, rest.find('\n'));
  rest = trim(rest);
  if (rest.empty()) return std::nullopt;
  return std::string(rest);
}

// What follows the last "the answer is" (case-insensitive, also "answer:"), up to the end of the
// sentence or line.
std::optional<std::string> after_answer_is(std::string_view text) {
  const std::string lower = lower_ascii(text);
  std::size_t best = std::string::npos, length = 0;
  for (const std::string_view marker : {"the answer is", "final answer is", "answer is:", "the answer:"}) {
    const auto at = lower.rfind(marker);
    if (at != std::string::npos && (best == std::string::npos || at + marker.size() > best + length)) {
      best = at;
      length = marker.size();
    }
  }
  if (best == std::string::npos) return std::nullopt;
  std::string_view rest = text.substr(best + length);
  if (!rest.empty() && rest.front() == ':') rest.remove_prefix(1);
  rest = rest.substr(0, rest.find('\n'));
  rest = trim(rest);
  // A sentence ends at ". " or a final '.'; a decimal point is followed by a digit.
  for (std::size_t i = 0; i < rest.size(); ++i)
    if (rest[i] == '.' && (i + 1 == rest.size() || std::isspace(static_cast<unsigned char>(rest[i + 1])))) {
      rest = rest.substr(0, i);
      break;
    }
  rest = trim(rest);
  if (rest.empty()) return std::nullopt;
  if (auto boxed = last_boxed(rest)) return boxed;
  return std::string(rest);
}

}  // namespace

std::optional<std::string> last_boxed(std::string_view text) {
  std::size_t best = std::string_view::npos, skip = 0;
  for (const std::string_view command : {"\\boxed", "\\fbox"}) {
    const auto at = text.rfind(command);
    if (at != std::string_view::npos && (best == std::string_view::npos || at > best)) {
      best = at;
      skip = command.size();
    }
  }
  if (best == std::string_view::npos) return std::nullopt;
  std::size_t i = best + skip;
  if (i < text.size() && text[i] == ' ') {  // \boxed 5
    std::size_t end = i + 1;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != '$') ++end;
    if (end == i + 1) return std::nullopt;
    return std::string(text.substr(i + 1, end - i - 1));
  }
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  int depth = 0;
  for (std::size_t j = i; j < text.size(); ++j) {
    if (text[j] == '\\' && j + 1 < text.size()) {
      ++j;  // \{ and \} do not count
      continue;
    }
    if (text[j] == '{') ++depth;
    if (text[j] == '}' && --depth == 0) return std::string(trim(text.substr(i + 1, j - i - 1)));
  }
  return std::nullopt;
}

std::optional<std::string> extract_predicted_answer(std::string_view completion) {
  if (const auto tagged = last_answer_tag(completion)) {
    if (auto boxed = last_boxed(*tagged)) return boxed;
    if (auto hashes = after_hashes(*tagged)) return hashes;
    if (auto stated = after_answer_is(*tagged)) return stated;
    const auto content = trim(*tagged);
    if (content.empty()) return std::nullopt;
    return std::string(content);
  }
  if (auto boxed = last_boxed(completion)) return boxed;
  if (auto hashes = after_hashes(completion)) return hashes;
  return after_answer_is(completion);
}

std::string extract_gold_answer(std::string_view reference) {
  if (auto hashes = after_hashes(reference)) return *hashes;
  if (auto boxed = last_boxed(reference)) return *boxed;
  return std::string(trim(reference));
}

}  // namespace aha::rewards
