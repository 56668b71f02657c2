// The environment lookups and the file reader behind tests/test_paths.hpp.
#include "tests/test_paths.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {
std::filesystem::path from_env(const char* name, const std::filesystem::path& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::filesystem::path(value) : fallback;
}
}  // namespace

std::filesystem::path source_dir() { return from_env("AHA_SOURCE_DIR", std::filesystem::current_path()); }
std::filesystem::path aha_binary() { return from_env("AHA_BINARY", source_dir() / "build" / "aha"); }
std::filesystem::path data_dir() { return from_env("AHA_DATA_DIR", source_dir() / ".." / "shared" / "data"); }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}
