// Recursive-descent parser and exact evaluator of scalar math expressions.
#include "rewards/math_scalar.hpp"

#include <fmt/format.h>

#include <functional>

namespace aha::rewards {

namespace {

constexpr int max_depth = 192;  // three per bracket level: about 60 nested brackets

using Kind = MathToken::Kind;

bool is_command(const MathToken& t, std::string_view name) { return t.kind == Kind::command && t.text == name; }

// Runs an exact computation; a refused or undefined result leaves the value empty.
std::optional<Rational> exactly(const std::function<Rational()>& compute) {
  try {
    return compute();
  } catch (const Error&) {
    return std::nullopt;
  }
}

// A percentage inside a larger expression stands for its value / 100.
Scalar settle_percent(Scalar s) {
  if (s.percent && s.value) s.value = exactly([&] { return *s.value / Rational(100); });
  s.percent = false;
  return s;
}

Scalar combine(Scalar a, std::string_view op, Scalar b) {
  a = settle_percent(std::move(a));
  b = settle_percent(std::move(b));
  Scalar out;
  out.text = a.text + std::string(op) + b.text;
  out.inexact = a.inexact || b.inexact;
  if (a.value && b.value) {
    const Rational x = *a.value, y = *b.value;
    if (op == "+") out.value = exactly([&] { return x + y; });
    else if (op == "-") out.value = exactly([&] { return x - y; });
    else if (op == "*" || op.empty()) out.value = exactly([&] { return x * y; });
    else if (op == "/") out.value = exactly([&] { return x / y; });
    else if (op == "^") out.value = exactly([&] { return x.power(y); });
  }
  return out;
}

class ScalarParser {
 public:
  ScalarParser(std::span<const MathToken> tokens, Deadline& deadline) : tokens_(tokens), deadline_(deadline) {}

  Scalar parse() {
    Scalar s = expression();
    if (peek().kind != Kind::end) fail("unexpected '" + peek().text + "'");
    return s;
  }

 private:
  const MathToken& peek(std::size_t ahead = 0) const {
    return pos_ + ahead < tokens_.size() ? tokens_[pos_ + ahead] : tokens_.back();
  }
  const MathToken& next() {
    deadline_.check();
    const MathToken& t = peek();
    if (t.kind != Kind::end) ++pos_;
    return t;
  }
  bool accept(std::string_view text) {
    if (peek().kind == Kind::end || peek().text != text) return false;
    next();
    return true;
  }
  void expect(std::string_view text) {
    if (!accept(text)) fail(fmt::format("expected '{}'", text));
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(fmt::format("not a math expression: {} at token {}", why, pos_));
  }

  struct DepthGuard {
    explicit DepthGuard(int& depth) : depth_(depth) {
      if (++depth_ > max_depth) throw Error("a math expression nested more than 60 brackets deep");
    }
    ~DepthGuard() { --depth_; }
    int& depth_;
  };

  Scalar expression() {
    DepthGuard guard(depth_);
    Scalar left = term();
    for (;;) {
      if (accept("+")) left = combine(std::move(left), "+", term());
      else if (accept("-")) left = combine(std::move(left), "-", term());
      else if (accept("\\pm")) left = combine(std::move(left), "\\pm", term());
      else return left;
    }
  }

  bool starts_primary() const {
    const MathToken& t = peek();
    if (t.kind == Kind::number || t.kind == Kind::word) return true;
    if (t.kind == Kind::symbol) return t.text == "(" || t.text == "{";
    return t.kind == Kind::command && t.text != "\\cdot" && t.text != "\\times" && t.text != "\\div" &&
           t.text != "\\pm" && t.text != "\\}" && t.text != "\\cup";
  }

  Scalar term() {
    Scalar left = unary();
    for (;;) {
      if (accept("*") || accept("\\cdot") || accept("\\times")) left = combine(std::move(left), "*", unary());
      else if (accept("/") || accept("\\div")) left = combine(std::move(left), "/", unary());
      else if (starts_primary()) left = juxtapose(std::move(left));
      else return left;
    }
  }

  // "2\frac{1}{2}" and "2 1/2" are mixed numbers; any other juxtaposition is a product.
  Scalar juxtapose(Scalar left) {
    const bool plain_integer = left.value && left.value->is_integer() && !left.inexact && !left.percent &&
                               left.text.find_first_not_of("0123456789") == std::string::npos;
    if (plain_integer && is_command(peek(), "\\frac")) {
      Scalar fraction = unary();
      if (fraction.value && !fraction.inexact) return mixed(left, fraction);
      return combine(std::move(left), "", std::move(fraction));
    }
    if (plain_integer && peek().kind == Kind::number && peek().space_before && peek(1).text == "/" &&
        peek(2).kind == Kind::number) {
      Scalar num = primary();
      next();
      Scalar den = primary();
      Scalar fraction = combine(std::move(num), "/", std::move(den));
      if (fraction.value && !fraction.inexact) return mixed(left, fraction);
      return combine(std::move(left), " ", std::move(fraction));
    }
    return combine(std::move(left), "", unary());
  }

  static Scalar mixed(const Scalar& whole, const Scalar& fraction) {
    Scalar out;
    out.text = whole.text + "&" + fraction.text;
    out.value = exactly(
        [&] { return whole.value->is_negative() ? *whole.value - *fraction.value : *whole.value + *fraction.value; });
    return out;
  }

