// What the compute runtime offers: LibTorch's version, whether CUDA can be used (and why not),
// thread counts. `aha info` prints it; the trainer uses it to pick a device.
#pragma once

#include <string>

namespace aha::kernels {

struct DeviceInfo {
  std::string torch_version;
  bool torch_cuda_build = false;   // LibTorch was built with CUDA
  std::string torch_cuda_version;  // CUDA runtime LibTorch was built against; empty for CPU builds
  bool cuda_available = false;
  int cuda_devices = 0;
  std::string cuda_status;  // the first device's name, or why CUDA cannot be used
  int intra_op_threads = 0;
  int inter_op_threads = 0;
};

DeviceInfo device_info();

}  // namespace aha::kernels
