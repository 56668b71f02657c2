// The process sandbox: forks a program into the confinement of rewards/sandbox_confinement.hpp
// (under bubblewrap, or the program itself in the fallback), then reads its output until it ends,
// overflows or times out. Also probes once which of the two modes this machine allows.
#include "rewards/sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
#include "rewards/sandbox_confinement.hpp"

namespace aha::rewards {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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
