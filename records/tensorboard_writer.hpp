// Writes TensorBoard event files (events.out.tfevents.*): a TFRecord stream of Event protocol
// buffers holding scalars and text, encoded by hand (the wire format is small and fixed), so
// curves open in TensorBoard without TensorFlow or protobuf.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace aha::records {

class TensorBoardWriter {
 public:
  // Creates DIR/events.out.tfevents.<seconds>.aha and writes the file-version event.
  TensorBoardWriter(const std::filesystem::path& dir, double wall_time);
  void scalar(std::string_view tag, double value, int64_t step, double wall_time);
  void text(std::string_view tag, std::string_view text, int64_t step, double wall_time);
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void record(const std::string& event);
  std::filesystem::path path_;
  std::ofstream out_;
};

// CRC-32C (Castagnoli), as TFRecord uses it before masking.
uint32_t crc32c(std::string_view bytes);

}  // namespace aha::records
