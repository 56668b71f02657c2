// The structure of a math answer: a number or text, a tuple, interval or set (with its bracket
// kinds), a union of intervals, or a relation chain such as x = 3 or 1 < x \leq 2.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rewards/deadline.hpp"
#include "rewards/rational.hpp"

namespace aha::rewards {

struct MathValue {
  enum class Kind { number, text, sequence, relation };
  Kind kind = Kind::text;
  std::optional<Rational> number;  // kind number
  bool inexact = false;            // kind number: written with a decimal point
  bool percent = false;            // kind number: written with %
  std::string text;                // canonical text; for every kind
  // kind sequence: "(" "[" "\{" for tuples, intervals and sets (close is ")" "]" "\}"),
  // "," for a bare list (a set), "\cup" for a union of intervals.
  std::string open, close;
  std::vector<MathValue> items;        // sequence elements, or relation operands
  std::vector<std::string> relations;  // kind relation: "=", "<", "\leq", ">", "\geq", "\neq", "\in"

  bool is_equation() const;    // a relation of only "="
  bool is_assignment() const;  // an equation whose left side is one variable (x = 3)
  bool is_set() const;         // a set: braces, a bare list or a union
};

// Parses a normalised answer; what is not a well-formed expression becomes text, spaces removed.
MathValue parse_math_value(std::string_view normalised, Deadline& deadline);

// The interval a one-variable inequality describes (1 < x \leq 2 is (1, 2]; x > 3 is (3, \infty));
// none for other relations.
std::optional<MathValue> inequality_as_interval(const MathValue& relation);

}  // namespace aha::rewards
