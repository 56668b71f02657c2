// One AdamW update of an optimizer's parameters that got a gradient, with the fused single-pass
// kernel (kernels/fused_adamw.hpp) where every parameter is a float32 CPU tensor and torch's own
// step elsewhere (GPUs, AMSGrad). Either way the state is the optimizer's, so checkpoints and
// resuming are torch's, and the result is the same bits.
#pragma once

#include <torch/optim/adamw.h>

namespace aha::rl {

void adamw_step(torch::optim::AdamW& optimizer);

}  // namespace aha::rl
