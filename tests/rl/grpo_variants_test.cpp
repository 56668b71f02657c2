// Variants of the GRPO loop end to end on the tiny runs: GSPO's sequence-level ratios, sampling
// ahead with several updates per step and rollout correction (repeats, resumes exactly, refuses a
// damaged checkpoint), and a reward program in Python and a reward server driving a run.
#include <ATen/ATen.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "policy/checkpoint.hpp"
#include "rl/grpo_trainer.hpp"
#include "tests/rewards/scoring_server.hpp"
#include "tests/rl/trainer_runs.hpp"

using namespace aha;
using namespace aha::rl;
using namespace trainer_runs;

TEST_CASE("sampling ahead logs its staleness, repeats bit for bit, resumes exactly from a checkpoint taken while a "
          "step was sampled ahead, and names a damaged one") {
  const std::vector<std::string> ahead{"rollout.max_staleness=1", "grpo.rollout_correction=sequence_mask",
                                       "grpo.importance_sampling_level=sequence", "grpo.iterations=2",
                                       "grpo.mini_batches=2"};
  for (const char* run : {"ahead-a", "ahead-b"}) std::filesystem::remove_all(work / run);
  train(experiment("ahead-a", ahead), {});
  train(experiment("ahead-b", ahead), {});
  // A run killed after its step-2 checkpoint: the folder as it was then.
  REQUIRE(std::filesystem::exists(work / "ahead-a/checkpoint-2/sampled_ahead.json"));
  const auto killed_at_step_2 = [&](const std::string& run) {
    std::filesystem::remove_all(work / run);
    std::filesystem::create_directories(work / run);
    for (const char* file : {"config.toml", "metrics.jsonl"})
      std::filesystem::copy_file(work / "ahead-a" / file, work / run / file);
    std::filesystem::copy(work / "ahead-a/checkpoint-2", work / run / "checkpoint-2",
                          std::filesystem::copy_options::recursive);
    std::ofstream(work / run / "latest") << "checkpoint-2\n";
  };
  killed_at_step_2("ahead-killed");
  killed_at_step_2("ahead-damaged");
  std::ofstream(work / "ahead-damaged/checkpoint-2/sampled_ahead.json") << R"([{"step": 3}])";
  CHECK_THROWS_WITH(train(experiment("ahead-damaged", ahead), TrainOptions{true}),
                    Catch::Contains("checkpoint at step 2: sampled_ahead.json") && Catch::Contains("rollouts"));
  train(experiment("ahead-killed", ahead), TrainOptions{true});
  const auto a = metrics_of("ahead-a"), b = metrics_of("ahead-b"), resumed = metrics_of("ahead-killed");
  REQUIRE(a.size() == 4);
  REQUIRE(resumed.size() == 4);
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("step " << i + 1);
    CHECK(a[i]["staleness"].get<double>() == (i == 0 ? 0.0 : 1.0));
    CHECK(a[i]["rollout_correction_max"].get<double>() <= 3.0);
    CHECK(training_numbers(a[i]) == training_numbers(b[i]));
    CHECK(training_numbers(a[i]) == training_numbers(resumed[i]));
  }
  const auto x = policy::CheckpointTensors::open(work / "ahead-a/final"),
             y = policy::CheckpointTensors::open(work / "ahead-killed/final");
  for (const auto& name : x.names()) CHECK(at::equal(x.tensor(name), y.tensor(name)));
}

TEST_CASE("a reward program in Python drives a run: its scores, flags and failures reach the metrics") {
  std::filesystem::remove_all(work / "command");
  make_fixture();
  std::ofstream(work / "scorer.py") << "import json, sys\n"
                                       "for line in sys.stdin:\n"
                                       "    r = json.loads(line)\n"
                                       "    ok = r['answer'] in r['completion'] and 'question' in r and r['prompt']\n"
                                       "    print(json.dumps({'score': 2.0, 'correct': bool(ok)}))\n";
  train(experiment("command", {"train.steps=2"},
                   "[[reward]]\nrule = \"command\"\nname = \"mine\"\ncommand = [\"python3\", \"" +
                       (work / "scorer.py").string() + "\"]\n"),
        {});
  const auto lines = metrics_of("command");
  REQUIRE(lines.size() == 2);
  for (const auto& line : lines) {
    CHECK(line["reward/mine"].get<double>() == 2.0);
    CHECK(line["reward_failures/mine"].get<double>() == 0.0);
    CHECK(line.contains("accuracy"));
  }
}

TEST_CASE("a run with GSPO's sequence-level ratios trains and repeats") {
  for (const char* run : {"gspo-a", "gspo-b"}) {
    std::filesystem::remove_all(work / run);
    train(experiment(run, {"grpo.importance_sampling_level=sequence", "grpo.iterations=2", "train.steps=2"}), {});
  }
  const auto a = metrics_of("gspo-a"), b = metrics_of("gspo-b");
  REQUIRE(a.size() == 2);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(std::isfinite(a[i]["loss"].get<double>()));
    CHECK(a[i]["loss"] == b[i]["loss"]);
    CHECK(a[i]["grad_norm"] == b[i]["grad_norm"]);
  }
}

TEST_CASE("a reward server drives a run over HTTP: its scores reach the metrics") {
  std::filesystem::remove_all(work / "http");
  const ScoringServer server;
  train(experiment(
            "http", {"train.steps=2"},
            "[[reward]]\nrule = \"http\"\nname = \"server\"\nurl = \"" + server.url("/score") + "\"\nbatch_size = 4\n"),
        {});
  const auto lines = metrics_of("http");
  REQUIRE(lines.size() == 2);
  for (const auto& line : lines) {
    CHECK(line["reward/server"].get<double>() > 0.0);  // the completions' mean length in characters
    CHECK(line["reward_failures/server"].get<double>() == 0.0);
  }
}
