// Runs an untrusted program: bubblewrap namespaces (no network, a private size-limited /tmp, the
// system read-only, its own PID namespace), an unprivileged uid (as root: a uid of its own per
// concurrent sandbox, from 2000000000 up), rlimits (CPU time, address space, processes, file size,
// open files), a wall-clock kill of the whole process group, and capped output. Where namespaces
// cannot be created, a fallback keeps the uid, rlimits, kill and cap without the namespaces, and
// says so once on stderr.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace aha::rewards {

struct SandboxLimits {
  double wall_seconds = 10.0;
  int cpu_seconds = 10;
  int memory_mb = 1024;  // address space, and the size of the private /tmp
  int max_processes = 64;
  std::size_t max_output_bytes = 1 << 20;
  std::size_t max_file_bytes = 64 << 20;
  int max_open_files = 64;
};

struct SandboxFile {
  std::string name;  // a plain file name, placed in the read-only task folder
  std::string content;
};

struct SandboxResult {
  int exit_code = -1;  // the program's exit status; -1 when it was killed or did not start
  bool timed_out = false;
  bool output_overflow = false;  // it wrote more than max_output_bytes and was stopped
  std::string output;            // stdout and stderr interleaved, at most max_output_bytes
};

enum class SandboxMode { bubblewrap, rlimits_only };

// bubblewrap when `bwrap` can create namespaces here (probed once), else rlimits_only; the
// environment variable AHA_SANDBOX=rlimits_only forces the fallback.
SandboxMode sandbox_mode();

// The folder where the task files appear to the program ("/task" under bubblewrap).
std::string sandbox_task_dir();

struct SandboxProgram {
  std::vector<std::string> argv;  // argv[0] an absolute path visible in the sandbox
  std::vector<SandboxFile> files;
  std::string stdin_text;
};

// Runs `judge` and `candidate` in two sandboxes of their own (as root, with two uids), joined by a
// socket that each sees as its file descriptor 3 and nothing else: neither sees the other's
// files, processes or output. Returns the judge's result; the candidate's output is discarded and
// it is killed when the judge ends. The limits apply to each; the wall clock to both together.
// Each program's `files` lie in its read-only task folder, its working folder is a private
// writable one, and `stdin_text` is its standard input. Throws Error only when a sandbox cannot
// be set up (no temporary folder, fork fails).
SandboxResult run_judged(const SandboxProgram& judge, const SandboxProgram& candidate, const SandboxLimits& limits);

}  // namespace aha::rewards
