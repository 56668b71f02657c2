// peak_resident_bytes and available_memory_bytes.
#include "core/process_memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

namespace aha {

namespace {

// The first number of a one-line file, or nothing when it is missing or says "max".
std::optional<int64_t> read_number(const std::filesystem::path& file) {
  std::ifstream in(file);
  int64_t value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

// MemAvailable in /proc/meminfo, in bytes.
std::optional<int64_t> mem_available(const std::filesystem::path& meminfo) {
  std::ifstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    int64_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

}  // namespace

int64_t peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

int64_t available_memory_bytes(const std::filesystem::path& proc, const std::filesystem::path& cgroup) {
  int64_t available = mem_available(proc / "meminfo").value_or(std::numeric_limits<int64_t>::max());
  const auto limit = read_number(cgroup / "memory.max"), used = read_number(cgroup / "memory.current");
  if (limit && used) available = std::min(available, std::max<int64_t>(*limit - *used, 0));
  return available;
}

}  // namespace aha
