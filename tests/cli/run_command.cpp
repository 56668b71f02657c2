// run_aha: the binary's path comes from CMake; output goes through temporary files.
#include "tests/cli/run_command.hpp"
#include "tests/test_paths.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace {

std::string shell_quote(const std::string& arg) {
  std::string out = "'";
  for (const char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

CommandResult run_aha(const std::vector<std::string>& args) {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-cli-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string command = shell_quote(aha_binary().string());
  for (const auto& arg : args) command.append(" ").append(shell_quote(arg));
  command.append(" >").append(shell_quote((dir / "out").string()));
  command.append(" 2>").append(shell_quote((dir / "err").string()));
  const int raw = std::system(command.c_str());
  CommandResult result;
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  result.out = read_file(dir / "out");
  result.err = read_file(dir / "err");
  std::filesystem::remove_all(dir);
  return result;
}

pid_t start_aha(const std::vector<std::string>& args, const std::filesystem::path& log) {
  const pid_t child = ::fork();
  if (child != 0) return child;
  std::vector<std::string> argv{aha_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  if (!std::freopen(log.c_str(), "w", stderr) || ::dup2(::fileno(stderr), 1) < 0) ::_exit(126);
  ::execv(raw[0], raw.data());
  ::_exit(127);
}

std::filesystem::path pretrain_tiny(const std::filesystem::path& dir, const std::string& architecture) {
  const auto model = dir / architecture;
  if (std::filesystem::exists(model / "config.json")) return model;
  const auto result = run_aha({"pretrain", (source_dir() / "configs/pretrain/zero-demo.toml").string(),
                               "--set",    "model.architecture=" + architecture,
                               "--set",    "model.output=" + model.string(),
                               "--set",    "data.output=" + (dir / "data").string(),
                               "--set",    "model.hidden_size=32",
                               "--set",    "model.num_layers=2",
                               "--set",    "model.intermediate_size=64",
                               "--set",    "model.moe_intermediate_size=32",
                               "--set",    "model.shared_expert_intermediate_size=32",
                               "--set",    "data.train_problems=64",
                               "--set",    "data.eval_problems=4",
                               "--set",    "train.steps=2",
                               "--set",    "train.batch_size=4",
                               "--set",    "train.threads=1",
                               "--set",    "log.progress=false"});
  if (result.status != 0) throw std::runtime_error("aha pretrain failed: " + result.err);
  return model;
}