  Scalar unary() {
    DepthGuard guard(depth_);
    if (accept("-")) {
      Scalar s = unary();
      s.text = "-" + s.text;
      if (s.value) s.value = exactly([&] { return -*s.value; });
      return s;
    }
    if (accept("+")) return unary();
    return power();
  }

  Scalar power() {
    Scalar base = postfix();
    if (!accept("^")) return base;
    Scalar exponent = peek().text == "{" || peek().text == "(" ? primary() : unary();
    Scalar out = combine(std::move(base), "^", exponent);
    out.text = out.text.substr(0, out.text.size() - exponent.text.size()) + "{" + exponent.text + "}";
    return out;
  }

  Scalar postfix() {
    Scalar s = primary();
    for (;;) {
      if (accept("!")) {
        s = settle_percent(std::move(s));
        s.text += "!";
        if (s.value && s.value->is_integer() && !s.value->is_negative() && s.value->numerator() <= 33) {
          Rational f = 1;
          for (long long k = 2; k <= static_cast<long long>(s.value->numerator()); ++k) f = f * Rational(k);
          s.value = f;
        } else {
          s.value.reset();
        }
      } else if (accept("%")) {
        s.text += "%";
        s.percent = true;
      } else if (peek().text == "_") {
        next();
        s.text.append("_").append(primary().text);
        s.value.reset();
      } else {
        return s;
      }
    }
  }

  // A LaTeX argument: {expression} or one token (\frac12).
  Scalar argument() {
    if (accept("{")) {
      Scalar s = peek().text == "}" ? Scalar{} : expression();
      expect("}");
      return s;
    }
    return primary();
  }

  Scalar primary() {
    DepthGuard guard(depth_);
    const MathToken& t = next();
    Scalar s;
    switch (t.kind) {
      case Kind::number:
        s.text = t.text;
        s.inexact = t.text.find('.') != std::string::npos;
        s.value = exactly([&] { return Rational::parse_decimal(t.text); });
        return s;
      case Kind::word: s.text = t.text; return s;
      case Kind::symbol:
        if (t.text == "(" || t.text == "{") {
          const std::string close = t.text == "(" ? ")" : "}";
          s = expression();
          expect(close);
          if (t.text == "(") s.text = "(" + s.text + ")";
          return s;
        }
        if (t.text == "'" || t.text == "?") return Scalar{std::nullopt, t.text};
        fail("unexpected '" + t.text + "'");
      case Kind::command: return command(t.text);
      case Kind::end: fail("the expression ends too early");
    }
    fail("unknown token");
  }

  Scalar command(const std::string& name) {
    if (name == "\\frac" || name == "\\cfrac") {
      Scalar num = argument();
      Scalar den = argument();
      Scalar out = combine(num, "/", den);
      out.text = "\\frac{" + num.text + "}{" + den.text + "}";
      return out;
    }
    if (name == "\\sqrt") {
      std::string index;
      if (accept("[")) {
        while (peek().kind != Kind::end && peek().text != "]") index += next().text;
        expect("]");
      }
      Scalar radicand = settle_percent(argument());
      Scalar out;
      out.text = index.empty() ? "\\sqrt{" + radicand.text + "}" : "\\sqrt[" + index + "]{" + radicand.text + "}";
      out.inexact = radicand.inexact;
      Rational root;
      if (index.empty() && radicand.value && radicand.value->exact_sqrt(root)) out.value = root;
      return out;
    }
    if (name == "\\binom") {
      Scalar n = argument(), k = argument();
      Scalar out;
      out.text = "\\binom{" + n.text + "}{" + k.text + "}";
      if (n.value && k.value && n.value->is_integer() && k.value->is_integer() && !k.value->is_negative() &&
          k.value->numerator() <= 256 && n.value->numerator() >= k.value->numerator())
        out.value = exactly([&] {
          Rational c = 1;
          for (long long i = 0; i < static_cast<long long>(k.value->numerator()); ++i)
            c = c * (*n.value - Rational(i)) / Rational(i + 1);
          return c;
        });
      return out;
    }
    if (name == "\\{" || name == "\\}") fail("a set brace inside an expression");
    Scalar out;
    out.text = name;
    if (name == "\\sin" || name == "\\cos" || name == "\\tan" || name == "\\log" || name == "\\ln" || name == "\\exp" ||
        name == "\\arcsin" || name == "\\arccos" || name == "\\arctan") {
      if (peek().text == "{" || peek().text == "(" || starts_primary())
        out.text.append("(").append(postfix().text).append(")");
    } else if (name == "\\overline" || name == "\\mathbf" || name == "\\vec" || name == "\\hat") {
      out.text.append("{").append(argument().text).append("}");
    }
    return out;
  }

  std::span<const MathToken> tokens_;
  Deadline& deadline_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Scalar parse_scalar(std::span<const MathToken> tokens, Deadline& deadline) {
  if (tokens.empty() || tokens.back().kind != Kind::end)
    throw Error("parse_scalar needs tokens ending in an end token");
  if (tokens.size() == 1) throw Error("not a math expression: it is empty");
  return ScalarParser(tokens, deadline).parse();
}

}  // namespace aha::rewards
