// Runs the built `aha` binary as a real process and captures its exit status, stdout and stderr.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

struct CommandResult {
  int status = -1;
  std::string out;
  std::string err;
};

CommandResult run_aha(const std::vector<std::string>& args);

// Starts the binary in the background, its stdout and stderr going to `log`; returns its pid.
pid_t start_aha(const std::vector<std::string>& args, const std::filesystem::path& log);

// A tiny model of `architecture` (qwen2_moe or qwen2) made by `aha pretrain` into DIR/ARCHITECTURE,
// with its synthetic problems in DIR/data (64 training, 4 held out); kept once made.
std::filesystem::path pretrain_tiny(const std::filesystem::path& dir, const std::string& architecture = "qwen2_moe");
