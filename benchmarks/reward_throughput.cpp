// Reward throughput: math verdicts per second on one core (GSM8K golds against right and wrong
// answers, and the Math-Verify pair table), and sandboxed code executions per second with every
// core busy. benchmarks/reward_throughput.sh runs it beside its peers.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "rewards/math_answer_extraction.hpp"
#include "rewards/math_equivalence.hpp"
#include "rewards/reward_pipeline.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::pair<std::string, std::string>> math_pairs(const std::string& gsm8k) {
  std::vector<std::pair<std::string, std::string>> pairs;
#define MATH_PAIR(number, topic, gold, prediction, math_verify, expected) pairs.emplace_back(gold, prediction);
#include "tests/fixtures/rewards/math_pairs.inc"
#undef MATH_PAIR
  std::ifstream in(gsm8k);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto reference = nlohmann::json::parse(line).at("answer").get<std::string>();
    const std::string gold = aha::rewards::extract_gold_answer(reference);
    pairs.emplace_back(gold, gold);
    pairs.emplace_back(gold, gold + "1");
  }
  return pairs;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

int main(int argc, char** argv) {
  const std::string gsm8k = argc > 1 ? argv[1] : "../shared/data/gsm8k/test.jsonl";
  const int executions = argc > 2 ? std::stoi(argv[2]) : 64;
  const auto pairs = math_pairs(gsm8k);
  std::size_t verdicts = 0, matches = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < 3.0)
    for (const auto& [gold, prediction] : pairs) {
      matches += aha::rewards::math_answers_match(gold, prediction) ? 1 : 0;
      ++verdicts;
    }
  fmt::print("math_pairs {}\nmath_verdicts_per_second_per_core {:.0f}\n", pairs.size(),
             static_cast<double>(verdicts) / seconds_since(start));

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const aha::rewards::RewardPipeline pipeline(  // the code rule's defaults: two programs per core
      {aha::rewards::RewardSpec{"code", 1.0, 0.0, aha::rewards::CodeKeys{}}});
  std::vector<aha::rewards::CompletionRecord> batch(static_cast<std::size_t>(executions));
  for (auto& record : batch) {
    record.completion = "def add(a, b):\n    return a + b\n";
    record.tests = "assert add(1, 2) == 3\n";
  }
  const auto run_start = Clock::now();
  double passed = 0;
  for (const auto& score : pipeline.score_batch(batch)) passed += score.total;
  fmt::print("sandboxed_executions {} (passed {})\nsandboxed_executions_per_second {:.1f}\ncores {}\n", executions,
             passed, executions / seconds_since(run_start), cores);
  return passed == executions ? 0 : 1;
}
