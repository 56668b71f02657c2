// `aha config check FILE [--set section.key=value ...]` validates an experiment config and prints
// it resolved, every default filled in; `aha config docs` prints the reference of every key of
// experiment, pretrain and SFT configs.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "rl/experiment_config.hpp"
#include "rl/pretrain_config.hpp"
#include "rl/sft_config.hpp"

namespace aha::cli {

namespace {

struct CheckOptions {
  std::string file;
  std::vector<std::string> overrides;
};

int run_check(const CheckOptions& options) {
  const rl::ExperimentConfig config = rl::load_experiment(options.file, options.overrides);
  std::cout << "# " << options.file << ", resolved: every key with its value\n\n" << rl::to_toml(config);
  return 0;
}

int run_docs() {
  std::cout << rl::config_reference() << "\n# Pretrain configs (`aha pretrain`)\n\n" << rl::pretrain_config_reference()
            << "\n# SFT configs (`aha sft`)\n\n" << rl::sft_config_reference();
  return 0;
}

}  // namespace

void add_config_command(CLI::App& app, Action& chosen) {
  auto* config = app.add_subcommand("config", "Check experiment configs and list every key");
  config->require_subcommand(1);

  auto options = std::make_shared<CheckOptions>();
  auto* check = config->add_subcommand("check", "Validate a TOML experiment config and print it resolved");
  check->add_option("file", options->file, "the TOML experiment config")->required();
  check->add_option("--set", options->overrides, "override a key, as section.key=value (repeatable)")
      ->type_name("SECTION.KEY=VALUE")
      ->allow_extra_args(false);
  check->callback([&chosen, options] { chosen = [options] { return run_check(*options); }; });

  auto* docs = config->add_subcommand("docs", "Print the reference of every config key as Markdown");
  docs->callback([&chosen] { chosen = run_docs; });
}

}  // namespace aha::cli
