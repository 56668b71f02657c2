// Word problems built from a few stories: a quantity that grows by three one-digit
// additions, and the trace that works them out step by step.
#include "datasets/synthetic_arithmetic.hpp"

#include <fmt/format.h>

#include <array>
#include <random>
#include <unordered_set>

#include "core/error.hpp"

namespace aha::datasets {

namespace {

struct Story {
  const char* who;
  const char* item;
};
constexpr std::array<Story, 8> stories{{{"Tom", "apples"},
                                        {"Mia", "marbles"},
                                        {"Sam", "coins"},
                                        {"Ana", "books"},
                                        {"Leo", "stickers"},
                                        {"Ivy", "shells"},
                                        {"Max", "cards"},
                                        {"Zoe", "pens"}}};

}  // namespace

bool carries(int64_t a, int64_t b) { return a % 10 + b % 10 >= 10; }

std::vector<ArithmeticProblem> make_arithmetic_problems(uint64_t seed, int count, const TraceMix& mix) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < p; };
  std::vector<ArithmeticProblem> problems;
  problems.reserve(count);
  for (int n = 0; n < count; ++n) {
    const Story& story = stories[uniform(0, stories.size() - 1)];
    const int64_t start = uniform(5, 30);
    std::vector<int64_t> added(3);
    for (auto& a : added) a = uniform(2, 9);
    ArithmeticProblem p;
    p.question = fmt::format("{} has {} {}.", story.who, start, story.item);
    for (std::size_t i = 0; i < added.size(); ++i)
      p.question += fmt::format(" {} gets {} more.", i == 0 ? story.who : "Then", added[i]);
    p.question += fmt::format(" How many {} does {} have now?", story.item, story.who);

    std::string think;
    int64_t shown = start, right_total = start;
    for (const int64_t a : added) {
      right_total += a;
      const int64_t right = shown + a;
      int64_t written = right;
      if (carries(shown, a) && chance(mix.slip)) {
        written = right - 10;  // the carry forgotten
        ++p.slips;
      }
      think += fmt::format("{} + {} = {}. ", shown, a, written);
      if (written != right && chance(mix.reflect)) {
        think += fmt::format("Wait, let me re-check: {} + {} = {}. ", shown, a, right);
        written = right;
        ++p.caught;
      }
      shown = written;
    }
    p.answer = right_total;
    p.trace = fmt::format("<think> {}</think> <answer> {} </answer>", think, shown);
    problems.push_back(std::move(p));
  }
  return problems;
}

std::vector<ArithmeticProblem> make_held_out_problems(uint64_t seed, int count, const TraceMix& mix,
                                                      const std::vector<ArithmeticProblem>& train) {
  std::unordered_set<std::string> seen;
  for (const auto& p : train) seen.insert(p.question);
  std::vector<ArithmeticProblem> out;
  for (auto& p : make_arithmetic_problems(seed, 4 * count + 100, mix)) {
    if (static_cast<int>(out.size()) == count) break;
    if (seen.insert(p.question).second) out.push_back(std::move(p));
  }
  if (static_cast<int>(out.size()) < count)
    throw Error(fmt::format("only {} held-out problems differ from the training problems; ask for fewer", out.size()));
  return out;
}

}  // namespace aha::datasets
