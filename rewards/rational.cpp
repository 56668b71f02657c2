// Exact rational arithmetic with overflow checks.
#include "rewards/rational.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace aha::rewards {

namespace {

using Int = Rational::Int;

Int absolute(Int v) {
  if (v == -v && v != 0) throw NumberTooLarge("a number past 128 bits");
  return v < 0 ? -v : v;
}

Int gcd(Int a, Int b) {
  a = absolute(a);
  b = absolute(b);
  while (b != 0) {
    const Int t = a % b;
    a = b;
    b = t;
  }
  return a;
}

Int checked_mul(Int a, Int b) {
  Int out;
  if (__builtin_mul_overflow(a, b, &out)) throw NumberTooLarge("a product past 128 bits");
  return out;
}

Int checked_add(Int a, Int b) {
  Int out;
  if (__builtin_add_overflow(a, b, &out)) throw NumberTooLarge("a sum past 128 bits");
  return out;
}

std::string int_to_string(Int v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  std::string digits;
  while (v != 0) {
    const int digit = static_cast<int>(v % 10);
    digits.push_back(static_cast<char>('0' + (digit < 0 ? -digit : digit)));
    v /= 10;
  }
  if (negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

Int isqrt(Int v) {
  Int lo = 0, hi = static_cast<Int>(1) << 64;
  while (lo < hi) {
    const Int mid = lo + (hi - lo + 1) / 2;
    if (mid <= v / mid) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

}  // namespace

Rational Rational::fraction(Int num, Int den) {
  if (den == 0) throw Error("division by zero in a math answer");
  if (den < 0) {
    num = -num;
    den = absolute(den);
  }
  const Int g = gcd(num, den);
  Rational r;
  r.num_ = g > 1 ? num / g : num;
  r.den_ = g > 1 ? den / g : den;
  return r;
}

Rational Rational::parse_decimal(std::string_view digits) {
  Int num = 0, den = 1;
  bool after_point = false;
  int significant = 0;
  for (const char c : digits) {
    if (c == '.') {
      after_point = true;
      continue;
    }
    if (c < '0' || c > '9') throw Error(fmt::format("'{}' is not a decimal number", digits));
    if (num != 0 || c != '0') ++significant;
    if (significant > 36) throw NumberTooLarge(fmt::format("{} has too many digits", digits));
    num = checked_add(checked_mul(num, 10), c - '0');
    if (after_point) den = checked_mul(den, 10);
  }
  return fraction(num, den);
}

Rational Rational::operator-() const {
  Rational r = *this;
  r.num_ = num_ < 0 ? absolute(num_) : -num_;
  return r;
}

Rational operator+(const Rational& a, const Rational& b) {
  const Int g = gcd(a.den_, b.den_);
  const Int den = checked_mul(a.den_ / g, b.den_);
  const Int num = checked_add(checked_mul(a.num_, b.den_ / g), checked_mul(b.num_, a.den_ / g));
  return Rational::fraction(num, den);
}

Rational operator*(const Rational& a, const Rational& b) {
  const Int g1 = gcd(a.num_, b.den_), g2 = gcd(b.num_, a.den_);
  const Int n1 = g1 > 1 ? a.num_ / g1 : a.num_, d2 = g1 > 1 ? b.den_ / g1 : b.den_;
  const Int n2 = g2 > 1 ? b.num_ / g2 : b.num_, d1 = g2 > 1 ? a.den_ / g2 : a.den_;
  return Rational::fraction(checked_mul(n1, n2), checked_mul(d1, d2));
}

Rational operator/(const Rational& a, const Rational& b) {
  if (b.num_ == 0) throw Error("division by zero in a math answer");
  return a * Rational::fraction(b.den_, b.num_);
}

Rational Rational::power(const Rational& exponent) const {
  if (!exponent.is_integer()) throw NumberTooLarge("a non-integer exponent");
  Int e = exponent.numerator();
  if (e > 256 || e < -256) throw NumberTooLarge("an exponent past 256");
  const bool invert = e < 0;
  if (invert) e = -e;
  Rational result = 1;
  for (Int i = 0; i < e; ++i) result = result * *this;
  return invert ? Rational(1) / result : result;
}

bool Rational::exact_sqrt(Rational& root) const {
  if (num_ < 0) return false;
  const Int n = isqrt(num_), d = isqrt(den_);
  if (n * n != num_ || d * d != den_) return false;
  root = fraction(n, d);
  return true;
}

Rational Rational::rounded(int digits) const {
  Int scale = 1;
  for (int i = 0; i < digits; ++i) scale = checked_mul(scale, 10);
  const Int scaled = checked_mul(absolute(num_), scale);
  Int q = scaled / den_;
  if (checked_mul(scaled % den_, 2) >= den_) ++q;
  return fraction(num_ < 0 ? -q : q, scale);
}

std::string Rational::to_string() const {
  return den_ == 1 ? int_to_string(num_) : int_to_string(num_) + "/" + int_to_string(den_);
}

}  // namespace aha::rewards
