// ScorerProcess: posix_spawn over a socketpair, and a poll loop that writes and reads at once so
// that neither side can block the other on a full buffer.
#include "rewards/scorer_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/error.hpp"

extern char** environ;

namespace aha::rewards {

namespace {

std::string command_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) line += (line.empty() ? "" : " ") + arg;
  return line;
}

}  // namespace

ScorerProcess::ScorerProcess(std::vector<std::string> argv) : argv_(std::move(argv)) {
  if (argv_.empty()) throw Error("the scoring command is empty");
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    throw Error(fmt::format("cannot make a socket for `{}`: {}", command_line(argv_), std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, ends[1], 0);
  posix_spawn_file_actions_adddup2(&actions, ends[1], 1);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  std::vector<char*> args;
  for (auto& arg : argv_) args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<std::string> environment{"PYTHONUNBUFFERED=1"};
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "PYTHONUNBUFFERED=", 17) != 0) environment.emplace_back(*e);
  std::vector<char*> env;
  for (auto& e : environment) env.push_back(e.data());
  env.push_back(nullptr);
  const int failed = ::posix_spawnp(&pid_, args[0], &actions, &attributes, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(ends[1]);
  if (failed != 0) {
    ::close(ends[0]);
    pid_ = -1;
    throw Error(fmt::format("cannot start `{}`: {}", command_line(argv_), std::strerror(failed)));
  }
  socket_ = ends[0];
  ::fcntl(socket_, F_SETFL, ::fcntl(socket_, F_GETFL) | O_NONBLOCK);
}

ScorerProcess::~ScorerProcess() { stop(); }

void ScorerProcess::stop() {
  if (socket_ >= 0) ::close(socket_);
  socket_ = -1;
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string ScorerProcess::ended_how() {
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) return "closed its output";
    ::usleep(1000);
  }
  pid_ = -1;
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  return fmt::format("was killed by signal {}", WTERMSIG(status));
}

ScorerProcess::Exchange ScorerProcess::exchange(const std::vector<std::string>& lines, double timeout_s) {
  Exchange out;
  std::string request;
  for (const auto& line : lines) request += line + "\n";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  std::size_t sent = 0;
  std::string pending;  // a reply line not yet ended
  char buffer[1 << 16];
  if (const ssize_t stray = ::recv(socket_, buffer, sizeof buffer, 0); stray > 0) {
    out.failure = fmt::format("`{}` wrote output between batches, which no record asked for; it was stopped and will "
                              "be started again",
                              command_line(argv_));
    stop();
    return out;
  }
  while (out.replies.size() < lines.size()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      out.failure = fmt::format("`{}` answered {} of {} records within timeout_s = {} s; it was stopped and will be "
                                "started again",
                                command_line(argv_), out.replies.size(), lines.size(), timeout_s);
      break;
    }
    pollfd fd{socket_, static_cast<short>(POLLIN | (sent < request.size() ? POLLOUT : 0)), 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    if ((fd.revents & POLLOUT) && sent < request.size()) {
      const ssize_t n = ::send(socket_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<std::size_t>(n);
    }
    if (!(fd.revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const ssize_t n = ::recv(socket_, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      out.failure = fmt::format("`{}` {} after answering {} of {} records; it will be started again",
                                command_line(argv_), ended_how(), out.replies.size(), lines.size());
      break;
    }
    pending.append(buffer, static_cast<std::size_t>(n));
    for (std::size_t end; (end = pending.find('\n')) != std::string::npos;) {
      out.replies.push_back(pending.substr(0, end));
      pending.erase(0, end + 1);
    }
  }
  if (out.replies.size() > lines.size()) {
    out.failure =
        fmt::format("`{}` wrote {} lines for {} records", command_line(argv_), out.replies.size(), lines.size());
    out.replies.clear();
  }
  if (!out.failure.empty()) stop();
  return out;
}

}  // namespace aha::rewards
