// Runs the built `aha` binary as a real process and captures its exit status, stdout and stderr.
#pragma once

#include <string>
#include <vector>

struct CommandResult {
  int status = -1;
  std::string out;
  std::string err;
};

CommandResult run_aha(const std::vector<std::string>& args);
