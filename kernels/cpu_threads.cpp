// set_threads_of_this_thread through the OpenMP and MKL runtimes that LibTorch loaded.
#include "kernels/cpu_threads.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>

namespace aha::kernels {

void set_threads_of_this_thread(int threads) {
  // Looked up at run time: the wheel ships its own copy of each runtime, and ATen's loops ask the
  // one it loaded (OpenMP's thread count is a per-thread setting; MKL's local one overrides its global).
  using SetThreads = void (*)(int);
  using SetLocalThreads = int (*)(const int*);  // MKL's Fortran entry point, the one LibTorch exports
  static const auto omp = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  static const auto mkl = reinterpret_cast<SetLocalThreads>(dlsym(RTLD_DEFAULT, "mkl_set_num_threads_local_"));
  const int n = std::max(threads, 1);
  // ATen gives each thread the process-wide counts on its first parallel call; that call comes
  // first here, so it cannot undo what follows.
  at::get_num_threads();
  if (omp) omp(n);
  if (mkl) mkl(&n);
}

}  // namespace aha::kernels
