// `aha info`: the LibTorch build, whether CUDA can be used and why not, threads, build features.
#include <fmt/format.h>

#include <iostream>

#include "build_info.hpp"
#include "cli/commands.hpp"
#include "kernels/device_info.hpp"

namespace aha::cli {

namespace {

int run_info() {
  const kernels::DeviceInfo info = kernels::device_info();
  const auto line = [](std::string_view label, const std::string& value) {
    std::cout << fmt::format("{:<14}{}\n", label, value);
  };
  line("aha", fmt::format("{} ({} build, {})", build::version, build::build_type, build::compiler));
  line("LibTorch",
       info.torch_version + (info.torch_cuda_build ? fmt::format(", built with CUDA {}", info.torch_cuda_version)
                                                   : std::string(", CPU-only build")));
  line("CUDA", info.cuda_available ? fmt::format("available: {} device(s), {}", info.cuda_devices, info.cuda_status)
                                   : fmt::format("not available: {}", info.cuda_status));
  line("device", fmt::format("{} (what device = \"auto\" picks)", info.cuda_available ? "cuda" : "cpu"));
  line("threads", fmt::format("{} intra-op, {} inter-op", info.intra_op_threads, info.inter_op_threads));
  line("CUDA kernels", build::cuda_kernels ? fmt::format("compiled for sm_{}", build::cuda_architectures)
                                           : fmt::format("not compiled (AHA_CUDA={})", build::cuda_option));
  return 0;
}

}  // namespace

void add_info_command(CLI::App& app, Action& chosen) {
  auto* info = app.add_subcommand("info", "Show the LibTorch build, CUDA availability, threads and build features");
  info->callback([&chosen] { chosen = run_info; });
}

}  // namespace aha::cli
