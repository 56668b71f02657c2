// Word problems built from a few templates: a quantity changed by two or three operations.
#include "rl/synthetic_arithmetic.hpp"

#include <fmt/format.h>

#include <array>
#include <random>

namespace aha::rl {

namespace {

struct Story {
  const char* who;
  const char* item;
};
constexpr std::array<Story, 8> stories{{{"Tom", "apples"}, {"Mia", "marbles"}, {"Sam", "coins"}, {"Ana", "books"},
                                         {"Leo", "stickers"}, {"Ivy", "shells"}, {"Max", "cards"}, {"Zoe", "pens"}}};

struct Step {
  char op;  // '+', '-', '*'
  int64_t operand;
};

std::string phrase(const Step& s, const Story& story) {
  switch (s.op) {
    case '+': return fmt::format("gets {} more", s.operand);
    case '-': return fmt::format("gives away {}", s.operand);
    default: return fmt::format("then has {} times as many {}", s.operand, story.item);
  }
}

int64_t apply(int64_t value, const Step& s) {
  return s.op == '+' ? value + s.operand : s.op == '-' ? value - s.operand : value * s.operand;
}

}  // namespace

std::vector<ArithmeticProblem> make_arithmetic_problems(uint64_t seed, int count, const TraceMix& mix) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < p; };
  std::vector<ArithmeticProblem> problems;
  problems.reserve(count);
  for (int n = 0; n < count; ++n) {
    const Story& story = stories[uniform(0, stories.size() - 1)];
    int64_t value = uniform(2, 20);
    const int64_t start = value;
    std::vector<Step> steps;
    const int64_t length = uniform(2, 3);
    for (int64_t i = 0; i < length; ++i) {
      Step s{"+-*"[uniform(0, 2)], 0};
      if ((s.op == '*' && value > 40) || (s.op == '-' && value < 2)) s.op = '+';  // stay small and positive
      if (s.op == '*') s.operand = uniform(2, 3);
      else if (s.op == '-') s.operand = uniform(1, value - 1);
      else s.operand = uniform(1, 15);
      value = apply(value, s);
      steps.push_back(s);
    }
    ArithmeticProblem p;
    p.answer = value;
    std::string question = fmt::format("{} has {} {}.", story.who, start, story.item);
    for (std::size_t i = 0; i < steps.size(); ++i)
      question += fmt::format(" {} {}.", i == 0 ? story.who : "Then", phrase(steps[i], story));
    p.question = question + fmt::format(" How many {} does {} have now?", story.item, story.who);

    p.has_slip = chance(mix.slip);
    p.reflects = p.has_slip && chance(mix.reflect);
    const std::size_t slip_at = static_cast<std::size_t>(uniform(0, static_cast<int64_t>(steps.size()) - 1));
    std::string think;
    int64_t shown = start;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const int64_t right = apply(shown, steps[i]);
      int64_t written = right;
      if (p.has_slip && i == slip_at) written = right + (chance(0.5) ? 1 : -1) * uniform(1, 3);
      think += fmt::format("{} {} {} = {}. ", shown, steps[i].op, steps[i].operand, written);
      if (written != right && p.reflects) {
        think += fmt::format("Wait, let me re-check: {} {} {} = {}. ", shown, steps[i].op, steps[i].operand, right);
        written = right;
      }
      shown = written;
    }
    p.trace = fmt::format("<think> {}</think> <answer> {} </answer>", think, shown);
    problems.push_back(std::move(p));
  }
  return problems;
}

}  // namespace aha::rl
