// config.json -> ModelConfig, with the defaults transformers applies for each model type.
#include "policy/model_config.hpp"

#include <fmt/format.h>

#include <limits>
#include <type_traits>

#include <algorithm>
#include <fstream>

#include "core/error.hpp"

namespace aha::policy {

namespace {

using nlohmann::json;

struct Reader {
  const json& j;
  const std::string& source;

  template <class T>
  T get(const char* key, T fallback) const {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // nlohmann converts 1e12 to int by wrapping it: check the range first.
      if (it->is_number() && (it->get<double>() < static_cast<double>(std::numeric_limits<T>::min()) ||
                              it->get<double>() > static_cast<double>(std::numeric_limits<T>::max())))
        throw Error(fmt::format("{}: \"{}\" = {} is out of range", source, key, it->dump()));
    }
    try {
      return it->get<T>();
    } catch (const json::exception&) {
      throw Error(fmt::format("{}: \"{}\" has the wrong type ({})", source, key, it->dump()));
    }
  }

  template <class T>
  T require(const char* key) const {
    if (!j.contains(key) || j[key].is_null())
      throw Error(fmt::format("{}: the required key \"{}\" is missing", source, key));
    return get<T>(key, T{});
  }
};

ModelType type_of(const std::string& name, const std::string& source) {
  if (name == "llama") return ModelType::llama;
  if (name == "qwen2") return ModelType::qwen2;
  if (name == "qwen3") return ModelType::qwen3;
  if (name == "qwen3_moe") return ModelType::qwen3_moe;
  if (name == "qwen2_moe") return ModelType::qwen2_moe;
  if (name == "deepseek_v3") return ModelType::deepseek_v3;
  throw Error(fmt::format("{}: model_type \"{}\" is not supported (supported: llama, qwen2, qwen3, qwen3_moe, "
                          "qwen2_moe, deepseek_v3)",
                          source, name));
}

// rope_theta and scaling: transformers 4 writes rope_theta and rope_scaling, transformers 5 writes
// rope_parameters holding both.
void read_rope(const json& j, const std::string& source, ModelConfig& c) {
  const json* params = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) params = &j["rope_parameters"];
  else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) params = &j["rope_scaling"];
  Reader top{j, source};
  c.rope_theta = top.get<double>("rope_theta", c.rope_theta);
  if (!params) return;
  Reader r{*params, source};
  c.rope_theta = r.get<double>("rope_theta", c.rope_theta);
  c.rope_scaling.type = r.get<std::string>("rope_type", r.get<std::string>("type", "default"));
  if (c.rope_scaling.type != "default" && c.rope_scaling.type != "linear" && c.rope_scaling.type != "yarn")
    throw Error(
        fmt::format("{}: rope type \"{}\" is not supported (default, linear, yarn)", source, c.rope_scaling.type));
  c.rope_scaling.factor = r.get<double>("factor", 1.0);
  c.rope_scaling.original_max_position_embeddings =
      r.get<int>("original_max_position_embeddings", c.max_position_embeddings);
  c.rope_scaling.beta_fast = r.get<double>("beta_fast", 32.0);
  c.rope_scaling.beta_slow = r.get<double>("beta_slow", 1.0);
  c.rope_scaling.mscale = r.get<double>("mscale", 1.0);
  c.rope_scaling.mscale_all_dim = r.get<double>("mscale_all_dim", 0.0);
}

}  // namespace

bool ModelConfig::is_moe_layer(int layer) const {
  if (num_experts == 0) return false;
  if (type == ModelType::deepseek_v3) return layer >= first_k_dense_replace;
  if (std::find(mlp_only_layers.begin(), mlp_only_layers.end(), layer) != mlp_only_layers.end()) return false;
  return (layer + 1) % decoder_sparse_step == 0;
}

