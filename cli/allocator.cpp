// The process's allocator. A training step frees and allocates tensors of megabytes by the
// thousand (activations, logits chunks, gradients). Memory handed back to the system comes back
// as fresh pages that the kernel zeroes on first touch: at the 0.5B shape that was a million page
// faults and a third of the step. So freed memory stays in the process for the next tensor.
// Under jemalloc (linked when the build finds it) freed pages are never purged, and any freed
// run may be split for a smaller tensor: by default jemalloc will not cut a run more than 64
// times the request's size, so the freed memory of one step, merged into long runs, went unused
// by the next step's megabyte-sized expert gradients and the process grew 0.7 GB a step; split
// freely it stays at its first steps' peak. glibc keeps its heap and maps fewer blocks of their
// own.
#include "cli/allocator.hpp"

#include <malloc.h>

#ifdef AHA_WITH_JEMALLOC
// Read by jemalloc when it starts; MALLOC_CONF in the environment still overrides it.
extern "C" {
const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1,lg_extent_max_active_fit:20";
}
#endif

namespace aha::cli {

void keep_freed_memory() {
#ifndef AHA_WITH_JEMALLOC
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest: blocks up to 32 MiB come from the heap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);   // and the heap is not shrunk until a GiB of it lies free
  mallopt(M_TOP_PAD, 64 << 20);         // grown 64 MiB at a time
#endif
}

}  // namespace aha::cli
