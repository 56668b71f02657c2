// training_device() and load_model().
#include "rl/model_loading.hpp"

#include <ATen/Context.h>

#include <cstdlib>

#include "core/error.hpp"
#include "kernels/batch_invariant.hpp"
#include "policy/checkpoint.hpp"

namespace aha::rl {

at::Device training_device(policy::DeviceChoice choice) {
  if (choice == policy::DeviceChoice::cpu) return at::kCPU;
  if (at::hasCUDA()) {  // one GPU per data-parallel rank on a host: torchrun's LOCAL_RANK
    const char* local_rank = std::getenv("LOCAL_RANK");
    return at::Device(at::kCUDA, local_rank && *local_rank ? static_cast<c10::DeviceIndex>(std::atoi(local_rank)) : 0);
  }
  if (choice == policy::DeviceChoice::cuda) throw Error("model.device = \"cuda\", but no CUDA device is available");
  return at::kCPU;
}

policy::CausalLM load_model(const std::string& path, const policy::ModelSection& section, const at::Device& device) {
  kernels::set_batch_invariant(section.batch_invariant);
  if (section.dtype == policy::DType::bfloat16 && !device.is_cuda())
    throw Error("model.dtype = \"bfloat16\" trains with bf16 autocast on CUDA; on the CPU use \"float32\"");
  policy::CausalLM model = policy::load_causal_lm(path, at::kFloat);  // float32 master weights
  model->to(device);
  if (section.dtype == policy::DType::bfloat16) model->set_autocast(at::kBFloat16);
  return model;
}

}  // namespace aha::rl
