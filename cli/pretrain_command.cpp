// `aha pretrain CONFIG [--set section.key=value ...]`: the demo's base model (rl/pretrainer.hpp).
#include <memory>

#include "cli/commands.hpp"
#include "rl/pretrainer.hpp"

namespace aha::cli {

namespace {

struct PretrainOptions {
  std::string file;
  std::vector<std::string> overrides;
};

int run_pretrain(const PretrainOptions& options) {
  rl::pretrain(rl::load_pretrain_config(options.file, options.overrides));
  return 0;
}

}  // namespace

void add_pretrain_command(CLI::App& app, Action& chosen) {
  auto options = std::make_shared<PretrainOptions>();
  auto* cmd = app.add_subcommand("pretrain", "Train the demo's small MoE base model on synthetic reasoning traces");
  cmd->add_option("config", options->file, "the TOML pretrain config")->required();
  cmd->add_option("--set", options->overrides, "override a key, as section.key=value (repeatable)")
      ->type_name("SECTION.KEY=VALUE")
      ->allow_extra_args(false);
  cmd->callback([&chosen, options] { chosen = [options] { return run_pretrain(*options); }; });
}

}  // namespace aha::cli
