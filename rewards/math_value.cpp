// Structural parsing of math answers over their tokens.
#include "rewards/math_value.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "rewards/math_scalar.hpp"
#include "rewards/math_tokens.hpp"

namespace aha::rewards {

namespace {

using Tokens = std::vector<MathToken>;

constexpr std::array<std::string_view, 12> relation_tokens{"=",    "<",     ">",    "\\leq", "\\le", "\\geq",
                                                           "\\ge", "\\neq", "\\ne", "\\in",  "\\lt", "\\gt"};

std::string relation_name(const std::string& token) {
  if (token == "\\le") return "\\leq";
  if (token == "\\ge") return "\\geq";
  if (token == "\\ne") return "\\neq";
  if (token == "\\lt") return "<";
  if (token == "\\gt") return ">";
  return token;
}

bool is_open(const MathToken& t) { return t.text == "(" || t.text == "[" || t.text == "{" || t.text == "\\{"; }
bool is_close(const MathToken& t) { return t.text == ")" || t.text == "]" || t.text == "}" || t.text == "\\}"; }

std::string joined_text(const Tokens& tokens) {
  std::string out;
  for (const auto& t : tokens) out += t.text;
  return out;
}

// Positions of top-level tokens (outside any bracket) that satisfy `pick`.
template <class Pick>
std::vector<std::size_t> top_level(const Tokens& tokens, Pick pick) {
  std::vector<std::size_t> at;
  int depth = 0;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (is_open(tokens[i])) ++depth;
    else if (is_close(tokens[i])) depth = std::max(0, depth - 1);
    else if (depth == 0 && pick(tokens[i])) at.push_back(i);
  }
  return at;
}

Tokens slice(const Tokens& tokens, std::size_t begin, std::size_t end) {
  Tokens out(tokens.begin() + static_cast<std::ptrdiff_t>(begin), tokens.begin() + static_cast<std::ptrdiff_t>(end));
  out.push_back(MathToken{});
  return out;
}

// The index of the bracket that closes the one at `open`, or npos.
std::size_t matching_close(const Tokens& tokens, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i + 1 < tokens.size(); ++i) {
    if (is_open(tokens[i])) ++depth;
    else if (is_close(tokens[i]) && --depth == 0) return i;
  }
  return std::string::npos;
}

MathValue parse_tokens(const Tokens& tokens, Deadline& deadline);

MathValue sequence(const Tokens& tokens, const std::vector<std::size_t>& cuts, std::string open, std::string close,
                   Deadline& deadline) {
  MathValue v;
  v.kind = MathValue::Kind::sequence;
  v.open = std::move(open);
  v.close = std::move(close);
  std::size_t begin = 0;
  for (std::size_t k = 0; k <= cuts.size(); ++k) {
    const std::size_t end = k < cuts.size() ? cuts[k] : tokens.size() - 1;
    v.items.push_back(parse_tokens(slice(tokens, begin, end), deadline));
    begin = end + 1;
  }
  v.text = v.open;
  for (std::size_t k = 0; k < v.items.size(); ++k) v.text += (k ? "," : "") + v.items[k].text;
  v.text += v.close;
  return v;
}

MathValue scalar_value(const Tokens& tokens, Deadline& deadline) {
  MathValue v;
  try {
    Scalar s = parse_scalar(tokens, deadline);
    v.kind = s.value ? MathValue::Kind::number : MathValue::Kind::text;
    v.number = s.value;
    v.inexact = s.inexact;
    v.percent = s.percent;
    v.text = std::move(s.text);
  } catch (const DeadlineExceeded&) {
    throw;
  } catch (const Error&) {
    v.kind = MathValue::Kind::text;
    v.text = joined_text(tokens);
  }
  return v;
}

