// What this process holds in memory and what the machine can still give it, read from the kernel
// (getrusage, /proc/meminfo and the cgroup's limit), for the memory plan and the metrics.
#pragma once

#include <cstdint>
#include <filesystem>

namespace aha {

// The most resident memory this process has held so far, in bytes.
int64_t peak_resident_bytes();

// Bytes this process may still take: the smaller of the machine's available memory
// (/proc/meminfo MemAvailable) and the room left under its cgroup's memory.max, if one is set.
// `proc` and `cgroup` are the roots to read (tests point them at fixtures).
int64_t available_memory_bytes(const std::filesystem::path& proc = "/proc",
                               const std::filesystem::path& cgroup = "/sys/fs/cgroup");

}  // namespace aha
