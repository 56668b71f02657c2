// The demo task: answers are right, slips are wrong unless caught, and the mix follows its rates.
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "datasets/synthetic_arithmetic.hpp"

using namespace aha::datasets;

namespace {
int64_t traced_answer(const std::string& trace) {
  std::smatch m;
  REQUIRE(std::regex_search(trace, m, std::regex("<answer> (-?[0-9]+) </answer>$")));
  return std::stoll(m[1]);
}
}  // namespace

TEST_CASE("the same seed gives the same problems, another seed others") {
  const auto a = make_arithmetic_problems(1, 50), b = make_arithmetic_problems(1, 50),
             c = make_arithmetic_problems(2, 50);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].trace == b[i].trace);
  CHECK(a[0].question != c[0].question);
}

TEST_CASE("carrying steps slip at the slip rate, and only caught slips keep the answer right") {
  const auto problems = make_arithmetic_problems(7, 2000, TraceMix{.slip = 0.5, .reflect = 0.4});
  int slips = 0, caught = 0, carry_free = 0;
  for (const auto& p : problems) {
    INFO(p.question << "\n" << p.trace);
    CHECK(p.answer > 0);
    CHECK((traced_answer(p.trace) == p.answer) == (p.slips == p.caught));
    std::size_t rechecks = 0;
    for (auto at = p.trace.find("Wait, let me re-check"); at != std::string::npos;
         at = p.trace.find("Wait, let me re-check", at + 1))
      ++rechecks;
    CHECK(rechecks == static_cast<std::size_t>(p.caught));
    CHECK(p.trace.starts_with("<think> "));
    slips += p.slips;
    caught += p.caught;
    carry_free += p.slips == 0;
  }
  CHECK(caught == Approx(0.4 * slips).margin(0.05 * slips));
  CHECK(carry_free > 100);
}

TEST_CASE("a slip forgets exactly the carry") {
  CHECK(carries(17, 5));
  CHECK(carries(15, 5));
  CHECK_FALSE(carries(12, 5));
  for (const auto& p : make_arithmetic_problems(3, 300, TraceMix{.slip = 1.0, .reflect = 0.0})) {
    INFO(p.trace);
    std::smatch m;
    std::string rest = p.trace;
    while (std::regex_search(rest, m, std::regex("([0-9]+) \\+ ([0-9]+) = ([0-9]+)\\."))) {
      const int64_t a = std::stoll(m[1]), b = std::stoll(m[2]), written = std::stoll(m[3]);
      CHECK(written == (carries(a, b) ? a + b - 10 : a + b));
      rest = m.suffix();
    }
  }
}

TEST_CASE("held-out problems never repeat a training question") {
  const auto train = make_arithmetic_problems(1, 20000, TraceMix{.slip = 0.5, .reflect = 0.5});
  const auto held_out = make_held_out_problems(1000004, 200, TraceMix{.slip = 0.5, .reflect = 0.5}, train);
  REQUIRE(held_out.size() == 200);
  std::set<std::string> questions;
  for (const auto& p : train) questions.insert(p.question);
  for (const auto& p : held_out) CHECK(questions.insert(p.question).second);
  CHECK_THROWS_WITH(make_held_out_problems(3, 100000, {}, train), Catch::Contains("held-out problems"));
}
