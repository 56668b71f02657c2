// Text normalisation of a math answer before it is parsed: the LaTeX spellings that do not change
// its value ($, \left, \dfrac, \!, ^\circ, \text{…}, units, thousands separators, a final '.').
#pragma once

#include <string>
#include <string_view>

namespace aha::rewards {

std::string normalize_math_answer(std::string_view answer);

}  // namespace aha::rewards
