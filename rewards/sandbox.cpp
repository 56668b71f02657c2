// The process sandbox: fork, drop to an unprivileged uid, set rlimits, exec bubblewrap (or the
// program itself in the fallback), then read its output until it ends, overflows or times out.
#include "rewards/sandbox.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/error.hpp"

namespace aha::rewards {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// When run as root, each concurrent sandbox gets its own uid from this range (which no account
// should use), so that RLIMIT_NPROC counts that sandbox's processes only: a fork bomb in one
// cannot starve the others. As another user, sandboxes run as that user.
constexpr uid_t first_sandbox_uid = 2000000000;
constexpr uid_t sandbox_uid_count = 65536;

// Leases a sandbox uid for one run: an flock on <tmp>/aha-sandbox-uids/<uid> held while the run
// lasts, so that threads and other aha processes never share one (the kernel drops the lock if
// the process dies).
class SandboxUid {
 public:
  SandboxUid() {
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
  ~SandboxUid() { ::close(lock_fd_); }
  SandboxUid(const SandboxUid&) = delete;
  SandboxUid& operator=(const SandboxUid&) = delete;
  uid_t uid() const { return uid_; }

 private:
  uid_t uid_ = 0;
  int lock_fd_ = -1;
};

std::string find_bwrap() {
  for (const char* candidate : {"/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"})
    if (::access(candidate, X_OK) == 0) return candidate;
  return "";
}

// A fresh folder under the system temporary folder, readable by the sandbox's uid.
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
  std::vector<std::string> args{bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                                "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev",
                                "--size", std::to_string(std::int64_t{limits.memory_mb} << 20), "--tmpfs", "/tmp",
                                "--ro-bind", task_dir.string(), "/task", "--chdir", "/tmp"};
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

rlim_t process_allowance(const SandboxLimits& limits) {
  return static_cast<rlim_t>(limits.max_processes) + (::geteuid() == 0 ? 0 : tasks_of_this_user());
}

void set_limit(int resource, rlim_t value) {
  const rlimit limit{value, value};
  ::setrlimit(resource, &limit);
}

// In the child between fork and exec: only async-signal-safe calls.
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

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(fmt::format("sandbox: pipe failed: {}", std::strerror(errno)));
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (read >= 0) ::close(read);
    read = -1;
  }
  void close_write() {
    if (write >= 0) ::close(write);
    write = -1;
  }
};

bool probe_bubblewrap(const std::string& bwrap) {
  if (bwrap.empty()) return false;
  const fs::path dir = make_temp_dir("aha-probe-");
  SandboxLimits limits;
  limits.wall_seconds = 10;
  std::vector<std::string> args = bubblewrap_args(bwrap, dir, limits);
  args.insert(args.end(), {"--", "/bin/sh", "-c", "exit 0"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  const SandboxUid uid;
  Pipe in, out;
  const rlim_t process_limit = process_allowance(limits);
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(in.read, out.write, -1, nullptr, argv.data(), envp, limits, uid.uid(), process_limit);
  int status = 0;
  if (pid > 0) ::waitpid(pid, &status, 0);
  fs::remove_all(dir);
  return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// As root: kills every process the sandbox's own uid still has, wherever it went (a daemon that
// called setsid() has left the process group).
void kill_everything_of(uid_t uid) {
  if (::geteuid() != 0) return;
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgid(uid) == 0 && ::setuid(uid) == 0) ::kill(-1, SIGKILL);
    ::_exit(0);
  }
  if (pid > 0) ::waitpid(pid, nullptr, 0);
}

}  // namespace

SandboxMode sandbox_mode() {
  static const SandboxMode mode = [] {
    const char* forced = std::getenv("AHA_SANDBOX");
    if (forced && std::string_view(forced) == "rlimits_only") {
      std::cerr << "aha: warning: AHA_SANDBOX=rlimits_only: the code sandbox runs programs without namespaces "
                   "(no network or filesystem isolation), with an unprivileged uid, rlimits and a process-group kill "
                   "only.\n";
      return SandboxMode::rlimits_only;
    }
    if (probe_bubblewrap(find_bwrap())) return SandboxMode::bubblewrap;
    std::cerr << "aha: warning: the code sandbox cannot create namespaces here (bubblewrap is missing or user "
                 "namespaces are disabled); programs run with an unprivileged uid, rlimits and a process-group kill "
                 "only: no network or filesystem isolation. Install bubblewrap and allow unprivileged user namespaces "
                 "(sysctl kernel.unprivileged_userns_clone=1) for the full sandbox.\n";
    return SandboxMode::rlimits_only;
  }();
  return mode;
}

std::string sandbox_task_dir() { return sandbox_mode() == SandboxMode::bubblewrap ? "/task" : "{task}"; }

