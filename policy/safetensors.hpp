// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw data. Files are memory-mapped; tensors
// read from them are zero-copy views that keep the mapping alive.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace aha::policy {

class SafetensorsFile {
 public:
  // Maps `path` and validates its header: every entry's dtype, shape and byte range, ranges
  // inside the data and not overlapping. Throws aha::Error naming the file and the tensor.
  static SafetensorsFile open(const std::filesystem::path& path);

  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return entries_.contains(name); }
  // A read-only view of the tensor's bytes on the CPU (clone it before writing to it).
  at::Tensor tensor(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Entry {
    at::ScalarType dtype;
    std::vector<int64_t> shape;
    std::size_t begin = 0, end = 0;  // byte range within the data section
  };
  struct Mapping;
  std::filesystem::path path_;
  std::shared_ptr<Mapping> mapping_;
  const unsigned char* data_ = nullptr;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes `tensors` (any device or layout; stored contiguous, on the CPU) to `path` with
// `__metadata__` {"format": "pt"} and an 8-byte aligned header, through a temporary file renamed
// into place, so a crash never leaves a half-written file under `path`.
void write_safetensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors);

}  // namespace aha::policy
