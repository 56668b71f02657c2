// StepSampler::sample(): rounds of draw, roll out, score, keep, until the step has its groups.
#include "rl/step_sampling.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <mutex>
#include <span>

#include "core/error.hpp"
#include "core/wall_clock.hpp"
#include "rewards/reward_json.hpp"
#include "rl/data_parallel.hpp"
#include "rollout/completion_wire.hpp"

namespace aha::rl {

namespace {

uint64_t draw_seed(at::Generator& rng) {
  auto* cpu = at::check_generator<at::CPUGeneratorImpl>(rng);
  std::lock_guard lock(cpu->mutex_);
  return cpu->random64();
}

bool rewards_all_equal(std::span<const ScoredCompletion> group) {
  for (const auto& s : group)
    if (s.score.total != group.front().score.total) return false;
  return true;
}

}  // namespace

StepSampler::StepSampler(const ExperimentConfig& config, datasets::PromptSource& prompts,
                         const policy::Tokenizer& tokenizer, const std::vector<int64_t>& eos_ids,
                         const rewards::RewardPipeline& rewards, const rewards::ReflectionPhrases& phrases,
                         rollout::RolloutBackend& backend, at::Generator& rng, DataParallel* data_parallel)
    : c_(config),
      prompts_(prompts),
      tokenizer_(tokenizer),
      eos_ids_(eos_ids),
      rewards_(rewards),
      phrases_(phrases),
      backend_(backend),
      rng_(rng),
      dp_(data_parallel) {}

StepRollouts StepSampler::sample(int64_t step, int64_t version) {
  StepRollouts out;
  out.weight_version = version;
  const int group = c_.rollout.group_size;
  const int rounds = c_.grpo.dynamic_sampling ? 1 + c_.grpo.max_resample_rounds : 1;
  int64_t kept_groups = 0;
  std::vector<ScoredCompletion> flat_groups;  // set aside by dynamic sampling, in the order drawn
  for (int round = 0; round < rounds && kept_groups < c_.rollout.prompts_per_step; ++round) {
    ++out.rounds;
    const auto [records, prompts] =
        draw_prompts(static_cast<std::size_t>(c_.rollout.prompts_per_step - kept_groups), out);
    const double began = now_seconds();
    std::vector<rollout::Completion> samples = roll_out(prompts, step, version);
    for (const auto& c : samples) out.generated_tokens += static_cast<int64_t>(c.tokens.size());
    const double sampled = now_seconds();
    out.rollout_seconds += sampled - began;
    auto scored = score_completions(
        std::move(samples), records, prompts, group, prompts_, tokenizer_, eos_ids_,
        [this](const auto& inputs) { return score(inputs); }, phrases_);
    out.reward_seconds += now_seconds() - sampled;

    for (std::size_t g = 0; g < records.size(); ++g) {
      const std::span<const ScoredCompletion> members(scored.data() + g * group, static_cast<std::size_t>(group));
      int64_t correct = 0;
      for (const auto& s : members) correct += s.correct.value_or(false);
      prompts_.record_pass_rate(records[g], static_cast<double>(correct) / group);
      const bool flat = rewards_all_equal(members);
      ++out.groups;
      out.zero_std_groups += flat;
      auto& into = c_.grpo.dynamic_sampling && flat ? flat_groups : out.kept;
      into.insert(into.end(), members.begin(), members.end());
      kept_groups += &into == &out.kept;
    }
    out.all.insert(out.all.end(), std::make_move_iterator(scored.begin()), std::make_move_iterator(scored.end()));
  }
  // Out of rounds: fill the step with groups that carry no signal (zero advantage), so every step
  // trains on prompts_per_step groups.
  const std::size_t missing = static_cast<std::size_t>(c_.rollout.prompts_per_step - kept_groups) * group;
  out.kept.insert(out.kept.end(), flat_groups.begin(),
                  flat_groups.begin() + static_cast<std::ptrdiff_t>(std::min(missing, flat_groups.size())));
  return out;
}

std::pair<std::vector<std::size_t>, std::vector<std::vector<int64_t>>> StepSampler::draw_prompts(std::size_t count,
                                                                                                 StepRollouts& out) {
  std::vector<std::size_t> records;
  std::vector<std::vector<int64_t>> prompts;
  std::size_t skipped_in_a_row = 0;
  while (records.size() < count) {
    const std::size_t r = prompts_.next(1).front();
    auto tokens = tokenizer_.encode(prompts_.prompt_text(r));
    if (tokens.size() > static_cast<std::size_t>(c_.data.max_prompt_tokens)) {
      ++out.prompts_skipped;
      if (++skipped_in_a_row > prompts_.size())
        throw Error(fmt::format("every prompt of {} is longer than data.max_prompt_tokens = {}: raise it",
                                c_.data.train, c_.data.max_prompt_tokens));
      continue;
    }
    skipped_in_a_row = 0;
    records.push_back(r);
    prompts.push_back(std::move(tokens));
  }
  return {records, prompts};
}

std::vector<rollout::Completion> StepSampler::roll_out(const std::vector<std::vector<int64_t>>& prompts, int64_t step,
                                                       int64_t version) {
  // One job per worker (of every process), each with its own seed drawn in order, so results do
  // not depend on timing or on which worker ran a job.
  const std::size_t all_workers = c_.rollout.endpoints.empty()
                                      ? static_cast<std::size_t>(c_.rollout.workers) * (dp_ ? dp_->world() : 1)
                                      : c_.rollout.endpoints.size();
  const std::size_t workers = std::min<std::size_t>(all_workers, prompts.size());
  const std::size_t per_job = (prompts.size() + workers - 1) / workers;
  std::vector<rollout::RolloutJob> jobs;
  for (std::size_t first = 0; first < prompts.size(); first += per_job) {
    rollout::RolloutJob job;
    job.id = static_cast<int64_t>(jobs.size());
    job.prompts.assign(prompts.begin() + static_cast<std::ptrdiff_t>(first),
                       prompts.begin() + static_cast<std::ptrdiff_t>(std::min(prompts.size(), first + per_job)));
    job.group_size = c_.rollout.group_size;
    job.seed = draw_seed(rng_);
    jobs.push_back(job);
  }
  std::size_t owned = 0;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    if (!DataParallel::owns(dp_, j)) continue;
    backend_.submit(jobs[j]);
    ++owned;
  }
  std::vector<std::vector<rollout::Completion>> by_job(jobs.size());
  for (std::size_t taken = 0; taken < owned; ++taken) {
    rollout::RolloutResult result = backend_.take();
    if (result.weight_version != version)
      throw Error(fmt::format("step {}: a rollout came back from weight version {}, expected {}", step,
                              result.weight_version, version));
    by_job[static_cast<std::size_t>(result.id)] = std::move(result.completions);
  }
  if (dp_) by_job = gather(std::move(by_job));
  std::vector<rollout::Completion> samples;
  for (auto& completions : by_job)
    for (auto& c : completions) samples.push_back(std::move(c));
  return samples;
}

