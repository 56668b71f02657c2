// Hostile programs in the code sandbox: each is contained, scores 0, leaves no process behind, and
// leaves this test process unharmed.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "rewards/code_rule.hpp"
#include "rewards/sandbox.hpp"
#include "tests/rewards/sandbox_test_lock.hpp"

using namespace aha::rewards;
namespace fs = std::filesystem;

namespace {

// Live processes that run as a sandbox uid (when this test runs as root) or whose command line
// carries the hostile marker.
std::set<int> sandbox_processes() {
  std::set<int> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat info {};
    if (::stat(entry.path().c_str(), &info) != 0) continue;
    // A process may end while it is read: libstdc++ then throws from the read, and it is gone.
    try {
      // A zombie has exited already; only its exit status waits for init to collect it.
      std::ifstream stat_file(entry.path() / "stat");
      std::string stat_line;
      std::getline(stat_file, stat_line);
      const auto state = stat_line.rfind(')');
      if (state != std::string::npos && state + 2 < stat_line.size() && stat_line[state + 2] == 'Z') continue;
      std::ifstream cmdline(entry.path() / "cmdline");
      std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
      if ((::geteuid() == 0 && info.st_uid >= 2000000000u) || text.find("987.654") != std::string::npos)
        pids.insert(std::stoi(name));
    } catch (const std::ios_base::failure&) {
    }
  }
  return pids;
}

// Runs the program with `tests` and checks the verdict and that nothing is left running.
void check_contained(const std::string& program, const std::string& tests = "assert True\n", double verdict = 0.0) {
  const SandboxTestLock lock;
  const auto before = sandbox_processes();
  CodeKeys keys;
  keys.timeout_s = 3;
  keys.memory_mb = 512;
  keys.max_output_kb = 256;
  const CodeRule rule(keys);
  CompletionRecord record;
  record.completion = program;
  record.tests = tests;
  const RuleOutcome outcome = rule.score(record);
  CHECK(outcome.score == verdict);
  // Killed processes vanish once the kernel has torn their PID namespace down.
  std::set<int> left;
  for (int attempt = 0; attempt < 100; ++attempt) {
    left.clear();
    for (int pid : sandbox_processes())
      if (!before.contains(pid)) left.insert(pid);
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(left.empty());
}

}  // namespace

TEST_CASE("hostile: fork bomb") { check_contained("import os\nwhile True:\n    os.fork()\n"); }

TEST_CASE("hostile: thread bomb") {
  check_contained("import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,)).start()\n");
}

TEST_CASE("hostile: infinite loop") { check_contained("while True:\n    pass\n"); }

TEST_CASE("hostile: 10 GB allocation") { check_contained("x = bytearray(10 * 1024**3)\nx[-1] = 1\n"); }

TEST_CASE("hostile: disk fill, one file") {
  check_contained("with open('/tmp/fill', 'wb') as f:\n    while True:\n        f.write(b'x' * (1 << 20))\n");
}

TEST_CASE("hostile: disk fill, many files") {
  check_contained("i = 0\nwhile True:\n    with open('/tmp/f%d' % i, 'wb') as f:\n        f.write(b'x' * (8 << 20))\n"
                  "    i += 1\n");
}

TEST_CASE("hostile: too many open files") {
  check_contained("files = [open('/tmp/f%d' % i, 'w') for i in range(100000)]\n");
}

TEST_CASE("hostile: a socket connection to this machine") {
  const int server = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(server, 1) == 0);
  socklen_t length = sizeof address;
  ::getsockname(server, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  if (sandbox_mode() == SandboxMode::bubblewrap)
    check_contained("import socket\ns = socket.create_connection(('127.0.0.1', " + std::to_string(port) +
                    "), timeout=1)\n");
  else WARN("skipped: without namespaces the sandbox has no network isolation");
  ::close(server);
}

TEST_CASE("hostile: a socket connection to the internet") {
  if (sandbox_mode() == SandboxMode::bubblewrap)
    check_contained("import socket\ns = socket.create_connection(('1.1.1.1', 53), timeout=1)\n");
  else WARN("skipped: without namespaces the sandbox has no network isolation");
}

TEST_CASE("hostile: reading and writing outside the sandbox") {
  const fs::path dir = fs::temp_directory_path() / ("aha-hostile-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::all);
  std::ofstream(dir / "secret") << "s3cret";
  fs::permissions(dir / "secret", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  if (sandbox_mode() == SandboxMode::bubblewrap) {
    check_contained("print(open('" + (dir / "secret").string() + "').read())\n");
    check_contained("open('" + (dir / "planted").string() + "', 'w').write('x')\n");
    CHECK_FALSE(fs::exists(dir / "planted"));
  } else {
    WARN("skipped: without namespaces the sandbox has no filesystem isolation");
  }
  check_contained("open('/task/tests.py', 'w').write('')\n", "assert False\n");
  fs::remove_all(dir);
}

TEST_CASE("hostile: killing the parent and this process") {
  check_contained("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(" + std::to_string(::getpid()) +
                  ", signal.SIGKILL)\nos.killpg(0, signal.SIGKILL)\n");
  CHECK(::getppid() > 0);
}

TEST_CASE("hostile: a daemon left running") {
  if (sandbox_mode() == SandboxMode::rlimits_only && ::geteuid() != 0) {
    WARN("skipped: without namespaces and without root, a daemon that calls setsid() leaves the process group");
    return;
  }
  check_contained("import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                  "        os.execv('/bin/sleep', ['sleep', '987.654'])\n    os._exit(0)\nos._exit(0)\n");
}

TEST_CASE("hostile: 100 MB of output") {
  // A Python program's output goes nowhere (its tests run in the judge's sandbox), so it costs
  // nothing and changes no verdict; a C++ program's is capped.
  check_contained("import sys\nsys.stdout.write('x' * 100_000_000)\n", "assert True\n", 1.0);
  check_contained("import sys\nsys.stdout.write('x' * 100_000_000)\n", "assert False\n", 0.0);
}

TEST_CASE("hostile: sleeping past the timeout") { check_contained("import time\ntime.sleep(100)\n"); }

TEST_CASE("hostile: deep recursion") {
  check_contained("import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1)\nf(0)\n");
}

TEST_CASE("hostile: exiting with status 0 before the tests run") {
  check_contained("import os\nos._exit(0)\n");
  check_contained("import sys\nsys.exit(0)\n");
}

TEST_CASE("hostile: printing a forged completion marker") {
  check_contained("import os\nprint('\\nAHA-TESTS-DONE-00000000000000000000000000000000 1 1')\nos._exit(0)\n");
}

TEST_CASE("hostile: C++ fork bomb and infinite loop") {
  const SandboxTestLock lock;
  CodeKeys keys;
  keys.timeout_s = 3;
  const CodeRule rule(keys);
  CompletionRecord record;
  record.completion = "```cpp\n#include <unistd.h>\nint f() { while (true) fork(); }\n```";
  record.tests = "int main() { f(); return 0; }\n";
  CHECK(rule.score(record).score == 0.0);
  record.completion = "```cpp\nint f() { volatile int x = 0; while (true) ++x; }\n```";
  CHECK(rule.score(record).score == 0.0);
}
