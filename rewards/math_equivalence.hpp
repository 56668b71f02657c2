// Whether a predicted math answer equals the reference, with Math-Verify's semantics: exact
// rationals (floats compared after rounding to 6 places), percentages, tuples, intervals and sets
// element by element, equations, and the gold/prediction asymmetry.
#pragma once

#include <chrono>
#include <string_view>

#include "rewards/math_value.hpp"

namespace aha::rewards {

// True when `prediction` (an extracted answer) equals `gold` (an extracted reference answer).
// Not symmetric: gold "x = 3" accepts "3"; gold "1 < x < 2" accepts "(1, 2)", not the reverse.
// Throws DeadlineExceeded past `budget`.
bool math_answers_match(std::string_view gold, std::string_view prediction,
                        std::chrono::milliseconds budget = std::chrono::milliseconds(1000));

// The comparison of two parsed values after the asymmetric unwrapping.
bool math_values_equal(const MathValue& gold, const MathValue& prediction, Deadline& deadline);

}  // namespace aha::rewards
