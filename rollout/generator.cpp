// generate(): prefill once per prompt, repeat the cache per completion, decode step by step.
#include "rollout/generator.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

#include "core/error.hpp"
#include "policy/token_logprobs.hpp"

namespace aha::rollout {

namespace {

// Left-pads the prompts: ids and mask [prompts, longest].
std::pair<at::Tensor, at::Tensor> left_pad(const std::vector<std::vector<int64_t>>& prompts, int64_t pad_id) {
  std::size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  const auto rows = static_cast<int64_t>(prompts.size()), cols = static_cast<int64_t>(longest);
  at::Tensor ids = at::full({rows, cols}, pad_id, at::kLong), mask = at::zeros({rows, cols}, at::kLong);
  for (int64_t r = 0; r < rows; ++r) {
    const auto& p = prompts[r];
    const int64_t offset = cols - static_cast<int64_t>(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) ids[r][offset + static_cast<int64_t>(i)] = p[i];
    mask.narrow(0, r, 1).narrow(1, offset, static_cast<int64_t>(p.size())).fill_(1);
  }
  return {ids, mask};
}

void repeat_rows(policy::KvCache& cache, int group_size) {
  for (auto& layer : cache.layers) {
    layer.keys = layer.keys.repeat_interleave(group_size, 0);
    layer.values = layer.values.repeat_interleave(group_size, 0);
  }
  cache.key_mask = cache.key_mask.repeat_interleave(group_size, 0);
}

bool ends_with_stop(const Completion& c, const GenerationSettings& s, const Detokenize& detokenize) {
  if (s.stop.empty() || !detokenize) return false;
  const std::string text = detokenize(c.tokens);
  return std::any_of(s.stop.begin(), s.stop.end(), [&](const std::string& stop) { return text.find(stop) != std::string::npos; });
}

}  // namespace

std::vector<Completion> generate(policy::CausalLMImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                 int group_size, const GenerationSettings& s, at::Generator& generator,
                                 const Detokenize& detokenize) {
  for (std::size_t i = 0; i < prompts.size(); ++i)
    if (prompts[i].empty()) throw Error(fmt::format("prompt {} has no tokens", i));
  torch::NoGradGuard no_grad;
  const auto device = model.lm_head_weight().device();
  auto [ids, mask] = left_pad(prompts, s.pad_id);
  policy::KvCache cache;
  at::Tensor hidden = model.forward(ids.to(device), mask.to(device), &cache).hidden.select(1, -1);  // [prompts, h]
  repeat_rows(cache, group_size);
  hidden = hidden.repeat_interleave(group_size, 0);  // [rows, hidden]

  const auto rows = static_cast<int64_t>(prompts.size()) * group_size;
  std::vector<Completion> completions(rows);
  std::vector<bool> done(rows, false);
  for (int step = 0; step < s.max_new_tokens; ++step) {
    const at::Tensor tokens = sample(model.logits(hidden), s.sampling, generator);  // [rows]
    const at::Tensor logprobs =
        policy::token_logprobs(hidden, model.lm_head_weight(), tokens, s.sampling.temperature).to(at::kCPU);
    const at::Tensor cpu_tokens = tokens.to(at::kCPU);
    at::Tensor active = at::zeros({rows, 1}, at::kLong);
    for (int64_t r = 0; r < rows; ++r) {
      if (done[r]) continue;
      Completion& c = completions[r];
      const int64_t token = cpu_tokens[r].item<int64_t>();
      c.tokens.push_back(token);
      c.logprobs.push_back(logprobs[r].item<float>());
      if (std::find(s.eos_ids.begin(), s.eos_ids.end(), token) != s.eos_ids.end() || ends_with_stop(c, s, detokenize)) {
        c.finish = FinishReason::stop;
        done[r] = true;
      } else {
        active[r][0] = 1;
      }
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }) || step + 1 == s.max_new_tokens) break;
    const at::Tensor next = at::where(active.squeeze(1).to(device).to(at::kBool), tokens, s.pad_id).unsqueeze(1);
    hidden = model.forward(next, active.to(device), &cache).hidden.select(1, 0);
  }
  return completions;
}

}  // namespace aha::rollout
