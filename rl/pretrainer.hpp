// `aha pretrain`: the demo's base model from nothing. Generates the synthetic arithmetic problems
// (train and held-out JSONL, written for `aha train`), builds a small qwen2_moe (or dense qwen2)
// with random weights, trains it on the problems' R1-Zero traces with the SFT step (the mean
// negative log-likelihood of each trace, plus the router loss for MoE), and saves it as a Hugging
// Face folder with its tokenizer. Metrics go to pretrain_logs/ beside the model.
#pragma once

#include "rl/pretrain_config.hpp"

namespace aha::rl {

void pretrain(const PretrainConfig& config);

}  // namespace aha::rl
