// Finding the final answer in a completion or a reference: <answer>…</answer>, the last
// \boxed{…} or \fbox{…} (brace-matched), GSM8K's "#### N", and "the answer is …".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace aha::rewards {

// The content of the last \boxed{…} or \fbox{…} (also \boxed 5), braces matched; none when absent
// or unbalanced.
std::optional<std::string> last_boxed(std::string_view text);

// The model's final answer, looked for in this order: the last <answer>…</answer> (and inside it a
// \boxed{}, "#### N" or "the answer is"), the last \boxed{}/\fbox{}, the last "#### N", the last
// "the answer is …". None when there is no such marker: the text is never scanned for a number.
std::optional<std::string> extract_predicted_answer(std::string_view completion);

// The reference answer: after "####" when present, else the last \boxed{} when present, else the
// whole text.
std::string extract_gold_answer(std::string_view reference);

}  // namespace aha::rewards
