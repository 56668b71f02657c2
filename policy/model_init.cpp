// init_causal_lm: parse the architecture, build the modules, draw the weights from a seeded generator.
#include "policy/model_init.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace aha::policy {

CausalLM init_causal_lm(const nlohmann::json& config_json, uint64_t seed) {
  CausalLM model(parse_model_config(config_json, "the architecture"));
  const double std = config_json.value("initializer_range", 0.02);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    if (name.ends_with("norm.weight")) p.fill_(1.0);
    else if (name.ends_with(".bias")) p.zero_();
    else p.normal_(0.0, std, generator);
  }
  for (auto& item : model->named_buffers()) item.value().zero_();
  return model;
}

}  // namespace aha::policy
