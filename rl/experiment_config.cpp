// The walk over an experiment's sections, shared by reading, writing and documenting.
#include "rl/experiment_config.hpp"

#include <fmt/format.h>

#include "core/config_docs.hpp"
#include "core/config_reader.hpp"
#include "core/config_writer.hpp"

namespace aha::rl {

namespace {

using config::Binder;

template <class Walker>
void walk(Walker& w, ExperimentConfig& c) {
  w.section("model", policy::model_section_doc, [&](Binder& b) { policy::bind(b, c.model); });
  w.section("data", datasets::data_section_doc, [&](Binder& b) { bind(b, c.data); });
  w.section("rollout", rollout::rollout_section_doc, [&](Binder& b) { rollout::bind(b, c.rollout); });
  w.template table_array<rewards::RewardSpec>("reward", rewards::reward_section_doc, c.rewards,
                                              [](Binder& b, rewards::RewardSpec& r) { rewards::bind(b, r); });
  w.section("grpo", grpo_section_doc, [&](Binder& b) { bind(b, c.grpo); });
  w.section("optim", optim_section_doc, [&](Binder& b) { bind(b, c.optim); });
  w.section("train", train_section_doc, [&](Binder& b) { bind(b, c.train); });
  w.section("eval", eval_section_doc, [&](Binder& b) { bind(b, c.eval); });
  w.section("log", records::log_section_doc, [&](Binder& b) { bind(b, c.log); });
}

// Checks that involve more than one key.
void check_across_keys(config::ConfigReader& reader, const ExperimentConfig& c) {
  if (c.rewards.empty())
    reader.add_problem("reward", "no [[reward]] entries: add at least one, e.g. [[reward]] with rule = \"math\"");
  for (auto& problem : rewards::check(c.rewards)) reader.add_problem("reward", std::move(problem));
  for (const std::string& stop : c.rollout.stop)
    if (stop.empty())
      reader.add_problem("rollout", "rollout.stop holds an empty string, which would end every completion at its first "
                                    "token; remove it");
  const int64_t completions = int64_t{c.rollout.prompts_per_step} * c.rollout.group_size;
  if (completions % c.grpo.mini_batches != 0)
    reader.add_problem("grpo", fmt::format("grpo.mini_batches = {} does not divide the step's {} completions "
                                           "(rollout.prompts_per_step * rollout.group_size)",
                                           c.grpo.mini_batches, completions));
  if (c.data.curriculum == datasets::Curriculum::field && c.data.difficulty_key.empty())
    reader.add_problem("data", "data.curriculum = \"field\" needs data.difficulty_key, the field to order by");
}

// What TRL's GRPOConfig and veRL call the keys that exist here under another name.
std::vector<std::pair<std::string, std::string>> peer_names() {
  return {{"learning_rate", "optim.lr"},
          {"num_generations", "rollout.group_size"},
          {"max_completion_length", "rollout.max_new_tokens"},
          {"max_prompt_length", "data.max_prompt_tokens"},
          {"num_iterations", "grpo.iterations"},
          {"ppo_epochs", "grpo.iterations"},
          {"vllm_importance_sampling_mode", "grpo.rollout_correction"},
          {"vllm_importance_sampling_cap", "grpo.rollout_correction_cap"},
          {"vllm_importance_sampling_clip_max", "grpo.rollout_correction_cap"},
          {"vllm_importance_sampling_clip_min", "grpo.rollout_correction_floor"},
          {"epsilon", "grpo.epsilon_low"},
          {"clip_ratio_low", "grpo.epsilon_low"},
          {"clip_ratio_high", "grpo.epsilon_high"},
          {"loss_type", "grpo.loss"},
          {"loss_agg_mode", "grpo.loss"},
          {"scale_rewards", "grpo.advantage"},
          {"kl_coef", "grpo.beta"},
          {"mask_truncated_completions", "grpo.mask_truncated"},
          {"max_steps", "train.steps"},
          {"total_training_steps", "train.steps"},
          {"save_steps", "train.save_every"},
          {"eval_steps", "train.eval_every"},
          {"logging_steps", "log.every"},
          {"warmup_ratio", "optim.warmup_steps"},
          {"lr_scheduler_type", "optim.schedule"},
          {"adam_beta1", "optim.beta1"},
          {"adam_beta2", "optim.beta2"},
          {"adam_epsilon", "optim.eps"},
          {"model_name_or_path", "model.path"},
          {"n", "rollout.group_size"}};
}

ExperimentConfig read(config::ConfigReader& reader, std::span<const std::string> overrides) {
  reader.set_aliases(peer_names());
  for (const auto& assignment : overrides) reader.apply_override(assignment);
  ExperimentConfig config;
  walk(reader, config);
  check_across_keys(reader, config);
  reader.finish();
  return config;
}

}  // namespace

ExperimentConfig load_experiment(const std::filesystem::path& file, std::span<const std::string> overrides) {
  auto reader = config::ConfigReader::from_file(file);
  return read(reader, overrides);
}

ExperimentConfig parse_experiment(std::string_view text, const std::string& source_name,
                                  std::span<const std::string> overrides) {
  auto reader = config::ConfigReader::from_string(text, source_name);
  return read(reader, overrides);
}

std::string to_toml(const ExperimentConfig& config) {
  ExperimentConfig copy = config;
  config::ConfigWriter writer;
  walk(writer, copy);
  return writer.text();
}

std::string config_reference() {
  ExperimentConfig example;
  config::ConfigDocs docs;
  walk(docs, example);
  return docs.markdown();
}

}  // namespace aha::rl
