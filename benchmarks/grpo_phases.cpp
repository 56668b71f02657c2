// The two phases of a GRPO step, each timed alone on a fixed input, for A/B runs of a change:
// one rollout worker's sampling (4 prompts x G = 8 in the R1-Zero template, at most 96 new
// tokens, stop at </answer>, temperature 1, a fixed seed, on one thread) and one optimizer step
// on a fixed 64-row batch (those completions twice over, advantages +1 and -0.5, lr 1e-7).
//   grpo_phases MODEL_DIR TRAIN_JSONL [repeats] [micro_batch_threads]
// Prints the best and median seconds of each phase over the repeats.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "datasets/prompt_source.hpp"
#include "kernels/cpu_threads.hpp"
#include "policy/checkpoint.hpp"
#include "policy/tokenizer.hpp"
#include "rl/policy_optimizer.hpp"
#include "rollout/generator.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Best and median of the repeats' seconds.
void report(const char* phase, std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  std::printf("%s best_s=%.3f median_s=%.3f repeats=%zu\n", phase, seconds.front(), seconds[seconds.size() / 2],
              seconds.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: grpo_phases MODEL_DIR TRAIN_JSONL [repeats] [micro_batch_threads]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 8, micro_batch_threads = argc > 4 ? std::stoi(argv[4]) : 0;
  constexpr int group = 8;
  auto model = aha::policy::load_causal_lm(dir);
  const auto tokenizer = aha::policy::Tokenizer::from_file(dir + "/tokenizer.json");
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& record : aha::datasets::read_prompt_records(argv[2], aha::datasets::DataSection{})) {
    prompts.push_back(
        tokenizer.encode(aha::datasets::apply_template(aha::datasets::r1_zero_template, record.question)));
    if (prompts.size() == 4) break;
  }
  aha::rollout::GenerationSettings settings;
  settings.sampling.temperature = 1.0;
  settings.max_new_tokens = 96;
  settings.stop = {"</answer>"};
  settings.record_routing = model->num_moe_layers() > 0;
  const auto detokenize = [&](std::span<const int64_t> ids) { return tokenizer.decode(ids); };

  std::vector<aha::rollout::Completion> completions;
  std::vector<double> seconds;
  for (int r = 0; r < repeats; ++r) {
    std::thread worker([&] {  // a rollout worker: its own thread, one core
      aha::kernels::set_threads_of_this_thread(1);
      at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(7);
      const auto start = Clock::now();
      completions = aha::rollout::generate(*model, prompts, group, settings, generator, detokenize);
      seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    });
    worker.join();
  }
  report("rollout", seconds);

  std::vector<aha::rl::TrainingSequence> batch;
  for (int copy = 0; copy < 2; ++copy)
    for (std::size_t i = 0; i < completions.size(); ++i)
      batch.push_back({prompts[i / group], completions[i].tokens, completions[i].logprobs, i % 3 == 0 ? 1.0 : -0.5,
                       true, completions[i].routing.defined() ? completions[i].routing.to(at::kLong) : at::Tensor()});
  aha::rl::GrpoSection grpo;
  grpo.epsilon_high = 0.28;
  aha::rl::OptimSection optim;
  optim.lr = 1e-7;
  optim.schedule = aha::rl::Schedule::constant;
  aha::rl::UpdateSettings update;
  update.optim = optim;
  update.total_steps = repeats;
  update.micro_batch_tokens = 1 << 20;
  aha::rl::PolicyOptimizer optimizer(model, update, {grpo, std::nullopt, settings.max_new_tokens, 1.0});
  optimizer.set_micro_batch_threads(micro_batch_threads);
  seconds.clear();
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    optimizer.step(batch);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  report("train", seconds);
  return 0;
}
