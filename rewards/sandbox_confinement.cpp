// What confines one sandboxed program: a uid of its own leased for the run, the rlimits and uid
// the child takes on before exec, bubblewrap's arguments, and the kill of whatever its uid left.
#include "rewards/sandbox_confinement.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/error.hpp"

namespace aha::rewards {

namespace {

namespace fs = std::filesystem;

// When run as root, each concurrent sandbox gets its own uid from this range (which no account
// should use), so that RLIMIT_NPROC counts that sandbox's processes only: a fork bomb in one
// cannot starve the others. As another user, sandboxes run as that user.
constexpr uid_t first_sandbox_uid = 2000000000;
constexpr uid_t sandbox_uid_count = 65536;

// Processes and threads of this uid now: RLIMIT_NPROC counts them all, so a sandbox that runs as
// this (unprivileged) user gets its allowance on top of them.
rlim_t tasks_of_this_user() {
  rlim_t tasks = 0;
  const std::string uid_line = fmt::format("Uid:\t{}\t", ::getuid());
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::ifstream status(entry.path() / "status");
    bool mine = false;
    try {
      for (std::string line; std::getline(status, line);) {
        if (line.starts_with(uid_line)) mine = true;
        if (mine && line.starts_with("Threads:")) tasks += std::strtoul(line.c_str() + 8, nullptr, 10);
      }
    } catch (const std::ios_base::failure&) {  // the process ended while it was read
    }
  }
  return tasks;
}

void set_limit(int resource, rlim_t value) {
  const rlimit limit{value, value};
  ::setrlimit(resource, &limit);
}

}  // namespace

SandboxUid::SandboxUid() {
  const fs::path dir = fs::temp_directory_path() / "aha-sandbox-uids";
  std::error_code ec;
  fs::create_directory(dir, ec);
  const uid_t start = static_cast<uid_t>(::getpid()) * 64 % sandbox_uid_count;
  for (uid_t i = 0; i < sandbox_uid_count; ++i) {
    const uid_t candidate = first_sandbox_uid + (start + i) % sandbox_uid_count;
    const int fd = ::open((dir / std::to_string(candidate)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      throw Error(fmt::format("sandbox: cannot create a lock file in {}: {}; check that the temporary folder is "
                              "writable",
                              dir.string(), std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      uid_ = candidate;
      lock_fd_ = fd;
      return;
    }
    ::close(fd);
  }
  throw Error("sandbox: every sandbox uid is in use; lower the code rule's max_parallel");
}

SandboxUid::~SandboxUid() { ::close(lock_fd_); }

std::string find_bwrap() {
  for (const char* candidate : {"/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"})
    if (::access(candidate, X_OK) == 0) return candidate;
  return "";
}

fs::path make_temp_dir(const char* prefix) {
  std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    throw Error(fmt::format("sandbox: cannot create a folder in {}: {}; check that it exists and is writable",
                            fs::temp_directory_path().string(), std::strerror(errno)));
  ::chmod(pattern.c_str(), 0755);
  return pattern;
}

std::vector<std::string> bubblewrap_args(const std::string& bwrap, const fs::path& task_dir,
                                         const SandboxLimits& limits) {
  std::vector<std::string> args{bwrap,
                                "--unshare-all",
                                "--die-with-parent",
                                "--new-session",
                                "--cap-drop",
                                "ALL",
                                "--ro-bind",
                                "/usr",
                                "/usr",
                                "--proc",
                                "/proc",
                                "--dev",
                                "/dev",
                                "--size",
                                std::to_string(std::int64_t{limits.memory_mb} << 20),
                                "--tmpfs",
                                "/tmp",
                                "--ro-bind",
                                task_dir.string(),
                                "/task",
                                "--chdir",
                                "/tmp"};
  for (const char* top : {"/bin", "/lib", "/lib64", "/sbin", "/lib32", "/libx32"}) {
    std::error_code ec;
    if (fs::is_symlink(top, ec)) {
      args.insert(args.end(), {"--symlink", fs::read_symlink(top, ec).string(), top});
    } else if (fs::is_directory(top, ec)) {
      args.insert(args.end(), {"--ro-bind", top, top});
    }
  }
  if (fs::is_directory("/etc/alternatives"))
    args.insert(args.end(), {"--ro-bind", "/etc/alternatives", "/etc/alternatives"});
  return args;
}

rlim_t process_allowance(const SandboxLimits& limits) {
  return static_cast<rlim_t>(limits.max_processes) + (::geteuid() == 0 ? 0 : tasks_of_this_user());
}

[[noreturn]] void exec_child(int in_fd, int out_fd, int channel_fd, const char* work_dir, char* const* argv,
                             char* const* envp, const SandboxLimits& limits, uid_t uid, rlim_t process_limit) {
  ::setpgid(0, 0);
  ::dup2(in_fd, 0);
  ::dup2(out_fd, 1);
  ::dup2(out_fd, 2);
  if (channel_fd >= 0) {
    if (channel_fd == 3) ::fcntl(3, F_SETFD, 0);
    else ::dup2(channel_fd, 3);
  }
  ::close_range(channel_fd >= 0 ? 4 : 3, ~0U, 0);
  if (::geteuid() == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(125);
  }
  set_limit(RLIMIT_CPU, static_cast<rlim_t>(limits.cpu_seconds));
  set_limit(RLIMIT_AS, static_cast<rlim_t>(limits.memory_mb) << 20);
  set_limit(RLIMIT_NPROC, process_limit);
  set_limit(RLIMIT_FSIZE, static_cast<rlim_t>(limits.max_file_bytes));
  set_limit(RLIMIT_NOFILE, static_cast<rlim_t>(limits.max_open_files));
  set_limit(RLIMIT_CORE, 0);
  if (work_dir && ::chdir(work_dir) != 0) ::_exit(125);
  ::execve(argv[0], argv, envp);
  ::_exit(126);
}

void kill_everything_of(uid_t uid) {
  if (::geteuid() != 0) return;
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgid(uid) == 0 && ::setuid(uid) == 0) ::kill(-1, SIGKILL);
    ::_exit(0);
  }
  if (pid > 0) ::waitpid(pid, nullptr, 0);
}

}  // namespace aha::rewards
