// The [rollout] section: how groups of completions are sampled.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_binder.hpp"

namespace aha::rollout {

struct RolloutSection {
  int group_size = 8;         // G completions per prompt
  int prompts_per_step = 16;  // prompts whose groups make one optimizer step
  int max_new_tokens = 512;
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;  // 0: off
  double min_p = 0.0;
  std::vector<std::string> stop;
  int workers = 1;
  int queue_size = 4;     // groups buffered between the workers and the trainer
  int max_staleness = 0;  // step n samples with the weights after step n - 1 - max_staleness
  std::vector<std::string> endpoints;
  std::string token_file;  // the bearer token of the remote workers
  double request_timeout_s = 600.0;
  std::string weights_folder;  // shared storage the weights travel through; empty: request bodies
  std::string weights_route = "/v1/weights";
};

inline constexpr std::string_view rollout_section_doc =
    "How completions are sampled: G per prompt, with the sampling filters applied in the order "
    "temperature, top-k, top-p, min-p. Logits are divided by the same temperature in training.";

void bind(config::Binder& b, RolloutSection& s);

}  // namespace aha::rollout
