// Reading (mmap + header validation) and writing of .safetensors files.
#include "policy/safetensors.hpp"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/durable_file.hpp"
#include "core/error.hpp"

namespace aha::policy {

namespace {

constexpr std::size_t max_header_bytes = 100 << 20;

const std::vector<std::pair<std::string, at::ScalarType>>& dtype_names() {
  static const std::vector<std::pair<std::string, at::ScalarType>> names{
      {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16}, {"I64", at::kLong},
      {"I32", at::kInt},    {"I16", at::kShort}, {"I8", at::kChar},  {"U8", at::kByte},       {"BOOL", at::kBool}};
  return names;
}

at::ScalarType dtype_from_name(const std::string& name, const std::string& where) {
  for (const auto& [n, t] : dtype_names())
    if (n == name) return t;
  throw Error(
      fmt::format("{}: dtype \"{}\" is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", where, name));
}

std::string name_of_dtype(at::ScalarType type, const std::string& tensor) {
  for (const auto& [n, t] : dtype_names())
    if (t == type) return n;
  throw Error(fmt::format("tensor \"{}\": dtype {} cannot be stored in safetensors", tensor, c10::toString(type)));
}

}  // namespace

struct SafetensorsFile::Mapping {
  void* address = MAP_FAILED;
  std::size_t size = 0;
  ~Mapping() {
    if (address != MAP_FAILED) ::munmap(address, size);
  }
};

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string where = path.string();
  const int fd = ::open(where.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(fmt::format("{}: cannot open: {}", where, std::strerror(errno)));
  struct stat info {};
  ::fstat(fd, &info);
  auto mapping = std::make_shared<Mapping>();
  mapping->size = static_cast<std::size_t>(info.st_size);
  if (mapping->size < 8) {
    ::close(fd);
    throw Error(fmt::format("{}: not a safetensors file ({} bytes, shorter than the 8-byte header length)", where,
                            mapping->size));
  }
  mapping->address = ::mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping->address == MAP_FAILED) throw Error(fmt::format("{}: mmap failed: {}", where, std::strerror(errno)));

  const auto* bytes = static_cast<const unsigned char*>(mapping->address);
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > max_header_bytes || header_size > mapping->size - 8)
    throw Error(fmt::format("{}: header length {} does not fit in the file ({} bytes); the file is truncated or "
                            "not safetensors",
                            where, header_size, mapping->size));

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_size);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("{}: malformed JSON header: {}", where, e.what()));
  }
  if (!header.is_object()) throw Error(fmt::format("{}: the header is not a JSON object", where));

  SafetensorsFile file;
  file.path_ = path;
  file.mapping_ = mapping;
  file.data_ = bytes + 8 + header_size;
  const std::size_t data_size = mapping->size - 8 - header_size;
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (const auto& [name, value] : header.items()) {
    const std::string at = fmt::format("{}: tensor \"{}\"", where, name);
    if (name == "__metadata__") {
      if (!value.is_object()) throw Error(fmt::format("{}: __metadata__ is not an object", where));
      for (const auto& [k, v] : value.items())
        if (v.is_string()) file.metadata_[k] = v.get<std::string>();
      continue;
    }
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets"))
      throw Error(fmt::format("{}: the entry needs dtype, shape and data_offsets", at));
    Entry entry;
    try {
      entry.dtype = dtype_from_name(value["dtype"].get<std::string>(), at);
      entry.shape = value["shape"].get<std::vector<int64_t>>();
      const auto offsets = value["data_offsets"].get<std::vector<std::size_t>>();
      if (offsets.size() != 2) throw Error(fmt::format("{}: data_offsets must hold 2 numbers", at));
      entry.begin = offsets[0];
      entry.end = offsets[1];
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}: malformed entry: {}", at, e.what()));
    }
    std::size_t numel = 1;
    for (const auto d : entry.shape) {
      if (d < 0) throw Error(fmt::format("{}: negative dimension in shape", at));
      numel *= static_cast<std::size_t>(d);
    }
    const std::size_t expected = numel * c10::elementSize(entry.dtype);
    if (entry.end < entry.begin || entry.end > data_size || entry.end - entry.begin != expected)
      throw Error(fmt::format("{}: data_offsets [{}, {}] do not match its shape and dtype ({} bytes) inside {} "
                              "bytes of data",
                              at, entry.begin, entry.end, expected, data_size));
    if (expected > 0) ranges.emplace_back(entry.begin, entry.end);
    file.entries_.emplace(name, std::move(entry));
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      throw Error(fmt::format("{}: two tensors share bytes {}..{}", where, ranges[i].first, ranges[i - 1].second));
  return file;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) throw Error(fmt::format("{}: no tensor named \"{}\"", path_.string(), name));
  const Entry& e = it->second;
  auto keep_alive = mapping_;
  void* data = const_cast<unsigned char*>(data_ + e.begin);
  return at::from_blob(
      data, e.shape, [keep_alive](void*) {}, at::TensorOptions().dtype(e.dtype));
}

void write_safetensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::vector<at::Tensor> blobs;
  std::size_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    const std::size_t bytes = static_cast<std::size_t>(cpu.numel()) * cpu.element_size();
    header[name] = {{"dtype", name_of_dtype(cpu.scalar_type(), name)},
                    {"shape", cpu.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    blobs.push_back(std::move(cpu));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  DurableFile out(path);
  std::uint64_t size = text.size();
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(size >> (8 * i));
  out.write(length, 8);
  out.write(text);
  for (const auto& blob : blobs)
    out.write(blob.data_ptr(), static_cast<std::size_t>(blob.numel()) * blob.element_size());
  out.commit();
}

}  // namespace aha::policy
