// The `aha` binary: parses the command line, runs the chosen subcommand, and turns errors into
// exit statuses: 0 success, 1 runtime or validation error, 2 usage error. Messages go to stderr.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>

#include "build_info.hpp"
#include "cli/allocator.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"

int main(int argc, char** argv) {
  aha::cli::keep_freed_memory();
  CLI::App app{"aha: train R1-Zero style reasoning models with GRPO", "aha"};
  app.set_version_flag("--version", std::string("aha ") + aha::build::version);
  app.require_subcommand(1);
  aha::cli::Action chosen;
  aha::cli::add_info_command(app, chosen);
  aha::cli::add_config_command(app, chosen);
  aha::cli::add_tokenize_command(app, chosen);
  aha::cli::add_logprobs_command(app, chosen);
  aha::cli::add_pretrain_command(app, chosen);
  aha::cli::add_reward_command(app, chosen);
  aha::cli::add_train_command(app, chosen);
  aha::cli::add_eval_command(app, chosen);
  aha::cli::add_plot_command(app, chosen);
  aha::cli::add_distill_command(app, chosen);
  aha::cli::add_sft_command(app, chosen);
  aha::cli::add_rollout_worker_command(app, chosen);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "aha: " << e.what() << "\nRun 'aha --help' for the commands and their options.\n";
    return 2;
  }
  try {
    return chosen();
  } catch (const aha::UsageError& e) {
    std::cerr << "aha: " << e.what() << "\n";
    return 2;
  } catch (const aha::ConfigError& e) {
    std::cerr << "aha: invalid config:\n" << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "aha: error: " << e.what() << "\n";
    return 1;
  }
}
