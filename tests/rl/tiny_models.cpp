// tiny_demo_model() and friends.
#include "tests/rl/tiny_models.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "datasets/synthetic_arithmetic.hpp"
#include "policy/checkpoint.hpp"
#include "policy/model_init.hpp"
#include "policy/tokenizer.hpp"
#include "tests/test_paths.hpp"

std::filesystem::path demo_tokenizer() { return source_dir() / "configs/zero-demo"; }

aha::policy::CausalLM tiny_demo_model(aha::rl::BaseArchitecture architecture, uint64_t seed, int64_t padded_rows) {
  const auto tokenizer = aha::policy::Tokenizer::from_file(demo_tokenizer());
  aha::rl::PretrainModelSection shape;
  shape.architecture = architecture;
  shape.hidden_size = 32;
  shape.num_layers = 2;
  shape.num_heads = 2;
  shape.num_kv_heads = 1;
  shape.intermediate_size = 64;
  shape.moe_intermediate_size = 32;
  shape.shared_expert_intermediate_size = 32;
  const int64_t ids = tokenizer.vocab_size();
  auto model = aha::policy::init_causal_lm(
      aha::rl::architecture_json(shape, ids + padded_rows, *tokenizer.eos_id(), *tokenizer.pad_id()), seed);
  if (padded_rows > 0) {
    torch::NoGradGuard no_grad;
    const at::Tensor& head = model->lm_head_weight();  // [ids + padded_rows, 32]
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed + 1);
    head.narrow(0, ids, padded_rows).normal_(0.0, 50.0, generator);
  }
  return model;
}

void save_tiny_demo_model(const std::filesystem::path& dir, aha::rl::BaseArchitecture architecture, uint64_t seed,
                          int64_t padded_rows) {
  aha::policy::save_causal_lm(*tiny_demo_model(architecture, seed, padded_rows), dir, demo_tokenizer());
}

void write_arithmetic_problems(const std::filesystem::path& file, uint64_t seed, int count) {
  std::ofstream data(file);
  for (const auto& p : aha::datasets::make_arithmetic_problems(seed, count))
    data << nlohmann::json{{"question", p.question}, {"answer", std::to_string(p.answer)}}.dump() << "\n";
}