namespace {

// One program started in a sandbox of its own: its folders, its uid and its process group, all
// gone when it is destroyed. `channel_fd`, when not -1, becomes the program's file descriptor 3;
// `keep_output` false sends its stdout and stderr to /dev/null.
class SandboxedProcess {
 public:
  SandboxedProcess(const SandboxProgram& program, const SandboxLimits& limits, int channel_fd, bool keep_output)
      : mode_(sandbox_mode()) {
    if (program.stdin_text.size() > 60000) throw Error("sandbox: standard input is limited to 60000 bytes");
    folders_.task = make_temp_dir("aha-task-");
    if (mode_ == SandboxMode::rlimits_only) folders_.work = make_temp_dir("aha-work-");
    const fs::path& task_dir_ = folders_.task;
    const fs::path& work_dir_ = folders_.work;
    if (!work_dir_.empty() && (::geteuid() != 0 || ::chown(work_dir_.c_str(), uid_.uid(), uid_.uid()) != 0))
      ::chmod(work_dir_.c_str(), 01777);
    for (const SandboxFile& file : program.files) {
      std::ofstream(task_dir_ / file.name, std::ios::binary) << file.content;
      ::chmod((task_dir_ / file.name).c_str(), 0644);
    }
    std::vector<std::string> args;
    if (mode_ == SandboxMode::bubblewrap) {
      args = bubblewrap_args(find_bwrap(), task_dir_, limits);
      args.push_back("--");
    }
    for (std::string arg : program.argv) {
      if (mode_ == SandboxMode::rlimits_only)
        for (auto at = arg.find("{task}"); at != std::string::npos; at = arg.find("{task}"))
          arg.replace(at, 6, task_dir_.string());
      args.push_back(std::move(arg));
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string path = "PATH=/usr/bin:/bin", home = "HOME=/tmp", lang = "LANG=C.UTF-8",
                bytecode = "PYTHONDONTWRITEBYTECODE=1";
    char* envp[] = {path.data(), home.data(), lang.data(), bytecode.data(), nullptr};

    Pipe in;
    if (!program.stdin_text.empty() && ::write(in.write, program.stdin_text.data(), program.stdin_text.size()) < 0)
      throw Error(fmt::format("sandbox: cannot write standard input: {}", std::strerror(errno)));
    in.close_write();
    const int sink = keep_output ? -1 : ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    const rlim_t process_limit = process_allowance(limits);
    pid_ = ::fork();
    if (pid_ < 0) {
      if (sink >= 0) ::close(sink);
      throw Error(fmt::format("sandbox: fork failed: {}", std::strerror(errno)));
    }
    if (pid_ == 0)
      exec_child(in.read, keep_output ? out_.write : sink, channel_fd, work_dir_.empty() ? nullptr : work_dir_.c_str(),
                 argv.data(), envp, limits, uid_.uid(), process_limit);
    ::setpgid(pid_, pid_);  // also in the parent, so the group exists before any kill
    if (sink >= 0) ::close(sink);
    out_.close_write();
  }

  ~SandboxedProcess() {
    kill();
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  SandboxedProcess(const SandboxedProcess&) = delete;
  SandboxedProcess& operator=(const SandboxedProcess&) = delete;

  int output() const { return out_.read; }

  // The program's exit status, or -1 when it was still running at the deadline (then killed).
  int wait(Clock::time_point deadline) {
    int status = 0;
    for (;;) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (done < 0 && errno != EINTR) return -1;
      if (Clock::now() > deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Kills the process group and, as root, everything the sandbox's uid still runs.
  void kill() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
    }
    kill_everything_of(uid_.uid());
  }

 private:
  struct Folders {  // the task folder and, without namespaces, the working folder
    fs::path task, work;
    ~Folders() {
      std::error_code ec;
      if (!task.empty()) fs::remove_all(task, ec);
      if (!work.empty()) fs::remove_all(work, ec);
    }
  };
  SandboxMode mode_;
  Folders folders_;
  SandboxUid uid_;
  Pipe out_;
  pid_t pid_ = -1;
};

// Reads `process`'s output until it closes it, writes more than the limit, or the deadline passes.
void read_output(const SandboxedProcess& process, const SandboxLimits& limits, Clock::time_point deadline,
                 SandboxResult& result) {
  char buffer[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      return;
    }
    pollfd fd{process.output(), POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) continue;
    const ssize_t n = ::read(process.output(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    const std::size_t room = limits.max_output_bytes - result.output.size();
    result.output.append(buffer, std::min(room, static_cast<std::size_t>(n)));
    if (static_cast<std::size_t>(n) > room) {
      result.output_overflow = true;
      return;
    }
  }
}

Clock::time_point deadline_after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// Reads the process's output and waits for its exit status, within the limits.
SandboxResult finish(SandboxedProcess& process, const SandboxLimits& limits, Clock::time_point deadline) {
  SandboxResult result;
  read_output(process, limits, deadline, result);
  if (result.timed_out || result.output_overflow) process.kill();
  const int status = process.wait(deadline);
  if (status < 0 && !result.output_overflow && Clock::now() > deadline) result.timed_out = true;
  if (!result.timed_out && !result.output_overflow) result.exit_code = status;
  return result;
}

}  // namespace

SandboxResult run_judged(const SandboxProgram& judge, const SandboxProgram& candidate, const SandboxLimits& limits) {
  const auto deadline = deadline_after(limits.wall_seconds);
  int channel[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0)
    throw Error(fmt::format("sandbox: socketpair failed: {}", std::strerror(errno)));
  struct Close {
    int* fds;
    ~Close() {
      for (int i = 0; i < 2; ++i)
        if (fds[i] >= 0) ::close(fds[i]);
    }
  } close_channel{channel};
  SandboxedProcess candidate_process(candidate, limits, channel[1], false);
  ::close(channel[1]);
  channel[1] = -1;
  SandboxedProcess judge_process(judge, limits, channel[0], true);
  ::close(channel[0]);
  channel[0] = -1;
  return finish(judge_process, limits, deadline);
}

}  // namespace aha::rewards
