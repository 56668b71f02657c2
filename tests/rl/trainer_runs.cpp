// The tiny runs of the trainer tests.
#include "tests/rl/trainer_runs.hpp"

#include <fstream>

#include "tests/rl/tiny_models.hpp"

namespace trainer_runs {

void make_fixture() {
  if (std::filesystem::exists(work / "model")) return;
  save_tiny_demo_model(work / "model", aha::rl::BaseArchitecture::qwen2_moe, 3);
  write_arithmetic_problems(work / "train.jsonl", 5, 40);
}

aha::rl::ExperimentConfig experiment(const std::string& run, std::vector<std::string> overrides,
                                     const std::string& rewards) {
  make_fixture();
  const std::string text = R"(
[model]
path = ")" + (work / "model").string() +
                           R"("
[data]
train = ")" + (work / "train.jsonl").string() +
                           R"("
eval = ")" + (work / "train.jsonl").string() +
                           R"("
eval_limit = 4
[rollout]
group_size = 3
prompts_per_step = 2
max_new_tokens = 6
temperature = 1.5
[[reward]]
rule = "math"
[[reward]]
rule = "regex"
pattern = "[0-9]"
weight = 0.5
)" + rewards + R"(
[optim]
lr = 1e-2
schedule = "constant"
[train]
steps = 4
save_every = 2
threads = 1
output_dir = ")" + (work / run).string() +
                           R"("
[eval]
samples = 2
[log]
progress = false
tensorboard = false
samples_every = 0
)";
  return aha::rl::parse_experiment(text, "test.toml", overrides);
}

std::vector<nlohmann::json> metrics_of(const std::string& run) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(work / run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

nlohmann::json training_numbers(nlohmann::json line) {
  nlohmann::json kept;
  for (const auto& [key, value] : line.items())
    if (!key.ends_with("_s") && !key.starts_with("eval/") && key != "peak_rss_gb") kept[key] = value;
  return kept;
}

}  // namespace trainer_runs
