// `aha train CONFIG [--set section.key=value ...] [--resume [--override]] [--nproc N]`: runs a GRPO experiment.
// Under torchrun-style variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) it is one rank of a
// data-parallel run; --nproc N starts N such ranks on this machine and waits for them.
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "rl/experiment_config.hpp"
#include "rl/grpo_trainer.hpp"

namespace aha::cli {

namespace {

struct TrainCommandOptions {
  std::string file;
  std::vector<std::string> overrides;
  bool resume = false, override_config = false;
  int nproc = 1;
};

// A TCP port nobody listens on now, for the ranks' store.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw Error("--nproc: cannot find a free port on 127.0.0.1 for the processes to meet");
  ::close(fd);
  return ntohs(address.sin_port);
}

// Starts `nproc` ranks of this command; when one fails, stops the others and reports it.
int launch(const TrainCommandOptions& o) {
  std::vector<std::string> args{"aha", "train", o.file};
  for (const auto& assignment : o.overrides) args.insert(args.end(), {"--set", assignment});
  if (o.resume) args.push_back("--resume");
  if (o.override_config) args.push_back("--override");
  const std::string port = std::to_string(free_port());
  std::map<pid_t, int> ranks;
  for (int rank = 0; rank < o.nproc; ++rank) {
    const pid_t child = ::fork();
    if (child < 0) throw Error("--nproc: cannot start another process");
    if (child == 0) {
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      ::_exit(127);
    }
    ranks[child] = rank;
  }
  int failed = 0;
  while (!ranks.empty()) {
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, 0);
    if (done < 0) break;
    const int rank = ranks[done];
    ranks.erase(done);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok || failed) continue;
    failed = 1;
    std::cerr << fmt::format("aha: rank {} {} {}; stopping the other ranks (continue with --resume)\n", rank,
                             WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
                             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    for (const auto& [pid, other] : ranks) ::kill(pid, SIGTERM);
  }
  return failed;
}

}  // namespace

void add_train_command(CLI::App& app, Action& chosen) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* cmd = app.add_subcommand("train", "Train a policy with GRPO from a TOML experiment config");
  cmd->add_option("config", options->file, "the TOML experiment config")->required();
  cmd->add_option("--set", options->overrides, "override a key, as section.key=value (repeatable)")
      ->type_name("SECTION.KEY=VALUE")
      ->allow_extra_args(false);
  cmd->add_flag("--resume", options->resume, "continue the run in train.output_dir from its latest checkpoint");
  cmd->add_flag("--override", options->override_config,
                "with --resume: continue with settings that differ from the run's config.toml (each is printed)");
  cmd->add_option("--nproc", options->nproc, "data-parallel processes on this machine (PyTorch c10d, Gloo)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->callback([&chosen, options] {
    chosen = [options] {
      if (options->nproc > 1 && !std::getenv("WORLD_SIZE")) return launch(*options);
      rl::train(rl::load_experiment(options->file, options->overrides),
                rl::TrainOptions{options->resume, options->override_config});
      return 0;
    };
  });
}

}  // namespace aha::cli
