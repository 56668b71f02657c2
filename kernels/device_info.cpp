// Queries LibTorch (and, in CUDA builds, the CUDA runtime) for the device report.
#include "kernels/device_info.hpp"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <filesystem>

#ifdef AHA_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace aha::kernels {

namespace {

// "13.2" from "CUDA_VERSION=13.2" in LibTorch's build summary, or "" when it has none.
std::string cuda_version_of_build(const std::string& config) {
  const std::string marker = "CUDA_VERSION=";
  const auto at = config.find(marker);
  if (at == std::string::npos) return "";
  const auto begin = at + marker.size();
  return config.substr(begin, config.find_first_of(",\n ", begin) - begin);
}

std::string why_no_cuda(const DeviceInfo& info) {
  if (!info.torch_cuda_build) return "LibTorch is a CPU-only build";
  if (!std::filesystem::exists("/proc/driver/nvidia/version")) return "no NVIDIA driver is loaded on this machine";
#ifdef AHA_WITH_CUDA
  int count = 0;
  if (const cudaError_t error = cudaGetDeviceCount(&count); error != cudaSuccess)
    return fmt::format("the CUDA runtime says: {}", cudaGetErrorString(error));
#endif
  return "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)";
}

}  // namespace

DeviceInfo device_info() {
  DeviceInfo info;
  info.torch_version = TORCH_VERSION;
  info.torch_cuda_build = at::detail::getCUDAHooks().isBuilt();
  info.torch_cuda_version = info.torch_cuda_build ? cuda_version_of_build(at::show_config()) : "";
  info.cuda_available = torch::cuda::is_available();
  info.cuda_devices = info.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (info.cuda_available) {
#ifdef AHA_WITH_CUDA
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    info.cuda_status = fmt::format("{} (compute capability {}.{})", prop.name, prop.major, prop.minor);
#else
    info.cuda_status = "available";
#endif
  } else {
    info.cuda_status = why_no_cuda(info);
  }
  info.intra_op_threads = at::get_num_threads();
  info.inter_op_threads = at::get_num_interop_threads();
  return info;
}

}  // namespace aha::kernels
