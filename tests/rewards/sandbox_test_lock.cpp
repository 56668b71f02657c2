// An flock on a file in the temporary folder.
#include "tests/rewards/sandbox_test_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

SandboxTestLock::SandboxTestLock()
    : fd_(::open((std::filesystem::temp_directory_path() / "aha-sandbox-tests.lock").c_str(),
                 O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
  if (fd_ >= 0) ::flock(fd_, LOCK_EX);
}

SandboxTestLock::~SandboxTestLock() {
  if (fd_ >= 0) ::close(fd_);
}
