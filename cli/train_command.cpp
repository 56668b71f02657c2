// `aha train CONFIG [--set section.key=value ...] [--resume]`: runs a GRPO experiment.
#include <memory>

#include "cli/commands.hpp"
#include "rl/experiment_config.hpp"
#include "rl/grpo_trainer.hpp"

namespace aha::cli {

namespace {

struct TrainCommandOptions {
  std::string file;
  std::vector<std::string> overrides;
  bool resume = false;
};

}  // namespace

void add_train_command(CLI::App& app, Action& chosen) {
  auto options = std::make_shared<TrainCommandOptions>();
  auto* cmd = app.add_subcommand("train", "Train a policy with GRPO from a TOML experiment config");
  cmd->add_option("config", options->file, "the TOML experiment config")->required();
  cmd->add_option("--set", options->overrides, "override a key, as section.key=value (repeatable)")
      ->type_name("SECTION.KEY=VALUE")
      ->allow_extra_args(false);
  cmd->add_flag("--resume", options->resume, "continue the run in train.output_dir from its latest checkpoint");
  cmd->callback([&chosen, options] {
    chosen = [options] {
      rl::train(rl::load_experiment(options->file, options->overrides), rl::TrainOptions{options->resume});
      return 0;
    };
  });
}

}  // namespace aha::cli
