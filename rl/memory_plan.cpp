// estimate_memory, run_shape and plan_micro_batch_threads.
#include "rl/memory_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "rl/experiment_config.hpp"
#include "rl/policy_optimizer.hpp"

namespace aha::rl {

namespace {

constexpr double kFloat = 4.0;
// The runtime itself: LibTorch's code and pools, the tokenizer's tables, the data.
constexpr double kRuntimeBytes = 0.6e9;
// Autograd keeps more than the named activations (masks, indices, softmax statistics); measured
// on qwen2 and qwen3_moe checkpoints of 0.5B parameters.
constexpr double kSavedOverhead = 1.5;

// Floats the training pass keeps for the backward, per token of one layer.
double saved_floats(const policy::ModelConfig& c, int layer) {
  const double h = c.hidden_size;
  const double q = c.uses_mla() ? c.num_heads * double(c.qk_nope_head_dim + c.qk_rope_head_dim)
                                : double(c.num_heads) * c.head_dim;
  const double kv = c.uses_mla() ? c.num_heads * double(c.qk_nope_head_dim + c.qk_rope_head_dim + c.v_head_dim)
                                 : 2.0 * c.num_kv_heads * c.head_dim;
  const double attention = 5 * h + 3 * q + 1.5 * kv;  // norm, residual, q/k/v before and after rotary, output
  if (!c.is_moe_layer(layer)) return attention + 4.0 * c.intermediate_size + h;  // gate, up, silu, product
  const double shared = c.shared_expert_intermediate_size + double(c.n_shared_experts) * c.moe_intermediate_size;
  return attention + 2.0 * c.num_experts + c.num_experts_per_tok * (2 * h + 4.0 * c.moe_intermediate_size) +
         4 * shared + 2 * h;
}

// Bytes of keys and values per cached token, all layers.
double kv_bytes_per_token(const policy::ModelConfig& c) {
  const double per_layer = c.uses_mla() ? c.num_heads * double(c.qk_nope_head_dim + c.qk_rope_head_dim + c.v_head_dim)
                                        : 2.0 * c.num_kv_heads * c.head_dim;
  return per_layer * c.num_layers * kFloat;
}

double sum(const std::vector<MemoryItem>& items) {
  double total = 0.0;
  for (const auto& item : items) total += item.bytes;
  return total;
}

std::string gigabytes(double bytes) { return fmt::format("{:.1f} GB", bytes / 1e9); }

}  // namespace

double MemoryEstimate::peak() const { return sum(held) + std::max(sum(sampling), sum(training)); }

std::string MemoryEstimate::describe() const {
  const bool training_peaks = sum(training) >= sum(sampling);
  std::vector<MemoryItem> items = held;
  for (const auto& item : training_peaks ? training : sampling) items.push_back(item);
  std::string out = fmt::format("{} at the peak of {}:", gigabytes(peak()), training_peaks ? "training" : "sampling");
  for (const auto& item : items)
    if (item.bytes >= 0.05e9) out += fmt::format(" {} {},", item.what, gigabytes(item.bytes));
  out.pop_back();
  return out;
}

MemoryEstimate estimate_memory(const RunShape& s) {
  const policy::ModelConfig& c = s.model;
  const double h = c.hidden_size, parameters = double(s.parameters), trainable = double(s.trainable);
  MemoryEstimate e;
  e.held = {{"runtime", kRuntimeBytes}, {"weights", parameters * kFloat}, {"AdamW moments", trainable * 2 * kFloat}};
  if (s.reference) e.held.push_back({"reference model", parameters * kFloat});

  // Sampling: each worker's share of the prompts, G rows each, and one evaluation batch.
  const int64_t workers = std::max(s.workers, 1);
  const int64_t rows = (s.prompts + workers - 1) / workers * s.group_size;
  const double cache = kv_bytes_per_token(c) * double(s.prompt_tokens + s.new_tokens);
  const double logits = double(s.vocabulary) * kFloat * 2;  // the logits and the sampler's probabilities
  if (s.workers > 0) {
    e.sampling.push_back({"KV cache", double(workers * rows) * cache});
    e.sampling.push_back({"logits", double(workers * rows) * logits});
  }
  if (s.eval_rows > 0) {
    const double rollout = s.workers > 0 ? double(workers * rows) * (cache + logits) : 0.0;
    const double evaluation = double(s.eval_rows) * (cache + logits);
    if (evaluation > rollout) e.sampling.push_back({"evaluation's KV cache", evaluation - rollout});
  }

  // Training: each thread's micro-batch in flight, its gradient, and the running sum.
  const int threads = std::max(s.micro_batch_threads, 1);
  const double step_tokens = double(s.prompts) * double(s.prompt_tokens + s.group_size * s.new_tokens);
  const double parts = threads > 1 ? 4.0 * threads : 1.0;
  const double micro_batch = std::min<double>(double(s.micro_batch_tokens), std::ceil(step_tokens / parts));
  double per_token = 3 * h, largest_layer = 0.0;  // embedding, final norm
  for (int layer = 0; layer < c.num_layers; ++layer) {
    per_token += saved_floats(c, layer) * kSavedOverhead;
    largest_layer = std::max(largest_layer, saved_floats(c, layer) * kSavedOverhead);
  }
  if (s.activation_checkpointing) per_token = 3 * h + c.num_layers * h + largest_layer;  // inputs, one layer rerun
  e.training.push_back({"gradients", trainable * kFloat * (threads > 1 ? threads + 1 : 1)});
  e.training.push_back({"activations", threads * micro_batch * per_token * kFloat});
  // The LM head's backward: three [rows, vocabulary] chunk buffers of at most 128 MiB and its own
  // gradient before it joins the embedding's.
  const double chunk = std::min(1024.0 * double(s.vocabulary) * kFloat, double(128 << 20));
  e.training.push_back({"LM head backward", threads * (3 * chunk + double(s.vocabulary) * h * kFloat)});
  if (s.sampling_ahead > 0) {  // the copies of the weights, and sampling while training
    e.held.push_back({"weights sampling ahead", s.sampling_ahead * parameters * kFloat});
    e.held.insert(e.held.end(), e.sampling.begin(), e.sampling.end());
    e.sampling.clear();
  }
  return e;
}

RunShape run_shape(const ExperimentConfig& config, int64_t vocabulary, int threads) {
  RunShape s;
  s.model = policy::read_model_config(config.model.path);
  const auto tensors = policy::CheckpointTensors::open(config.model.path);
  for (const auto& name : tensors.names()) {
    const int64_t count = tensors.tensor(name).numel();
    s.parameters += count;
    const bool frozen = std::any_of(config.model.freeze.begin(), config.model.freeze.end(),
                                    [&](const std::string& p) { return matches_pattern(name, p); });
    if (!frozen) s.trainable += count;
  }
  s.vocabulary = std::min<int64_t>(vocabulary, s.model.vocab_size);
  s.reference = config.grpo.beta > 0.0;
  s.workers = config.rollout.endpoints.empty() ? config.rollout.workers : 0;
  s.sampling_ahead = config.rollout.max_staleness;
  s.prompts = config.rollout.prompts_per_step;
  s.group_size = config.rollout.group_size;
  s.prompt_tokens = config.data.max_prompt_tokens;
  s.new_tokens = config.rollout.max_new_tokens;
  if (!config.data.eval.empty()) s.eval_rows = int64_t{config.eval.batch_prompts} * config.eval.samples;
  s.micro_batch_tokens = config.train.micro_batch_tokens;
  s.micro_batch_threads = std::max(threads, 1);
  s.activation_checkpointing = config.train.activation_checkpointing;
  return s;
}

int plan_micro_batch_threads(RunShape shape, int asked, int threads, int64_t available) {
  const auto estimate = [&](int count) {
    shape.micro_batch_threads = count;
    return estimate_memory(shape);
  };
  int chosen = asked;
  if (asked <= 0) {
    chosen = 1;
    for (int count = std::max(threads, 1); count > 1; --count)
      if (estimate(count).peak() <= 0.5 * double(available)) {
        chosen = count;
        break;
      }
  }
  const MemoryEstimate needed = estimate(chosen);
  if (needed.peak() > double(available))
    throw ConfigError(fmt::format(
        "this run needs about {}, and the machine has {} available. Set train.activation_checkpointing = "
        "true, lower train.micro_batch_tokens (activations grow with it), rollout.max_new_tokens or "
        "rollout.prompts_per_step, use fewer rollout.workers or train.micro_batch_threads, set grpo.beta = 0 "
        "(no reference model), or freeze parameters with model.freeze",
        needed.describe(), gigabytes(double(available))));
  return chosen;
}

}  // namespace aha::rl