MathValue parse_tokens(const Tokens& tokens, Deadline& deadline) {
  deadline.check();
  const std::size_t last = tokens.size() - 2;  // tokens end with the end token
  if (tokens.size() < 2) return MathValue{};
  const auto unions = top_level(tokens, [](const MathToken& t) { return t.text == "\\cup" || t.text == "U"; });
  if (!unions.empty()) return sequence(tokens, unions, "\\cup", "", deadline);
  const auto commas = top_level(tokens, [](const MathToken& t) { return t.text == ","; });
  if (!commas.empty()) return sequence(tokens, commas, ",", "", deadline);
  const auto relations = top_level(tokens, [](const MathToken& t) {
    return std::find(relation_tokens.begin(), relation_tokens.end(), t.text) != relation_tokens.end();
  });
  if (!relations.empty()) {
    MathValue v = sequence(tokens, relations, "", "", deadline);
    v.kind = MathValue::Kind::relation;
    v.text.clear();
    for (std::size_t k = 0; k < v.items.size(); ++k) {
      if (k) {
        v.relations.push_back(relation_name(tokens[relations[k - 1]].text));
        v.text += v.relations.back();
      }
      v.text += v.items[k].text;
    }
    return v;
  }
  const MathToken& first = tokens.front();
  if (is_open(first) && matching_close(tokens, 0) == last && is_close(tokens[last])) {
    const Tokens inner = slice(tokens, 1, last);
    const auto inner_commas = top_level(inner, [](const MathToken& t) { return t.text == ","; });
    if (first.text == "\\{") return sequence(inner, inner_commas, "\\{", "\\}", deadline);
    if (first.text == "{") return parse_tokens(inner, deadline);
    if (!inner_commas.empty()) return sequence(inner, inner_commas, first.text, tokens[last].text, deadline);
  }
  return scalar_value(tokens, deadline);
}

}  // namespace

bool MathValue::is_equation() const {
  return kind == Kind::relation &&
         std::all_of(relations.begin(), relations.end(), [](const std::string& r) { return r == "="; });
}

bool MathValue::is_assignment() const {
  if (!is_equation() || items.empty() || items.front().kind != Kind::text) return false;
  const std::string& lhs = items.front().text;
  const std::string name = lhs.substr(0, lhs.find('_'));
  return !name.empty() && (std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalpha(c); }) ||
                           (name[0] == '\\' && name.size() > 1));
}

bool MathValue::is_set() const { return kind == Kind::sequence && (open == "\\{" || open == "," || open == "\\cup"); }

MathValue parse_math_value(std::string_view normalised, Deadline& deadline) {
  try {
    return parse_tokens(tokenize_math(normalised), deadline);
  } catch (const DeadlineExceeded&) {
    throw;
  } catch (const Error&) {
    MathValue v;
    v.text.reserve(normalised.size());
    for (const char c : normalised)
      if (!std::isspace(static_cast<unsigned char>(c))) v.text += c;
    return v;
  }
}

std::optional<MathValue> inequality_as_interval(const MathValue& relation) {
  if (relation.kind != MathValue::Kind::relation || relation.items.size() < 2) return std::nullopt;
  const auto is_variable = [](const MathValue& v) {
    return v.kind == MathValue::Kind::text && !v.text.empty() &&
           std::all_of(v.text.begin(), v.text.end(), [](unsigned char c) { return std::isalpha(c) || c == '_'; });
  };
  auto bound = [](std::string text) {
    MathValue v;
    v.text = std::move(text);
    return v;
  };
  const auto& r = relation.relations;
  const auto& items = relation.items;
  if (r.size() == 1 && r[0] == "\\in" && is_variable(items[0])) return items[1];
  const auto lower = [](const std::string& op) { return op == "<" ? "(" : op == "\\leq" ? "[" : ""; };
  const auto upper = [](const std::string& op) { return op == "<" ? ")" : op == "\\leq" ? "]" : ""; };
  const auto flip = [](const std::string& op) { return op == ">" ? "<" : op == "\\geq" ? "\\leq" : op; };
  MathValue interval;
  interval.kind = MathValue::Kind::sequence;
  if (r.size() == 2 && is_variable(items[1])) {
    const bool descending = r[0] == ">" || r[0] == "\\geq";
    const std::string op0 = flip(r[0]), op1 = flip(r[1]);
    if (*lower(op0) == '\0' || *lower(op1) == '\0' || descending != (r[1] == ">" || r[1] == "\\geq"))
      return std::nullopt;
    interval.open = lower(descending ? op1 : op0);
    interval.close = upper(descending ? op0 : op1);
    interval.items = descending ? std::vector{items[2], items[0]} : std::vector{items[0], items[2]};
  } else if (r.size() == 1 && (is_variable(items[0]) || is_variable(items[1]))) {
    const bool variable_left = is_variable(items[0]);
    const MathValue& other = variable_left ? items[1] : items[0];
    std::string op = r[0];
    if (!variable_left) op = op == "<" ? ">" : op == ">" ? "<" : op == "\\leq" ? "\\geq" : op == "\\geq" ? "\\leq" : op;
    if (op == "<" || op == "\\leq") {
      interval.open = "(";
      interval.close = upper(op);
      interval.items = {bound("-\\infty"), other};
    } else if (op == ">" || op == "\\geq") {
      interval.open = lower(flip(op));
      interval.close = ")";
      interval.items = {other, bound("\\infty")};
    } else {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  interval.text = interval.open + interval.items[0].text + "," + interval.items[1].text + interval.close;
  return interval;
}

}  // namespace aha::rewards
