// `aha config check FILE [--set section.key=value ...] [--kind K]` validates a config and prints
// it resolved, every default filled in: an experiment (`aha train`), a pretrain config
// (`aha pretrain`, it names model.output) or an SFT config (`aha sft`, no rewards or rollout);
// `aha config docs` prints the reference of every key of all three.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/config_reader.hpp"
#include "rl/experiment_config.hpp"
#include "rl/pretrain_config.hpp"
#include "rl/sft_config.hpp"

namespace aha::cli {

namespace {

struct CheckOptions {
  std::string file;
  std::vector<std::string> overrides;
  std::string kind = "auto";
};

std::string detect_kind(const std::string& file) {
  const auto reader = config::ConfigReader::from_file(file);
  if (reader.contains("model.output")) return "pretrain";
  if (!reader.contains("reward") && !reader.contains("rollout") && !reader.contains("grpo")) return "sft";
  return "experiment";
}

int run_check(const CheckOptions& o) {
  const std::string kind = o.kind == "auto" ? detect_kind(o.file) : o.kind;
  std::string resolved;
  if (kind == "pretrain") resolved = rl::to_toml(rl::load_pretrain_config(o.file, o.overrides));
  else if (kind == "sft") resolved = rl::to_toml(rl::load_sft_config(o.file, o.overrides));
  else resolved = rl::to_toml(rl::load_experiment(o.file, o.overrides));
  std::cout << "# " << o.file << " (" << kind << " config), resolved: every key with its value\n\n" << resolved;
  return 0;
}

int run_docs() {
  std::cout << rl::config_reference() << "\n# Pretrain configs (`aha pretrain`)\n\n"
            << rl::pretrain_config_reference() << "\n# SFT configs (`aha sft`)\n\n"
            << rl::sft_config_reference();
  return 0;
}

}  // namespace

void add_config_command(CLI::App& app, Action& chosen) {
  auto* config = app.add_subcommand("config", "Check configs and list every key");
  config->require_subcommand(1);

  auto options = std::make_shared<CheckOptions>();
  auto* check = config->add_subcommand("check", "Validate a TOML config and print it resolved");
  check->add_option("file", options->file, "the TOML config")->required();
  check->add_option("--set", options->overrides, "override a key, as section.key=value (repeatable)")
      ->type_name("SECTION.KEY=VALUE")
      ->allow_extra_args(false);
  check->add_option("--kind", options->kind, "experiment, pretrain or sft; auto: from the file's sections")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "experiment", "pretrain", "sft"}));
  check->callback([&chosen, options] { chosen = [options] { return run_check(*options); }; });

  auto* docs = config->add_subcommand("docs", "Print the reference of every config key as Markdown");
  docs->callback([&chosen] { chosen = run_docs; });
}

}  // namespace aha::cli
