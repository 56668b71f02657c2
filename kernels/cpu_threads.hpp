// How many CPU threads the work of the calling thread may use: ATen's parallel loops (OpenMP)
// and MKL's products started from this thread, and only from it. Rollout workers split the cores
// this way instead of all of them spinning on every core.
#pragma once

namespace aha::kernels {

// Sets the calling thread's OpenMP and MKL thread counts to `threads` (at least 1). Other threads,
// the trainer's among them, keep theirs. A no-op for a runtime that lacks either setting.
void set_threads_of_this_thread(int threads);

// The calling thread's thread counts set to `threads` for the guard's life, then back.
class ScopedThreads {
 public:
  explicit ScopedThreads(int threads);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

// Sets the calling thread's own MKL thread count (0: back to MKL's process-wide one) and returns
// the previous own count; returns 0 and does nothing without MKL.
int set_mkl_threads_of_this_thread(int threads);

}  // namespace aha::kernels
