// Protocol-buffer encoding of Event/Summary messages and TFRecord framing.
#include "records/tensorboard_writer.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "core/durable_file.hpp"
#include "core/error.hpp"

namespace aha::records {

namespace {

// Protocol buffer wire format: a key is (field << 3 | wire type).
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void fixed(std::string& out, const void* bytes, std::size_t size) { out.append(static_cast<const char*>(bytes), size); }
void key(std::string& out, int field, int wire) { varint(out, static_cast<uint64_t>(field << 3 | wire)); }
void bytes_field(std::string& out, int field, std::string_view bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}

// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
std::string event(double wall_time, int64_t step, std::string_view file_version, std::string_view summary) {
  std::string out;
  key(out, 1, 1);
  fixed(out, &wall_time, 8);
  if (step != 0) {
    key(out, 2, 0);
    varint(out, static_cast<uint64_t>(step));
  }
  if (!file_version.empty()) bytes_field(out, 3, file_version);
  if (!summary.empty()) bytes_field(out, 5, summary);
  return out;
}

uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82f63b78u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  for (const char ch : bytes) crc = table[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& dir, double wall_time) {
  std::filesystem::create_directories(dir);
  path_ = dir / fmt::format("events.out.tfevents.{}.aha", static_cast<int64_t>(wall_time));
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw Error(fmt::format("{}: cannot open the TensorBoard event file for writing", path_.string()));
  record(event(wall_time, 0, "brain.Event:2", {}));
}

// Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
void TensorBoardWriter::scalar(std::string_view tag, double value, int64_t step, double wall_time) {
  std::string v;
  bytes_field(v, 1, tag);
  const float f = static_cast<float>(value);
  key(v, 2, 5);
  fixed(v, &f, 4);
  std::string summary;
  bytes_field(summary, 1, v);
  record(event(wall_time, step, {}, summary));
}

// Value { tag = 1; SummaryMetadata metadata = 9 { PluginData plugin_data = 1 { plugin_name = 1 } };
//         TensorProto tensor = 8 { dtype = 1 (DT_STRING = 7); TensorShapeProto shape = 2; string_val = 8 } }
void TensorBoardWriter::text(std::string_view tag, std::string_view text, int64_t step, double wall_time) {
  std::string plugin, metadata, tensor, v, summary;
  bytes_field(plugin, 1, "text");
  bytes_field(metadata, 1, plugin);
  key(tensor, 1, 0);
  varint(tensor, 7);
  bytes_field(tensor, 2, {});
  bytes_field(tensor, 8, text);
  bytes_field(v, 1, tag);
  bytes_field(v, 8, tensor);
  bytes_field(v, 9, metadata);
  bytes_field(summary, 1, v);
  record(event(wall_time, step, {}, summary));
}

// TFRecord: uint64 length, masked crc32c(length), data, masked crc32c(data); little-endian.
void TensorBoardWriter::record(const std::string& data) {
  const uint64_t length = data.size();
  const std::string length_bytes(reinterpret_cast<const char*>(&length), 8);
  const uint32_t length_crc = masked(crc32c(length_bytes)), data_crc = masked(crc32c(data));
  out_.write(length_bytes.data(), 8);
  out_.write(reinterpret_cast<const char*>(&length_crc), 4);
  out_.write(data.data(), static_cast<std::streamsize>(data.size()));
  out_.write(reinterpret_cast<const char*>(&data_crc), 4);
  if (!out_) throw Error(fmt::format("{}: writing the TensorBoard event file failed", path_.string()));
}

void TensorBoardWriter::flush() {
  if (!out_.flush()) throw_write_error(path_, "the write failed");
}

}  // namespace aha::records
