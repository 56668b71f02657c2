// set_threads_of_this_thread through the OpenMP and MKL runtimes that LibTorch loaded.
#include "kernels/cpu_threads.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>

namespace aha::kernels {

int set_mkl_threads_of_this_thread(int threads) {
  // MKL's Fortran entry point, the one LibTorch exports, looked up at run time.
  using SetLocalThreads = int (*)(const int*);
  static const auto mkl = reinterpret_cast<SetLocalThreads>(dlsym(RTLD_DEFAULT, "mkl_set_num_threads_local_"));
  return mkl ? mkl(&threads) : 0;
}

void set_threads_of_this_thread(int threads) {
  // The wheel ships its own OpenMP runtime, and ATen's loops ask the one it loaded, found at run
  // time; OpenMP's thread count is a per-thread setting.
  using SetThreads = void (*)(int);
  static const auto omp = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  const int n = std::max(threads, 1);
  // ATen gives each thread the process-wide counts on its first parallel call, once in LibTorch
  // and once more in this program's own copy of its header's parallel_for; both come first here,
  // so neither can undo what follows.
  at::get_num_threads();
  at::internal::lazy_init_num_threads();
  if (omp) omp(n);
  set_mkl_threads_of_this_thread(n);
}

ScopedThreads::ScopedThreads(int threads) : previous_(at::get_num_threads()) { set_threads_of_this_thread(threads); }

ScopedThreads::~ScopedThreads() { set_threads_of_this_thread(previous_); }

}  // namespace aha::kernels
