// generate(): prefill once per prompt, repeat the cache per completion, decode step by step,
// dropping finished rows from the batch (and from the cache, unless the CPU decoder runs the steps).
#include "rollout/generator.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "core/error.hpp"
#include "kernels/selective_log_softmax.hpp"
#include "policy/cpu_decoder.hpp"

namespace aha::rollout {

namespace {

// Left-pads the prompts: ids and mask [prompts, longest].
std::pair<at::Tensor, at::Tensor> left_pad(const std::vector<std::vector<int64_t>>& prompts, int64_t pad_id) {
  std::size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  const auto rows = static_cast<int64_t>(prompts.size()), cols = static_cast<int64_t>(longest);
  at::Tensor ids = at::full({rows, cols}, pad_id, at::kLong), mask = at::zeros({rows, cols}, at::kLong);
  auto id = ids.accessor<int64_t, 2>();
  auto on = mask.accessor<int64_t, 2>();
  for (int64_t r = 0; r < rows; ++r) {
    const auto& p = prompts[r];
    const int64_t offset = cols - static_cast<int64_t>(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      id[r][offset + static_cast<int64_t>(i)] = p[i];
      on[r][offset + static_cast<int64_t>(i)] = 1;
    }
  }
  return {ids, mask};
}

// Whether the completion's text now contains a stop string. A stop string of L bytes that the
// last token completed lies within the last L tokens (each decodes to at least one byte), so
// only that tail is decoded, not the whole completion at every step.
bool ends_with_stop(const Completion& c, const GenerationSettings& s, const Detokenize& detokenize) {
  if (s.stop.empty() || !detokenize) return false;
  std::size_t longest = 0;
  for (const auto& stop : s.stop) longest = std::max(longest, stop.size());
  const std::span<const int64_t> tokens(c.tokens);
  const std::string text = detokenize(tokens.last(std::min(tokens.size(), longest + 1)));
  return std::any_of(s.stop.begin(), s.stop.end(),
                     [&](const std::string& stop) { return text.find(stop) != std::string::npos; });
}

// The experts of every MoE layer for the tokens of one forward pass: [layers, tokens, k] int16 on the CPU.
at::Tensor stacked_experts(const std::vector<at::Tensor>& experts) {
  std::vector<at::Tensor> layers;
  for (const auto& e : experts) layers.push_back(e.to(at::kShort));
  return at::stack(layers).to(at::kCPU).contiguous();
}

std::vector<at::Tensor> experts_of(const std::vector<policy::RouterTrace>& routers) {
  std::vector<at::Tensor> out;
  for (const auto& r : routers) out.push_back(r.experts);
  return out;
}

// Routing of each row, step by step: the prompt's, then each decoded token's.
struct RoutingRecorder {
  int64_t layers = 0, k = 0;
  std::vector<at::Tensor> prompt;             // per prompt [layers, prompt tokens, k]
  std::vector<std::vector<int16_t>> decoded;  // per row [steps, layers, k]

  void record_prompts(const std::vector<policy::RouterTrace>& routers, const std::vector<std::vector<int64_t>>& prompts,
                      int64_t longest) {
    const at::Tensor all = stacked_experts(experts_of(routers));  // [layers, prompts * longest, k]
    layers = all.size(0), k = all.size(2);
    for (std::size_t p = 0; p < prompts.size(); ++p) {
      const auto length = static_cast<int64_t>(prompts[p].size());
      prompt.push_back(all.narrow(1, static_cast<int64_t>(p) * longest + longest - length, length));
    }
  }
  // experts: per MoE layer [alive, k] for the rows `rows`.
  void record_step(const std::vector<at::Tensor>& experts, const std::vector<int64_t>& rows) {
    const at::Tensor all = stacked_experts(experts);  // [layers, alive, k]
    const int16_t* e = all.const_data_ptr<int16_t>();
    const auto alive = static_cast<int64_t>(rows.size());
    for (int64_t i = 0; i < alive; ++i) {
      auto& into = decoded[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])];
      for (int64_t l = 0; l < layers; ++l)
        into.insert(into.end(), e + (l * alive + i) * k, e + (l * alive + i + 1) * k);
    }
  }
  at::Tensor of_row(int64_t row, int group_size) {
    auto& steps = decoded[static_cast<std::size_t>(row)];
    const auto count = static_cast<int64_t>(steps.size()) / std::max<int64_t>(layers * k, 1);
    const at::Tensor own = at::from_blob(steps.data(), {count, layers, k}, at::kShort).permute({1, 0, 2});
    return at::cat({prompt[static_cast<std::size_t>(row / group_size)], own}, 1);
  }
};

}  // namespace

