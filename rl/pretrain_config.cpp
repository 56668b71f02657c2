// Keys of the pretrain config and the walk that reads, documents and checks them.
#include "rl/pretrain_config.hpp"

#include "core/config_docs.hpp"
#include "core/config_reader.hpp"
#include "core/config_writer.hpp"

namespace aha::rl {

namespace {

using config::Binder;
constexpr int unbounded = 1 << 30;

constexpr std::array<std::pair<BaseArchitecture, std::string_view>, 2> architecture_names{
    {{BaseArchitecture::qwen2_moe, "qwen2_moe"}, {BaseArchitecture::qwen2, "qwen2"}}};

void bind(Binder& b, PretrainModelSection& s) {
  b.choice({"architecture", "qwen2_moe (routed experts and a shared expert) or qwen2 (dense); the expert keys apply "
                            "to qwen2_moe only"},
           s.architecture, BaseArchitecture::qwen2_moe, architecture_names);
  b.text({"tokenizer", "folder with the tokenizer.json (and tokenizer_config.json) the model uses"}, s.tokenizer,
         std::nullopt);
  b.text({"output", "folder the base model is saved to, as a Hugging Face model folder"}, s.output, std::nullopt);
  b.integer({"hidden_size", "width of the residual stream"}, s.hidden_size, 128, {8, 1 << 16});
  b.integer({"num_layers", "decoder layers; the first is dense, the others mixtures of experts"}, s.num_layers, 4,
            {2, 256});
  b.integer({"num_heads", "attention heads"}, s.num_heads, 4, {1, 256});
  b.integer({"num_kv_heads", "key/value heads (grouped-query attention); divides num_heads"}, s.num_kv_heads, 2,
            {1, 256});
  b.integer({"intermediate_size", "width of the dense MLP (qwen2_moe: its first layer; qwen2: every layer)"},
            s.intermediate_size, 256, {1, 1 << 20});
  b.integer({"num_experts", "routed experts per MoE layer"}, s.num_experts, 4, {2, 1024});
  b.integer({"experts_per_token", "experts each token is routed to (top-k)"}, s.experts_per_token, 2, {1, 64});
  b.integer({"moe_intermediate_size", "width of each routed expert"}, s.moe_intermediate_size, 128, {1, 1 << 20});
  b.integer({"shared_expert_intermediate_size", "width of the sigmoid-gated shared expert"},
            s.shared_expert_intermediate_size, 128, {1, 1 << 20});
  b.number({"router_aux_loss_coef", "weight of the load-balancing loss while pretraining"}, s.router_aux_loss_coef,
           0.01, {0.0, 10.0});
  b.integer({"max_position_embeddings", "longest sequence the model is meant for"}, s.max_position_embeddings, 512,
            {16, 1 << 20});
}

void bind(Binder& b, PretrainDataSection& s) {
  b.text({"output", "folder for train.jsonl and eval.jsonl, the problems GRPO then trains and evaluates on"}, s.output,
         std::nullopt);
  b.integer({"train_problems", "problems whose traces the base model learns"}, s.train_problems, 4000, {1, unbounded});
  b.integer({"eval_problems", "held-out problems, drawn from another seed"}, s.eval_problems, 200, {1, unbounded});
  b.integer({"seed", "seed of the problems"}, s.seed, int64_t{1}, {0, std::numeric_limits<int64_t>::max() / 2});
  b.number({"slip", "probability that a step which carries or borrows forgets the carry on its first attempt"}, s.slip,
           0.3, {0.0, 1.0});
  b.number({"reflect", "probability that a slip is caught by a re-check (\"Wait, let me re-check\")"}, s.reflect, 0.4,
           {0.0, 1.0});
}

void bind(Binder& b, PretrainTrainSection& s) {
  b.integer({"steps", "optimizer steps"}, s.steps, 300, {1, unbounded});
  b.integer({"batch_size", "sequences per step"}, s.batch_size, 32, {1, 1 << 20});
  b.integer({"micro_batch_tokens", "token budget of one forward/backward"}, s.micro_batch_tokens, 8192, {1, unbounded});
  b.integer({"seed", "seeds the initial weights and the order of the problems"}, s.seed, int64_t{0},
            {0, std::numeric_limits<int64_t>::max()});
  bind_compute_keys(b, s.threads, s.micro_batch_threads, s.activation_checkpointing);
}

template <class Walker>
void walk(Walker& w, PretrainConfig& c) {
  w.section("model", "The base model's architecture (qwen2_moe, or a dense qwen2) and where it goes.",
            [&](Binder& b) { bind(b, c.model); });
  w.section("data", "The synthetic arithmetic problems.", [&](Binder& b) { bind(b, c.data); });
  w.section("optim", optim_section_doc, [&](Binder& b) { bind(b, c.optim); });
  w.section("train", "The pretraining run.", [&](Binder& b) { bind(b, c.train); });
  w.section("log", records::log_section_doc, [&](Binder& b) { bind(b, c.log); });
}

}  // namespace

PretrainConfig load_pretrain_config(const std::filesystem::path& file, std::span<const std::string> overrides) {
  auto reader = config::ConfigReader::from_file(file);
  for (const auto& assignment : overrides) reader.apply_override(assignment);
  PretrainConfig c;
  walk(reader, c);
  if (c.model.num_heads % c.model.num_kv_heads != 0)
    reader.add_problem("model", "model.num_heads must be a multiple of model.num_kv_heads");
  if (c.model.hidden_size % c.model.num_heads != 0)
    reader.add_problem("model", "model.hidden_size must be a multiple of model.num_heads");
  if (c.model.experts_per_token > c.model.num_experts)
    reader.add_problem("model", "model.experts_per_token cannot exceed model.num_experts");
  reader.finish();
  return c;
}

nlohmann::json architecture_json(const PretrainModelSection& m, int64_t vocab_size, int64_t eos_id, int64_t pad_id) {
  nlohmann::json config{{"vocab_size", vocab_size},
                        {"hidden_size", m.hidden_size},
                        {"intermediate_size", m.intermediate_size},
                        {"num_hidden_layers", m.num_layers},
                        {"num_attention_heads", m.num_heads},
                        {"num_key_value_heads", m.num_kv_heads},
                        {"rms_norm_eps", 1e-6},
                        {"rope_theta", 10000.0},
                        {"max_position_embeddings", m.max_position_embeddings},
                        {"hidden_act", "silu"},
                        {"tie_word_embeddings", false},
                        {"initializer_range", 0.02},
                        {"bos_token_id", eos_id},
                        {"eos_token_id", eos_id},
                        {"pad_token_id", pad_id},
                        {"torch_dtype", "float32"}};
  if (m.architecture == BaseArchitecture::qwen2) {
    config["architectures"] = {"Qwen2ForCausalLM"};
    config["model_type"] = "qwen2";
    config["use_sliding_window"] = false;
    return config;
  }
  config["architectures"] = {"Qwen2MoeForCausalLM"};
  config["model_type"] = "qwen2_moe";
  config["num_experts"] = m.num_experts;
  config["num_experts_per_tok"] = m.experts_per_token;
  config["moe_intermediate_size"] = m.moe_intermediate_size;
  config["shared_expert_intermediate_size"] = m.shared_expert_intermediate_size;
  config["decoder_sparse_step"] = 1;
  config["mlp_only_layers"] = nlohmann::json::array({0});  // the first layer is dense
  config["norm_topk_prob"] = false;
  config["router_aux_loss_coef"] = m.router_aux_loss_coef;
  return config;
}

std::string to_toml(const PretrainConfig& config) {
  PretrainConfig copy = config;
  config::ConfigWriter writer;
  walk(writer, copy);
  return writer.text();
}

std::string pretrain_config_reference() {
  PretrainConfig example;
  config::ConfigDocs docs;
  walk(docs, example);
  return docs.markdown();
}

}  // namespace aha::rl
