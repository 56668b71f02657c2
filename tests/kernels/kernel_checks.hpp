// Each kernel against its ATen reference (kernels/reference.hpp) on random inputs of several
// shapes, on a given device and dtype: the CPU tests and the CUDA tests run the same checks.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace aha::kernels::checks {

// Largest tolerated relative error, max |kernel - reference| / max |reference|.
double tolerance(c10::ScalarType dtype);  // float32 1e-5, bfloat16 1e-2

void selective_log_softmax(c10::Device device, c10::ScalarType dtype);
void grpo_token_loss(c10::Device device);
void moe_layer(c10::Device device, c10::ScalarType dtype);
void invariant_attention();  // CPU only

}  // namespace aha::kernels::checks
