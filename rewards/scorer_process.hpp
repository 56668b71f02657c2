// A user's scoring program kept running between batches: it reads one line per record on its
// standard input and writes one line per record on its standard output, in order. Both ends are
// one Unix socket, written without SIGPIPE; the program runs in a process group of its own,
// killed whole when it hangs past the deadline or the object goes. Its stderr is the trainer's.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace aha::rewards {

class ScorerProcess {
 public:
  // Starts `argv` (argv[0] looked up on PATH) with PYTHONUNBUFFERED=1 added to the environment.
  // Throws aha::Error when it cannot start.
  explicit ScorerProcess(std::vector<std::string> argv);
  ~ScorerProcess();
  ScorerProcess(const ScorerProcess&) = delete;
  ScorerProcess& operator=(const ScorerProcess&) = delete;

  struct Exchange {
    std::vector<std::string> replies;  // one per line sent, in order; fewer when it failed
    std::string failure;               // why replies are missing: the program ended, or the deadline passed
  };
  // Sends `lines` (each without a newline) and reads a line back for each within `timeout_s`
  // seconds. On a failure the program is killed; alive() is then false.
  Exchange exchange(const std::vector<std::string>& lines, double timeout_s);
  bool alive() const { return pid_ > 0; }

 private:
  void stop();
  std::string ended_how();  // reaps the program: "exited with status 2", "was killed by signal 9"

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int socket_ = -1;
};

}  // namespace aha::rewards
