// The subcommands of `aha`. Each add_* function declares one subcommand on the app and returns
// the action to run when that subcommand was chosen; an action returns the exit status.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace aha::cli {

using Action = std::function<int()>;

void add_info_command(CLI::App& app, Action& chosen);
void add_config_command(CLI::App& app, Action& chosen);
void add_tokenize_command(CLI::App& app, Action& chosen);
void add_logprobs_command(CLI::App& app, Action& chosen);
void add_pretrain_command(CLI::App& app, Action& chosen);
void add_reward_command(CLI::App& app, Action& chosen);
void add_train_command(CLI::App& app, Action& chosen);
void add_eval_command(CLI::App& app, Action& chosen);
void add_plot_command(CLI::App& app, Action& chosen);
void add_distill_command(CLI::App& app, Action& chosen);
void add_sft_command(CLI::App& app, Action& chosen);
void add_rollout_worker_command(CLI::App& app, Action& chosen);

}  // namespace aha::cli