std::vector<std::vector<rollout::Completion>> StepSampler::gather(
    std::vector<std::vector<rollout::Completion>> by_job) const {
  nlohmann::json owned = nlohmann::json::object();
  for (std::size_t j = 0; j < by_job.size(); ++j) {
    if (!DataParallel::owns(dp_, j)) continue;
    rollout::CompletionResponse response;
    for (const auto& c : by_job[j]) response.choices.push_back(rollout::to_choice(c, ""));
    owned[std::to_string(j)] = rollout::to_json(response, "", 0);
  }
  for (const std::string& part : dp_->all_gather(owned.dump())) {
    const auto gathered = nlohmann::json::parse(part);
    for (const auto& [job, response] : gathered.items()) {
      auto& into = by_job[std::stoul(job)];
      if (!into.empty()) continue;
      for (auto& choice : rollout::parse_completion_response(response.dump()).choices)
        into.push_back(rollout::to_completion(std::move(choice)));
    }
  }
  return by_job;
}

std::vector<rewards::ScoreRecord> StepSampler::score(const std::vector<rewards::CompletionRecord>& inputs) const {
  if (!dp_) return rewards_.score_batch(inputs);
  const auto world = static_cast<std::size_t>(dp_->world());
  std::vector<rewards::CompletionRecord> mine;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (DataParallel::owns(dp_, i)) mine.push_back(inputs[i]);
  nlohmann::ordered_json scores = nlohmann::ordered_json::array();
  for (const auto& s : rewards_.score_batch(mine)) scores.push_back(rewards::score_to_json(s));
  std::vector<rewards::ScoreRecord> out(inputs.size());
  const auto parts = dp_->all_gather(scores.dump());
  for (std::size_t r = 0; r < parts.size(); ++r) {
    const auto part = nlohmann::ordered_json::parse(parts[r]);
    for (std::size_t k = 0; k < part.size(); ++k) out[r + k * world] = rewards::score_from_json(part[k]);
  }
  return out;
}

}  // namespace aha::rl
