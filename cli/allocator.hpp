// How the process's allocator treats freed memory (cli/allocator.cpp).
#pragma once

namespace aha::cli {

// Called first in main: freed memory is kept for reuse instead of returned to the system.
void keep_freed_memory();

}  // namespace aha::cli
