// tests/rewards/scoring_server.py, started for a test and stopped with it.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/test_paths.hpp"

struct ScoringServer {
  ScoringServer() {
    const auto port_file = std::filesystem::temp_directory_path() /
                           ("aha-scoring-server-" + std::to_string(::getpid()));
    std::filesystem::remove(port_file);
    const std::string script = (source_dir() / "tests/rewards/scoring_server.py").string();
    pid = ::fork();
    if (pid == 0) {
      ::execlp("python3", "python3", script.c_str(), port_file.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(port_file) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream(port_file) >> port;
    std::filesystem::remove(port_file);
  }
  ~ScoringServer() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::string url(const std::string& route) const { return "http://127.0.0.1:" + std::to_string(port) + route; }

  pid_t pid = -1;
  int port = 0;
};
