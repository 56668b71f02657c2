// The process's peak memory and the memory the machine can still give it, read from files laid
// out as /proc/meminfo and a cgroup v2 folder.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <vector>

#include "core/process_memory.hpp"

using namespace aha;

namespace {

struct Roots {
  std::filesystem::path proc, cgroup;
  Roots() {
    const auto base = std::filesystem::temp_directory_path() / "aha-process-memory-test";
    std::filesystem::remove_all(base);
    proc = base / "proc", cgroup = base / "cgroup";
    std::filesystem::create_directories(proc), std::filesystem::create_directories(cgroup);
    std::ofstream(proc / "meminfo") << "MemTotal:       24000000 kB\nMemFree:         1000000 kB\n"
                                       "MemAvailable:   20000000 kB\nBuffers:          100000 kB\n";
  }
};

}  // namespace

TEST_CASE("available memory is MemAvailable without a cgroup limit") {
  const Roots roots;
  CHECK(available_memory_bytes(roots.proc, roots.cgroup) == 20000000LL * 1024);
  std::ofstream(roots.cgroup / "memory.max") << "max\n";
  std::ofstream(roots.cgroup / "memory.current") << "5000000000\n";
  CHECK(available_memory_bytes(roots.proc, roots.cgroup) == 20000000LL * 1024);
}

TEST_CASE("a cgroup limit below the machine's free memory bounds what is available") {
  const Roots roots;
  std::ofstream(roots.cgroup / "memory.max") << "8000000000\n";
  std::ofstream(roots.cgroup / "memory.current") << "3000000000\n";
  CHECK(available_memory_bytes(roots.proc, roots.cgroup) == 5000000000LL);
}

TEST_CASE("peak resident memory counts what the process has touched") {
  CHECK(peak_resident_bytes() > 0);
  std::vector<char> block(256 << 20, 1);  // every page written, so resident
  CHECK(peak_resident_bytes() >= (256 << 20));
  CHECK(block[12345] == 1);
}
