// Learning-rate schedules against transformers' (fixture from tests/rl/make_lr_fixture.py).
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "rl/lr_schedule.hpp"
#include "tests/test_paths.hpp"

using namespace aha::rl;

TEST_CASE("warmup then constant, linear and cosine decay equal transformers' schedules") {
  const auto fixture = nlohmann::json::parse(std::ifstream(source_dir() / "tests/fixtures/grpo/lr_schedules.json"));
  const std::tuple<const char*, Schedule, double> cases[] = {{"constant", Schedule::constant, 0.0},
                                                             {"linear", Schedule::linear, 0.0},
                                                             {"cosine", Schedule::cosine, 0.0},
                                                             {"cosine_min_0.1", Schedule::cosine, 0.1}};
  for (const auto& [name, schedule, min_ratio] : cases) {
    INFO(name);
    OptimSection optim;
    optim.lr = fixture["lr"];
    optim.warmup_steps = fixture["warmup"];
    optim.schedule = schedule;
    optim.min_lr_ratio = min_ratio;
    const auto& expected = fixture["schedules"][name];
    const int steps = fixture["steps"];
    for (int step = 0; step < steps; ++step)
      CHECK(learning_rate(optim, step, steps) == Approx(expected[step].get<double>()).margin(1e-12));
  }
}
