// Serialises the tests that run sandboxes across test processes (ctest -j), so that each test's
// check for processes left behind sees only its own sandboxes.
#pragma once

class SandboxTestLock {
 public:
  SandboxTestLock();  // blocks until no other test process holds the lock
  ~SandboxTestLock();
  SandboxTestLock(const SandboxTestLock&) = delete;
  SandboxTestLock& operator=(const SandboxTestLock&) = delete;

 private:
  int fd_ = -1;
};