std::vector<Completion> generate(policy::CausalLMImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                 int group_size, const GenerationSettings& s, at::Generator& generator,
                                 const Detokenize& detokenize) {
  for (std::size_t i = 0; i < prompts.size(); ++i)
    if (prompts[i].empty()) throw Error(fmt::format("prompt {} has no tokens", i));
  const c10::InferenceMode inference;
  const auto device = model.lm_head_weight().device();
  const bool record = s.record_routing && model.num_moe_layers() > 0;
  auto [ids, mask] = left_pad(prompts, s.pad_id);
  policy::KvCache cache;
  cache.capacity = ids.size(1) + s.max_new_tokens;
  const policy::ForwardOutput prefill = model.forward(ids.to(device), mask.to(device), &cache);
  at::Tensor hidden = prefill.hidden.select(1, -1);  // [prompts, hidden]
  cache.select_rows(
      at::arange(static_cast<int64_t>(prompts.size()), at::kLong).repeat_interleave(group_size).to(device));
  hidden = hidden.repeat_interleave(group_size, 0);  // [rows, hidden]

  const auto rows = static_cast<int64_t>(prompts.size()) * group_size;
  RoutingRecorder routing;
  if (record) {
    routing.record_prompts(prefill.routers, prompts, ids.size(1));
    routing.decoded.resize(rows);
  }
  // On the CPU the decode steps skip ATen's per-operator work; the cache rows stay where they are.
  std::optional<policy::CpuDecoder> decoder;
  if (policy::CpuDecoder::supports(model)) decoder.emplace(model, std::move(cache), group_size);
  std::vector<Completion> completions(rows);
  std::vector<int64_t> alive(rows);  // the completion of each row still in the batch
  for (int64_t r = 0; r < rows; ++r) alive[r] = r;
  for (int step = 0; step < s.max_new_tokens && !alive.empty(); ++step) {
    // The logits once, for the draw and the log-probs: the same bits per row as the trainer's
    // chunked policy::token_logprobs, whose products and kernel these are.
    const at::Tensor logits = decoder ? decoder->logits(hidden) : model.logits(hidden);  // [alive, vocab]
    const at::Tensor tokens = sample(logits, s.sampling, generator);                     // [alive]
    const at::Tensor logprobs =
        kernels::selective_log_softmax(logits, tokens, 1.0 / s.sampling.temperature).logprobs.to(at::kCPU);
    const at::Tensor cpu_tokens = tokens.to(at::kCPU);
    const auto* token = cpu_tokens.data_ptr<int64_t>();
    const auto* logprob = logprobs.data_ptr<float>();
    std::vector<int64_t> keep, still;
    for (std::size_t i = 0; i < alive.size(); ++i) {
      Completion& c = completions[alive[i]];
      c.tokens.push_back(token[i]);
      c.logprobs.push_back(logprob[i]);
      if (std::find(s.eos_ids.begin(), s.eos_ids.end(), token[i]) != s.eos_ids.end() ||
          ends_with_stop(c, s, detokenize)) {
        c.finish = FinishReason::stop;
      } else {
        keep.push_back(static_cast<int64_t>(i));
        still.push_back(alive[i]);
      }
    }
    if (still.empty() || step + 1 == s.max_new_tokens) break;
    if (decoder) {
      std::vector<int64_t> next;
      for (const int64_t i : keep) next.push_back(token[i]);
      alive = std::move(still);
      policy::DecodeStep out = decoder->step(alive, next);
      if (record) routing.record_step(out.experts, alive);
      hidden = std::move(out.hidden);
      continue;
    }
    at::Tensor next = tokens.unsqueeze(1);  // [alive, 1]
    if (still.size() != alive.size()) {
      const at::Tensor index = at::tensor(keep, at::kLong).to(device);
      cache.select_rows(index);
      next = next.index_select(0, index);
    }
    alive = std::move(still);
    const policy::ForwardOutput out = model.forward(next, at::ones_like(next), &cache);
    if (record) routing.record_step(experts_of(out.routers), alive);
    hidden = out.hidden.select(1, 0);
  }
  if (record)
    for (int64_t r = 0; r < rows; ++r) completions[r].routing = routing.of_row(r, group_size);
  return completions;
}

}  // namespace aha::rollout
