// Tiny runs of aha train for the trainer tests: a random tiny qwen2_moe with the demo tokenizer and
// 40 arithmetic problems, 4 steps of 2 prompts x 3 completions, in a folder of this process's own.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rl/experiment_config.hpp"

namespace trainer_runs {

inline const std::filesystem::path work = std::filesystem::temp_directory_path() /
                                          ("aha-grpo-" + std::to_string(::getpid()));

// The model and the problems, made once per process.
void make_fixture();
// The experiment of run `run` (its output folder under work), with `overrides` applied and
// `rewards`, more [[reward]] entries as TOML.
aha::rl::ExperimentConfig experiment(const std::string& run, std::vector<std::string> overrides = {},
                                     const std::string& rewards = "");
// The lines of the run's metrics.jsonl.
std::vector<nlohmann::json> metrics_of(const std::string& run);
// What a run computes, without the wall-clock timings, the memory held and the evaluations.
nlohmann::json training_numbers(nlohmann::json line);

}  // namespace trainer_runs
