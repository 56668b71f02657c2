// The pretrain config, the base model's architecture and initial weights.
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "policy/model_init.hpp"
#include "rl/pretrain_config.hpp"
#include "tests/test_paths.hpp"

using namespace aha;

TEST_CASE("the demo's pretrain config validates, and a typo is caught") {
  const auto c = rl::load_pretrain_config(source_dir() / "configs/pretrain/zero-demo.toml");
  CHECK(c.model.num_experts >= 4);
  CHECK(c.model.experts_per_token == 2);
  CHECK(c.model.shared_expert_intermediate_size > 0);
  CHECK_THROWS_WITH(rl::load_pretrain_config(source_dir() / "configs/pretrain/zero-demo.toml",
                                             std::vector<std::string>{"model.num_expert=8"}),
                    Catch::Contains("unknown key 'num_expert' in [model]; did you mean 'num_experts'?"));
  CHECK_THROWS_WITH(rl::load_pretrain_config(source_dir() / "configs/pretrain/zero-demo.toml",
                                             std::vector<std::string>{"model.num_kv_heads=3"}),
                    Catch::Contains("multiple of model.num_kv_heads"));
}

TEST_CASE("the base model is a qwen2_moe with a dense first layer, routed experts and a shared expert") {
  const auto c = rl::load_pretrain_config(source_dir() / "configs/pretrain/zero-demo.toml");
  auto model = policy::init_causal_lm(rl::architecture_json(c.model, 479, 0, 1), 5);
  const auto& config = model->config();
  CHECK(config.type == policy::ModelType::qwen2_moe);
  CHECK_FALSE(config.is_moe_layer(0));
  CHECK(config.is_moe_layer(1));
  CHECK(model->num_moe_layers() == c.model.num_layers - 1);
  auto params = model->named_parameters();
  CHECK(params.contains("model.layers.1.mlp.shared_expert.gate_proj.weight"));
  CHECK(params.contains("model.layers.1.mlp.shared_expert_gate.weight"));
  CHECK((params["model.norm.weight"] == 1).all().item<bool>());
  const double std = params["model.embed_tokens.weight"].std().item<double>();
  CHECK(std == Approx(0.02).margin(0.002));
  auto again = policy::init_causal_lm(rl::architecture_json(c.model, 479, 0, 1), 5);
  CHECK(at::equal(again->named_parameters()["lm_head.weight"], params["lm_head.weight"]));
}

TEST_CASE("the distillation demo's student is a smaller dense qwen2") {
  const auto student = rl::load_pretrain_config(source_dir() / "configs/pretrain/student-demo.toml");
  const auto teacher = rl::load_pretrain_config(source_dir() / "configs/pretrain/zero-demo.toml");
  auto model = policy::init_causal_lm(rl::architecture_json(student.model, 479, 0, 1), 5);
  auto moe = policy::init_causal_lm(rl::architecture_json(teacher.model, 479, 0, 1), 5);
  CHECK(model->config().type == policy::ModelType::qwen2);
  CHECK(model->num_moe_layers() == 0);
  const auto count = [](policy::CausalLMImpl& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
  };
  CHECK(count(*model) < count(*moe));
  CHECK(student.data.seed == teacher.data.seed);  // the same problems, so the same held-out set
  CHECK(student.data.slip == teacher.data.slip);
}
