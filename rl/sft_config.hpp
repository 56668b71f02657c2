// `aha sft` configs: supervised fine-tuning of a student on prompt/completion pairs (the traces
// `aha distill` writes, or your own). Sections: [model] (the student), [data], [optim], [train],
// [eval] and [log]; [optim], [eval] and [log] are the experiment config's.
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include "policy/model_section.hpp"
#include "rl/training_sections.hpp"

namespace aha::rl {

struct SftTrainSection {
  int epochs = 1;
  int steps = 0;  // 0: epochs * pairs / batch_size, rounded up
  int batch_size = 32;
  int micro_batch_tokens = 8192;
  std::int64_t seed = 0;
  std::string output_dir = "runs/sft";
  int save_every = 50;
  int eval_every = 0;
  int threads = 0;
  int micro_batch_threads = 0;
  bool activation_checkpointing = false;
};

struct SftConfig {
  policy::ModelSection model;
  datasets::SftDataSection data;
  OptimSection optim;
  SftTrainSection train;
  EvalSection eval;
  records::LogSection log;
};

// Reads `file` and applies `section.key=value` overrides; throws ConfigError listing every problem.
SftConfig load_sft_config(const std::filesystem::path& file, std::span<const std::string> overrides = {});
// The resolved config as TOML, every default filled in.
std::string to_toml(const SftConfig& config);
// The Markdown reference of the SFT config's sections.
std::string sft_config_reference();

}  // namespace aha::rl
