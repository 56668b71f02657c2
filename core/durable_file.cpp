// DurableFile, sync_path and the write error with its free-space note.
#include "core/durable_file.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace aha {

std::string free_space_note(const std::filesystem::path& path) {
  std::filesystem::path probe = path;
  struct statvfs info {};
  while (!probe.empty() && ::statvfs(probe.c_str(), &info) != 0) {
    if (probe == probe.parent_path()) break;
    probe = probe.parent_path();
  }
  if (probe.empty()) return "free space unknown";
  const double free_bytes = static_cast<double>(info.f_bavail) * static_cast<double>(info.f_frsize);
  const char* unit = "bytes";
  double shown = free_bytes;
  for (const char* next : {"kB", "MB", "GB", "TB"}) {
    if (shown < 1000.0) break;
    shown /= 1000.0;
    unit = next;
  }
  return fmt::format("{:.{}f} {} free on the filesystem of {}", shown, shown < 10.0 && unit[0] != 'b' ? 1 : 0, unit,
                     probe.string());
}

void throw_write_error(const std::filesystem::path& path, const std::string& reason) {
  throw Error(fmt::format("cannot write {}: {}; {}", path.string(), reason, free_space_note(path.parent_path())));
}

DurableFile::DurableFile(std::filesystem::path path) : path_(std::move(path)), temporary_(path_.string() + ".tmp") {
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_write_error(temporary_, std::strerror(errno));
}

DurableFile::~DurableFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(temporary_.c_str());
}

void DurableFile::write(const void* data, std::size_t bytes) {
  const char* at = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, at, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_write_error(temporary_, n < 0 ? std::strerror(errno) : "no progress");
    at += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void DurableFile::commit() {
  if (::fsync(fd_) != 0) throw_write_error(temporary_, std::strerror(errno));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    ::unlink(temporary_.c_str());
    throw_write_error(temporary_, std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(temporary_, path_, ec);
  if (ec) {
    ::unlink(temporary_.c_str());
    throw_write_error(path_, ec.message());
  }
  sync_path(path_.parent_path().empty() ? "." : path_.parent_path());
}

void write_file_durably(const std::filesystem::path& path, std::string_view text) {
  DurableFile file(path);
  file.write(text);
  file.commit();
}

void sync_path(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_write_error(path, std::strerror(errno));
  const int status = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (status != 0 && error != EINVAL) throw_write_error(path, std::strerror(error));
}

}  // namespace aha
