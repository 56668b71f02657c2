// `aha sft CONFIG [--set section.key=value ...] [--resume]`: supervised fine-tuning of a student
// on prompt/completion pairs, e.g. the traces `aha distill` wrote.
#include <memory>

#include "cli/commands.hpp"
#include "rl/sft_config.hpp"
#include "rl/sft_trainer.hpp"

namespace aha::cli {

namespace {

struct SftCommandOptions {
  std::string file;
  std::vector<std::string> overrides;
  bool resume = false, override_config = false;
};

}  // namespace

void add_sft_command(CLI::App& app, Action& chosen) {
  auto options = std::make_shared<SftCommandOptions>();
  auto* cmd = app.add_subcommand("sft", "Fine-tune a model on prompt/completion pairs (loss on completions only)");
  cmd->add_option("config", options->file, "the TOML SFT config")->required();
  cmd->add_option("--set", options->overrides, "override a key, as section.key=value (repeatable)")
      ->type_name("SECTION.KEY=VALUE")
      ->allow_extra_args(false);
  cmd->add_flag("--resume", options->resume, "continue the run in train.output_dir from its latest checkpoint");
  cmd->add_flag("--override", options->override_config,
                "with --resume: continue with settings that differ from the run's config.toml (each is printed)");
  cmd->callback([&chosen, options] {
    chosen = [options] {
      rl::fine_tune(rl::load_sft_config(options->file, options->overrides),
                    rl::SftOptions{options->resume, options->override_config});
      return 0;
    };
  });
}

}  // namespace aha::cli
