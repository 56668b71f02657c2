// The process's allocator. A training step frees and allocates tensors of megabytes by the
// thousand (activations, logits chunks, gradients, AdamW's temporaries). Memory handed back to
// the system comes back as fresh pages that the kernel zeroes on first touch: at the 0.5B shape
// that was 2 million page faults and a third of the step. So freed memory stays in the process
// for the next tensor: jemalloc (linked when the build finds it) purges only when the trainer
// asks between steps (release_freed_memory), and glibc keeps its heap and maps fewer blocks of
// their own.
#include "cli/allocator.hpp"

#include <malloc.h>

#ifdef AHA_WITH_JEMALLOC
// Read by jemalloc when it starts; MALLOC_CONF in the environment still overrides it.
extern "C" const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
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
