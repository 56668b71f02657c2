// adamw_step against torch::optim::AdamW::step, the reference it must equal bit for bit: the same
// parameters, gradients and learning rates through both, over steps where some parameters get no
// gradient, with and without weight decay, on one thread and on two, with sizes that end inside
// a vector and span several blocks; and the kernel's refusal of tensors it cannot update.
#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <catch2/catch.hpp>

#include "kernels/cpu_threads.hpp"
#include "kernels/fused_adamw.hpp"
#include "rl/adamw_step.hpp"

using namespace aha;

namespace {

const torch::optim::AdamWParamState& moments(torch::optim::AdamW& optimizer, const at::Tensor& p) {
  return static_cast<const torch::optim::AdamWParamState&>(*optimizer.state().at(p.unsafeGetTensorImpl()));
}

}  // namespace

TEST_CASE("adamw_step gives torch's AdamW step bit for bit, and its state") {
  const double weight_decay = GENERATE(0.0, 0.1);
  const int threads = GENERATE(1, 2);
  const kernels::ScopedThreads scoped(threads);
  at::manual_seed(7);
  const std::vector<std::vector<int64_t>> shapes{{1}, {7}, {3, 33}, {1000}, {50'001}, {96, 700}};
  std::vector<at::Tensor> ours, theirs;
  for (const auto& shape : shapes) {
    const at::Tensor start = at::randn(shape);
    ours.push_back(start.clone().requires_grad_(true));
    theirs.push_back(start.clone().requires_grad_(true));
  }
  const auto options = torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).eps(1e-8).weight_decay(weight_decay);
  torch::optim::AdamW fused(ours, options), reference(theirs, options);
  for (int step = 0; step < 12; ++step) {
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const bool gets_gradient = (step + static_cast<int>(i)) % 4 != 3;  // like an expert no token was routed to
      const at::Tensor grad = gets_gradient ? at::randn(shapes[i]) * (1 + step) : at::Tensor();
      ours[i].mutable_grad() = grad.defined() ? grad.clone() : grad;
      theirs[i].mutable_grad() = grad.defined() ? grad.clone() : grad;
    }
    const double lr = 1e-2 / (1 + step % 3);
    for (auto* optimizer : {&fused, &reference})
      for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    rl::adamw_step(fused);
    reference.step();
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      INFO("step " << step << ", parameter " << i);
      REQUIRE(at::equal(ours[i].detach(), theirs[i].detach()));
      if (!reference.state().count(theirs[i].unsafeGetTensorImpl())) continue;
      const auto &mine = moments(fused, ours[i]), &torchs = moments(reference, theirs[i]);
      REQUIRE(mine.step() == torchs.step());
      REQUIRE(at::equal(mine.exp_avg(), torchs.exp_avg()));
      REQUIRE(at::equal(mine.exp_avg_sq(), torchs.exp_avg_sq()));
    }
  }
}

TEST_CASE("adamw_step leaves a parameter without a gradient and its state alone") {
  const at::Tensor p = at::ones({5}).requires_grad_(true);
  torch::optim::AdamW optimizer(std::vector<at::Tensor>{p}, torch::optim::AdamWOptions(0.1).weight_decay(0.5));
  rl::adamw_step(optimizer);
  CHECK(at::equal(p.detach(), at::ones({5})));
  CHECK(optimizer.state().empty());
}

TEST_CASE("fused_adamw refuses tensors it cannot update in place, saying what it needs") {
  const at::Tensor p = at::zeros({4}), m = at::zeros({4}), v = at::zeros({4});
  for (const at::Tensor& grad : {at::zeros({4}, at::kDouble), at::zeros({8}).slice(0, 0, 8, 2), at::zeros({5})})
    CHECK_THROWS_WITH(kernels::fused_adamw(p, grad, m, v, {}),
                      Catch::Contains("contiguous float32 CPU tensors of one size"));
  CHECK_FALSE(kernels::fused_adamw_applies(p, at::zeros({4}, at::kDouble)));
  CHECK(kernels::fused_adamw_applies(p, at::zeros({4})));
}
