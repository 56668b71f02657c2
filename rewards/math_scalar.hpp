// One scalar math expression (no commas, brackets of tuples, or relations): its exact value when
// it is a rational number, and always a canonical text for comparing what has no exact value.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "rewards/deadline.hpp"
#include "rewards/math_tokens.hpp"
#include "rewards/rational.hpp"

namespace aha::rewards {

struct Scalar {
  std::optional<Rational> value;  // none: symbolic, irrational, or refused as too large
  std::string text;               // canonical spelling: no spaces, \frac{a}{b}, * for \cdot and \times
  bool inexact = false;           // a decimal literal took part (compared after rounding, as floats)
  bool percent = false;           // ends in % (50% matches 50 and 0.5)
};

// Parses tokens[0..] up to the end token; throws Error when they are not one expression.
// Integers, decimals, \frac, mixed numbers (2\frac{1}{2}, 2 1/2), + - * / ^ (integer exponents
// up to 256), \sqrt of squares, n! up to 33, \binom and parentheses evaluate exactly.
Scalar parse_scalar(std::span<const MathToken> tokens, Deadline& deadline);

}  // namespace aha::rewards
