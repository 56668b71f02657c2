// The demo task: answers are right, slips are wrong unless caught, and the mix follows its rates.
#include <catch2/catch.hpp>

#include <regex>

#include "rl/synthetic_arithmetic.hpp"

using namespace aha::rl;

namespace {
int64_t traced_answer(const std::string& trace) {
  std::smatch m;
  REQUIRE(std::regex_search(trace, m, std::regex("<answer> (-?[0-9]+) </answer>$")));
  return std::stoll(m[1]);
}
}  // namespace

TEST_CASE("the same seed gives the same problems, another seed others") {
  const auto a = make_arithmetic_problems(1, 50), b = make_arithmetic_problems(1, 50), c = make_arithmetic_problems(2, 50);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].trace == b[i].trace);
  CHECK(a[0].question != c[0].question);
}

TEST_CASE("clean and reflected traces end with the right answer, uncaught slips with a wrong one") {
  const auto problems = make_arithmetic_problems(7, 2000);
  int slips = 0, reflections = 0;
  for (const auto& p : problems) {
    INFO(p.question << "\n" << p.trace);
    CHECK(p.answer >= 0);
    const bool right = traced_answer(p.trace) == p.answer;
    CHECK(right == (!p.has_slip || p.reflects));
    CHECK((p.trace.find("Wait, let me re-check") != std::string::npos) == p.reflects);
    CHECK(p.trace.starts_with("<think> "));
    slips += p.has_slip;
    reflections += p.reflects;
  }
  CHECK(slips == Approx(600).margin(80));
  CHECK(reflections == Approx(240).margin(60));
}
