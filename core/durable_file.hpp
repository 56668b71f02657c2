// Files that are either written whole or not at all: every write checked, the bytes flushed to
// the disk (fsync) before the rename that publishes them, the folder's entry flushed after it,
// and a failure reported with the path and the free space left on its filesystem.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace aha {

// "1.2 MB free on the filesystem of PATH", or what could not be read.
std::string free_space_note(const std::filesystem::path& path);

// Throws Error("cannot write PATH: <reason>; <free space>").
[[noreturn]] void throw_write_error(const std::filesystem::path& path, const std::string& reason);

// Writes a file through PATH.tmp: write() until done, fsync, close, rename, fsync of the folder.
class DurableFile {
 public:
  explicit DurableFile(std::filesystem::path path);
  ~DurableFile();  // without commit(): the temporary file is removed
  DurableFile(const DurableFile&) = delete;
  DurableFile& operator=(const DurableFile&) = delete;

  void write(const void* data, std::size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void commit();  // publishes the file under its name

 private:
  std::filesystem::path path_, temporary_;
  int fd_ = -1;
};

void write_file_durably(const std::filesystem::path& path, std::string_view text);

// Flushes a file another library wrote, or a folder's entries, to the disk.
void sync_path(const std::filesystem::path& path);

}  // namespace aha