ModelConfig parse_model_config(const json& j, const std::string& source) {
  if (!j.is_object()) throw Error(fmt::format("{}: expected a JSON object", source));
  Reader r{j, source};
  ModelConfig c;
  c.raw = j;
  c.model_type = r.require<std::string>("model_type");
  c.type = type_of(c.model_type, source);
  c.vocab_size = r.require<int>("vocab_size");
  c.hidden_size = r.require<int>("hidden_size");
  c.intermediate_size = r.require<int>("intermediate_size");
  c.num_layers = r.require<int>("num_hidden_layers");
  c.num_heads = r.require<int>("num_attention_heads");
  c.num_kv_heads = r.get<int>("num_key_value_heads", c.num_heads);
  c.head_dim = r.get<int>("head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
  c.rms_norm_eps = r.get<double>("rms_norm_eps", 1e-6);
  c.max_position_embeddings = r.get<int>("max_position_embeddings", 0);
  read_rope(j, source, c);
  c.tie_word_embeddings = r.get<bool>("tie_word_embeddings", false);
  const bool qwen2_family = c.type == ModelType::qwen2 || c.type == ModelType::qwen2_moe;
  c.attention_bias = r.get<bool>("attention_bias", qwen2_family);
  c.qk_norm = c.type == ModelType::qwen3 || c.type == ModelType::qwen3_moe;
  c.router_aux_loss_coef = r.get<double>("router_aux_loss_coef", 0.0);

  if (c.type == ModelType::qwen3_moe || c.type == ModelType::qwen2_moe) {
    c.num_experts = r.get<int>("num_experts", r.get<int>("num_local_experts", 0));
    c.num_experts_per_tok = r.require<int>("num_experts_per_tok");
    c.moe_intermediate_size = r.require<int>("moe_intermediate_size");
    c.norm_topk_prob = r.get<bool>("norm_topk_prob", c.type == ModelType::qwen3_moe);
    c.decoder_sparse_step = r.get<int>("decoder_sparse_step", 1);
    c.mlp_only_layers = r.get<std::vector<int>>("mlp_only_layers", {});
    if (c.type == ModelType::qwen2_moe)
      c.shared_expert_intermediate_size = r.get<int>("shared_expert_intermediate_size", 0);
  }
  if (c.type == ModelType::deepseek_v3) {
    c.num_experts = r.require<int>("n_routed_experts");
    c.num_experts_per_tok = r.require<int>("num_experts_per_tok");
    c.moe_intermediate_size = r.require<int>("moe_intermediate_size");
    c.norm_topk_prob = r.get<bool>("norm_topk_prob", true);
    c.first_k_dense_replace = r.get<int>("first_k_dense_replace", 0);
    c.n_shared_experts = r.get<int>("n_shared_experts", 0);
    c.routed_scaling_factor = r.get<double>("routed_scaling_factor", 1.0);
    c.n_group = r.get<int>("n_group", 1);
    c.topk_group = r.get<int>("topk_group", 1);
    c.q_lora_rank = r.get<int>("q_lora_rank", 0);
    c.kv_lora_rank = r.require<int>("kv_lora_rank");
    c.qk_nope_head_dim = r.require<int>("qk_nope_head_dim");
    c.qk_rope_head_dim = r.require<int>("qk_rope_head_dim");
    c.v_head_dim = r.require<int>("v_head_dim");
    c.rope_interleaved = r.get<bool>("rope_interleave", true);
    c.head_dim = c.qk_rope_head_dim;
  }

  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
    c.bos_token_id = j["bos_token_id"].get<int>();
  if (j.contains("eos_token_id")) {
    const json& eos = j["eos_token_id"];
    if (eos.is_number_integer()) c.eos_token_ids = {eos.get<int>()};
    else if (eos.is_array()) c.eos_token_ids = eos.get<std::vector<int>>();
  }

  if (c.num_heads <= 0 || c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0)
    throw Error(fmt::format("{}: num_attention_heads ({}) must be a positive multiple of num_key_value_heads ({})",
                            source, c.num_heads, c.num_kv_heads));
  if (c.num_experts > 0 && (c.num_experts_per_tok <= 0 || c.num_experts_per_tok > c.num_experts))
    throw Error(fmt::format("{}: num_experts_per_tok ({}) must be between 1 and the number of experts ({})", source,
                            c.num_experts_per_tok, c.num_experts));
  if (c.n_group > 0 && c.num_experts > 0 && c.num_experts % c.n_group != 0)
    throw Error(
        fmt::format("{}: n_group ({}) must divide the number of experts ({})", source, c.n_group, c.num_experts));
  return c;
}

ModelConfig read_model_config(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  std::ifstream in(path);
  if (!in)
    throw Error(
        fmt::format("{}: cannot read config.json; is {} a Hugging Face model folder?", path.string(), dir.string()));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("{}: malformed JSON: {}", path.string(), e.what()));
  }
  return parse_model_config(j, path.string());
}

}  // namespace aha::policy
