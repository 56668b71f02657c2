// The process's peak memory and the memory the machine can still give it, read from files laid
// out as /proc/meminfo and a cgroup v2 folder.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/process_memory.hpp"

using namespace aha;

namespace {

// A /proc and a cgroup folder of their own for each test (CTest runs the tests side by side).
struct Roots {
  std::filesystem::path proc, cgroup;
  explicit Roots(const std::string& name) {
    const auto base = std::filesystem::temp_directory_path() /
                      ("aha-process-memory-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(base);
    proc = base / "proc", cgroup = base / "cgroup";
    std::filesystem::create_directories(proc), std::filesystem::create_directories(cgroup);
    std::ofstream(proc / "meminfo") << "MemTotal:       24000000 kB\nMemFree:         1000000 kB\n"
                                       "MemAvailable:   20000000 kB\nBuffers:          100000 kB\n";
  }
  ~Roots() { std::filesystem::remove_all(proc.parent_path()); }
  Roots(const Roots&) = delete;
  Roots& operator=(const Roots&) = delete;
};

}  // namespace

TEST_CASE("available memory is MemAvailable without a cgroup limit") {
  const Roots roots("unlimited");
  CHECK(available_memory_bytes(roots.proc, roots.cgroup) == 20000000LL * 1024);
  std::ofstream(roots.cgroup / "memory.max") << "max\n";
  std::ofstream(roots.cgroup / "memory.current") << "5000000000\n";
  CHECK(available_memory_bytes(roots.proc, roots.cgroup) == 20000000LL * 1024);
}

TEST_CASE("a cgroup limit below the machine's free memory bounds what is available") {
  const Roots roots("limited");
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
