// adamw_step: torch::optim::AdamW::step's bookkeeping (lazily created moments, the step count per
// parameter) around the fused kernel.
#include "rl/adamw_step.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "kernels/fused_adamw.hpp"

namespace aha::rl {

void adamw_step(torch::optim::AdamW& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    for (const auto& p : group.params())
      if (options.amsgrad() || (p.grad().defined() && !kernels::fused_adamw_applies(p, p.grad()))) {
        optimizer.step();
        return;
      }
  }
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    for (const auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = optimizer.state()[p.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*slot);
      state.step(state.step() + 1);
      kernels::fused_adamw(p, p.grad(), state.exp_avg(), state.exp_avg_sq(),
                           {options.lr(), std::get<0>(options.betas()), std::get<1>(options.betas()), options.eps(),
                            options.weight_decay(), state.step()});
    }
  }
}

}  // namespace aha::rl
