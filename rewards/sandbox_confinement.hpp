// What confines one sandboxed program: a uid of its own (as root), its rlimits, bubblewrap's
// namespaces, and the kill of everything its uid still runs. The parts rewards/sandbox.cpp
// assembles into a sandboxed process.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "rewards/sandbox.hpp"

namespace aha::rewards {

// Leases a sandbox uid for one run: an flock on <tmp>/aha-sandbox-uids/<uid> held while the run
// lasts, so that threads and other aha processes never share one (the kernel drops the lock if
// the process dies).
class SandboxUid {
 public:
  SandboxUid();
  ~SandboxUid();
  SandboxUid(const SandboxUid&) = delete;
  SandboxUid& operator=(const SandboxUid&) = delete;
  uid_t uid() const { return uid_; }

 private:
  uid_t uid_ = 0;
  int lock_fd_ = -1;
};

// The bubblewrap binary's path, or "" when it is not installed.
std::string find_bwrap();

// A fresh folder under the system temporary folder, readable by the sandbox's uid.
std::filesystem::path make_temp_dir(const char* prefix);

// bubblewrap's arguments up to (not including) the "--" before the program: no network, a
// private size-limited /tmp, the system read-only, `task_dir` read-only as /task.
std::vector<std::string> bubblewrap_args(const std::string& bwrap, const std::filesystem::path& task_dir,
                                         const SandboxLimits& limits);

// RLIMIT_NPROC for a sandbox: its max_processes, plus (when not root) the tasks this user
// already runs, which the limit counts too.
rlim_t process_allowance(const SandboxLimits& limits);

// In the child between fork and exec: only async-signal-safe calls. Joins a process group of
// its own, takes `in_fd` as stdin, `out_fd` as stdout and stderr, and `channel_fd` (when not -1)
// as file descriptor 3, closes the rest, drops to `uid` when root, sets the rlimits and execs.
[[noreturn]] void exec_child(int in_fd, int out_fd, int channel_fd, const char* work_dir, char* const* argv,
                             char* const* envp, const SandboxLimits& limits, uid_t uid, rlim_t process_limit);

// As root: kills every process the sandbox's own uid still has, wherever it went (a daemon that
// called setsid() has left the process group).
void kill_everything_of(uid_t uid);

}  // namespace aha::rewards
