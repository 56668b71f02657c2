// The architecture of a checkpoint, read from its Hugging Face config.json. One struct covers the
// supported model types: qwen2, llama (dense), qwen3 (dense, q/k norm), qwen3_moe, qwen2_moe
// (softmax top-k router, shared expert) and deepseek_v3 (MLA, sigmoid grouped router).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aha::policy {

enum class ModelType { llama, qwen2, qwen3, qwen3_moe, qwen2_moe, deepseek_v3 };

struct RopeScaling {
  std::string type = "default";  // default, linear, yarn
  double factor = 1.0;
  int original_max_position_embeddings = 0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
};

struct ModelConfig {
  ModelType type = ModelType::qwen2;
  std::string model_type;  // as written in config.json
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;  // dense MLP layers
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool rope_interleaved = false;  // deepseek_v3 rotates (even, odd) pairs
  int max_position_embeddings = 0;
  bool attention_bias = false;  // q/k/v projections carry a bias
  bool qk_norm = false;         // qwen3: RMSNorm on each head of q and k
  bool tie_word_embeddings = false;

  // Mixture of experts (num_experts == 0: dense everywhere).
  int num_experts = 0;
  int num_experts_per_tok = 0;
  int moe_intermediate_size = 0;
  bool norm_topk_prob = false;
  int decoder_sparse_step = 1;
  std::vector<int> mlp_only_layers;
  int first_k_dense_replace = 0;
  int shared_expert_intermediate_size = 0;  // qwen2_moe: one sigmoid-gated shared expert
  int n_shared_experts = 0;                 // deepseek_v3: ungated shared experts
  double routed_scaling_factor = 1.0;
  int n_group = 1;
  int topk_group = 1;
  double router_aux_loss_coef = 0.0;

  // Multi-head latent attention (deepseek_v3).
  int q_lora_rank = 0;  // 0: q is projected directly
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;

  std::optional<int> bos_token_id;
  std::vector<int> eos_token_ids;

  nlohmann::json raw;  // the whole config.json, written back unchanged on save

  bool is_moe_layer(int layer) const;
  bool uses_mla() const { return type == ModelType::deepseek_v3; }
};

// Parses config.json text; `source` names it in errors.
ModelConfig parse_model_config(const nlohmann::json& json, const std::string& source);
// Reads DIR/config.json.
ModelConfig read_model_config(const std::filesystem::path& dir);

}  // namespace aha::policy
