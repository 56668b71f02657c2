// Generation on the tiny qwen3_moe checkpoint: groups, finish reasons, reproducibility, and
// recorded log-probs equal to the trainer's recomputation over the whole sequence.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <catch2/catch.hpp>

#include <set>

#include "policy/checkpoint.hpp"
#include "policy/token_logprobs.hpp"
#include "rollout/generator.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::rollout;

namespace {

policy::CausalLM tiny_moe() { return policy::load_causal_lm(source_dir() / "tests/fixtures/models/qwen3_moe"); }

const std::vector<std::vector<int64_t>> prompts{{5, 17, 99, 3}, {41, 9}, {76, 14, 58, 101, 6, 12}};

}  // namespace

TEST_CASE("generate returns G completions per prompt, each at most max_new_tokens long") {
  auto model = tiny_moe();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
  GenerationSettings settings;
  settings.max_new_tokens = 6;
  const auto completions = generate(*model, prompts, 4, settings, generator);
  REQUIRE(completions.size() == 12);
  for (const auto& c : completions) {
    CHECK(c.tokens.size() == 6);
    CHECK(c.logprobs.size() == 6);
    CHECK(c.finish == FinishReason::length);
  }
}

TEST_CASE("the same seed gives the same completions") {
  auto model = tiny_moe();
  GenerationSettings settings;
  settings.max_new_tokens = 5;
  settings.sampling.top_p = 0.9;
  auto first = at::make_generator<at::CPUGeneratorImpl>(7), second = at::make_generator<at::CPUGeneratorImpl>(7);
  const auto a = generate(*model, prompts, 3, settings, first);
  const auto b = generate(*model, prompts, 3, settings, second);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].tokens == b[i].tokens);
    CHECK(a[i].logprobs == b[i].logprobs);
  }
}

TEST_CASE("EOS and stop strings end a completion with finish reason stop") {
  auto model = tiny_moe();
  GenerationSettings settings;
  settings.max_new_tokens = 30;
  settings.sampling.temperature = 2.0;
  for (int64_t id = 0; id < 128; id += 2) settings.eos_ids.push_back(id);  // half the vocabulary ends a completion
  auto generator = at::make_generator<at::CPUGeneratorImpl>(2);
  for (const auto& c : generate(*model, prompts, 4, settings, generator)) {
    if (c.finish == FinishReason::stop) CHECK(c.tokens.back() % 2 == 0);
    else CHECK(c.tokens.size() == 30);
  }
  GenerationSettings with_stop;
  with_stop.max_new_tokens = 20;
  with_stop.stop = {"x"};
  const Detokenize detokenize = [](std::span<const int64_t> ids) {
    std::string text;
    for (const auto id : ids) text += id % 3 == 0 ? 'x' : 'a';
    return text;
  };
  for (const auto& c : generate(*model, prompts, 2, with_stop, generator, detokenize)) {
    CHECK(c.finish == FinishReason::stop);
    CHECK(c.tokens.back() % 3 == 0);
    CHECK(std::count_if(c.tokens.begin(), c.tokens.end(), [](int64_t t) { return t % 3 == 0; }) == 1);
  }
  GenerationSettings two_tokens;  // a stop string that spans tokens ends at its first occurrence
  two_tokens.max_new_tokens = 40;
  two_tokens.stop = {"ab"};
  const Detokenize letters = [](std::span<const int64_t> ids) {
    std::string text;
    for (const auto id : ids) text += "abc"[id % 3];
    return text;
  };
  for (const auto& c : generate(*model, prompts, 2, two_tokens, generator, letters)) {
    const std::string text = letters(c.tokens);
    if (c.finish == FinishReason::stop) {
      CHECK(text.ends_with("ab"));
      CHECK(text.find("ab") == text.size() - 2);
    } else {
      CHECK(text.find("ab") == std::string::npos);
    }
  }
}

TEST_CASE("recorded log-probs equal the trainer's full-sequence recomputation") {
  auto model = tiny_moe();
  GenerationSettings settings;
  settings.max_new_tokens = 8;
  settings.sampling.temperature = 0.9;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto completions = generate(*model, prompts, 2, settings, generator);
  torch::NoGradGuard no_grad;
  double worst = 0.0;
  for (std::size_t i = 0; i < completions.size(); ++i) {
    std::vector<int64_t> sequence = prompts[i / 2];
    const auto prompt_length = static_cast<int64_t>(sequence.size());
    sequence.insert(sequence.end(), completions[i].tokens.begin(), completions[i].tokens.end());
    const auto length = static_cast<int64_t>(sequence.size());
    const at::Tensor ids = at::tensor(sequence, at::kLong).unsqueeze(0);
    const at::Tensor hidden = model->forward(ids, at::ones_like(ids)).hidden[0];  // [length, hidden]
    const at::Tensor predicted = hidden.narrow(0, prompt_length - 1, length - prompt_length);
    const at::Tensor targets = ids[0].narrow(0, prompt_length, length - prompt_length);
    const at::Tensor recomputed = policy::token_logprobs(predicted, model->output_head(), targets, 0.9);
    const at::Tensor recorded = at::tensor(completions[i].logprobs);
    worst = std::max(worst, (recomputed - recorded).abs().max().item<double>());
  }
  CHECK(worst < 1e-5);
}

TEST_CASE("recorded routing covers every processed token and matches a full forward's choice") {
  auto model = tiny_moe();
  GenerationSettings settings;
  settings.max_new_tokens = 7;
  settings.record_routing = true;
  for (int64_t id = 0; id < 128; id += 5) settings.eos_ids.push_back(id);  // rows finish at different steps
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto completions = generate(*model, prompts, 3, settings, generator);
  torch::NoGradGuard no_grad;
  int64_t pairs = 0, same = 0;
  for (std::size_t i = 0; i < completions.size(); ++i) {
    const auto& c = completions[i];
    std::vector<int64_t> sequence = prompts[i / 3];
    sequence.insert(sequence.end(), c.tokens.begin(), c.tokens.end());
    const auto processed = static_cast<int64_t>(sequence.size()) - 1;  // the last sampled token is never fed
    REQUIRE(c.routing.defined());
    CHECK(c.routing.size(0) == model->num_moe_layers());
    CHECK(c.routing.size(1) == processed);
    CHECK(c.routing.size(2) == model->config().num_experts_per_tok);
    const at::Tensor ids = at::tensor(sequence, at::kLong).unsqueeze(0);
    const auto routers = model->forward(ids, at::ones_like(ids)).routers;
    for (std::size_t l = 0; l < routers.size(); ++l) {
      const at::Tensor full = std::get<0>(routers[l].own.narrow(0, 0, processed).sort(-1));
      const at::Tensor recorded = std::get<0>(c.routing[static_cast<int64_t>(l)].to(at::kLong).sort(-1));
      same += full.eq(recorded).all(-1).sum().item<int64_t>();
      pairs += processed;
    }
  }
  CHECK(same == pairs);
}

TEST_CASE("finished rows leave the batch without changing the others' log-probs") {
  auto model = tiny_moe();
  GenerationSettings settings;
  settings.max_new_tokens = 10;
  for (int64_t id = 0; id < 128; id += 3) settings.eos_ids.push_back(id);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
  const auto completions = generate(*model, prompts, 4, settings, generator);
  std::set<std::size_t> lengths;
  for (const auto& c : completions) {
    lengths.insert(c.tokens.size());
    CHECK(c.logprobs.size() == c.tokens.size());
    for (const float lp : c.logprobs) CHECK(lp <= 0.0f);
  }
  CHECK(lengths.size() > 1);
}
