// An exact rational number on 128-bit integers: every operation checks for overflow and throws
// NumberTooLarge instead of wrapping, so the math verifier never compares a wrapped value.
#pragma once

#include <string>

#include "core/error.hpp"

namespace aha::rewards {

// A number the verifier refuses to evaluate exactly (too many digits, an exponent tower, a
// product past 128 bits). The caller falls back to comparing text.
class NumberTooLarge : public Error {
 public:
  using Error::Error;
};

class Rational {
 public:
  __extension__ typedef __int128 Int;

  Rational() = default;
  Rational(long long value) : num_(value) {}  // NOLINT: integers convert implicitly
  // num / den, reduced; throws Error when den is 0.
  static Rational fraction(Int num, Int den);
  // A decimal literal such as "12", "0.125" or ".5" (digits and at most one '.'); throws
  // NumberTooLarge past 38 significant digits.
  static Rational parse_decimal(std::string_view digits);

  Int numerator() const { return num_; }
  Int denominator() const { return den_; }
  bool is_integer() const { return den_ == 1; }
  bool is_zero() const { return num_ == 0; }
  bool is_negative() const { return num_ < 0; }

  Rational operator-() const;
  friend Rational operator+(const Rational& a, const Rational& b);
  friend Rational operator-(const Rational& a, const Rational& b) { return a + (-b); }
  friend Rational operator*(const Rational& a, const Rational& b);
  friend Rational operator/(const Rational& a, const Rational& b);
  friend bool operator==(const Rational& a, const Rational& b) = default;

  // this ^ exponent for an integer exponent with |exponent| <= 256; throws NumberTooLarge beyond.
  Rational power(const Rational& exponent) const;
  // The exact square root when this is the square of a rational, else no value.
  bool exact_sqrt(Rational& root) const;
  // Rounded half away from zero to `digits` decimal places (what Math-Verify does to floats).
  Rational rounded(int digits) const;
  std::string to_string() const;

 private:
  Int num_ = 0;
  Int den_ = 1;
};

}  // namespace aha::rewards
