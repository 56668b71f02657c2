// main of the CUDA kernel tests: exit 77 (CTest's "skipped") when no CUDA device is usable.
#define CATCH_CONFIG_RUNNER
#include <torch/cuda.h>

#include <catch2/catch.hpp>
#include <cstdio>

int main(int argc, char* argv[]) {
  if (!torch::cuda::is_available()) {
    std::puts("no CUDA device: the CUDA kernel tests are skipped");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
