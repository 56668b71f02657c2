// An experiment: every section of a TOML config, read, validated, written back and documented
// through one walk over the sections' bind() functions.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "policy/model_section.hpp"
#include "rewards/reward_spec.hpp"
#include "rl/training_sections.hpp"
#include "rollout/rollout_section.hpp"

namespace aha::rl {

struct ExperimentConfig {
  policy::ModelSection model;
  datasets::DataSection data;
  rollout::RolloutSection rollout;
  std::vector<rewards::RewardSpec> rewards;
  GrpoSection grpo;
  OptimSection optim;
  TrainSection train;
  EvalSection eval;
  records::LogSection log;
};

// Reads `file`, applies each `section.key=value` override in order, validates everything and
// fills every default. Throws ConfigError listing every problem, UsageError for a malformed override.
ExperimentConfig load_experiment(const std::filesystem::path& file, std::span<const std::string> overrides = {});

// The same, from TOML text; `source_name` is what messages call it.
ExperimentConfig parse_experiment(std::string_view text, const std::string& source_name,
                                  std::span<const std::string> overrides = {});

// The resolved config as TOML: every key, defaults filled in; it parses back to the same config.
std::string to_toml(const ExperimentConfig& config);

// The Markdown reference of every section and key (the generated part of docs/config.md).
std::string config_reference();

}  // namespace aha::rl
