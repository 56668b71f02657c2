// `aha pretrain` trains the embedded demo's base model from scratch: a small qwen2_moe (routed
// experts plus a sigmoid-gated shared expert), or a dense qwen2 (the distillation demo's student), learns the synthetic
// arithmetic traces by supervised fine-tuning, and is saved as a Hugging Face folder with its tokenizer. Its TOML
// sections: [model] (architecture, tokenizer, output folder), [data] (the synthetic problems), [optim], [train] and
// [log] (as in experiment configs).
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "rl/training_sections.hpp"

namespace aha::rl {

enum class BaseArchitecture { qwen2_moe, qwen2 };

struct PretrainModelSection {
  BaseArchitecture architecture = BaseArchitecture::qwen2_moe;
  std::string tokenizer;  // folder with tokenizer.json and tokenizer_config.json
  std::string output;     // where the base model is saved
  int hidden_size = 128;
  int num_layers = 4;
  int num_heads = 4;
  int num_kv_heads = 2;
  int intermediate_size = 256;  // qwen2_moe: the dense first layer; qwen2: every layer
  // qwen2_moe only:
  int num_experts = 4;
  int experts_per_token = 2;
  int moe_intermediate_size = 128;
  int shared_expert_intermediate_size = 128;
  double router_aux_loss_coef = 0.01;
  int max_position_embeddings = 512;
};

struct PretrainDataSection {
  std::string output;  // folder for train.jsonl and eval.jsonl (question, answer)
  int train_problems = 4000;
  int eval_problems = 200;
  int64_t seed = 1;
  double slip = 0.3;
  double reflect = 0.4;
};

struct PretrainTrainSection {
  int steps = 300;
  int batch_size = 32;
  int micro_batch_tokens = 8192;
  int64_t seed = 0;
  int threads = 0;
  int micro_batch_threads = 0;
  bool activation_checkpointing = false;
};

struct PretrainConfig {
  PretrainModelSection model;
  PretrainDataSection data;
  OptimSection optim;
  PretrainTrainSection train;
  records::LogSection log;
};

PretrainConfig load_pretrain_config(const std::filesystem::path& file, std::span<const std::string> overrides = {});
// The resolved config as TOML, every default filled in.
std::string to_toml(const PretrainConfig& config);
// config.json of the base model, for a tokenizer of `vocab_size` tokens.
nlohmann::json architecture_json(const PretrainModelSection& model, int64_t vocab_size, int64_t eos_id, int64_t pad_id);
// The Markdown reference of the pretrain config's sections.
std::string pretrain_config_reference();

}  // namespace aha::rl
