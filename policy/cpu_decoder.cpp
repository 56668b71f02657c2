// CpuDecoder: the decoder layers of CausalLM::forward for one new token per row, on float buffers.
#include "policy/cpu_decoder.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.hpp"
#include "kernels/batch_invariant.hpp"
#include "kernels/fused_elementwise.hpp"
#include "kernels/invariant_attention.hpp"
#include "kernels/invariant_gemm.hpp"
#include "kernels/moe_dispatch.hpp"

namespace aha::policy {

namespace {

std::map<std::string, at::Tensor> parameters_of(CausalLMImpl& model) {
  std::map<std::string, at::Tensor> out;
  for (const auto& item : model.named_parameters(true)) out[item.key()] = item.value();
  return out;
}

const float* data_of(const std::map<std::string, at::Tensor>& parameters, const std::string& name) {
  const auto it = parameters.find(name);
  if (it == parameters.end()) throw Error(fmt::format("CpuDecoder: the model has no parameter {}", name));
  if (!it->second.is_contiguous()) throw Error(fmt::format("CpuDecoder: parameter {} is not contiguous", name));
  return it->second.const_data_ptr<float>();
}

// x[i] = x[i] + y[i]: ATen's rounding of a + b.
void add_into(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] + y[i];
}

at::Tensor view_of(float* data, int64_t rows, int64_t cols) { return at::from_blob(data, {rows, cols}, at::kFloat); }

// out [n, out] = x [n, in] weight^T, the output columns split over this thread's threads when
// there is enough work: each thread reads its share of the weight once, and a column's bits do not
// depend on the split.
void split_product(const float* weight, int64_t out_features, int64_t in, const float* x, int64_t n, float* out) {
  constexpr int64_t kBlock = 8;  // columns a thread's share is a multiple of
  const int64_t blocks = (out_features + kBlock - 1) / kBlock;
  const int64_t threads = n * in * out_features < (int64_t{1} << 20) ? 1
                                                                     : std::min<int64_t>(at::get_num_threads(), blocks);
  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    const int64_t first = blocks * begin / threads * kBlock, last = blocks * end / threads * kBlock;
    kernels::invariant_gemm_columns(x, n, in, weight, out_features, first, last - first, out);
  });
}

}  // namespace

bool CpuDecoder::supports(CausalLMImpl& model) {
  const ModelConfig& c = model.config();
  const at::Tensor& head = model.lm_head_weight();
  if (c.uses_mla() || c.rope_interleaved || model.autocast() || !kernels::batch_invariant(head)) return false;
  for (const auto& p : model.parameters())
    if (!p.device().is_cpu() || p.scalar_type() != at::kFloat || !p.is_contiguous()) return false;
  return true;
}

CpuDecoder::CpuDecoder(CausalLMImpl& model, KvCache cache, int64_t rows_per_prompt)
    : model_(model),
      cache_(std::move(cache)),
      hidden_(model.config().hidden_size),
      heads_(model.config().num_heads),
      kv_heads_(model.config().num_kv_heads),
      head_dim_(model.config().head_dim),
      experts_per_token_(model.config().num_experts_per_tok),
      eps_(model.config().rms_norm_eps),
      scale_(1.0 / std::sqrt(static_cast<double>(model.config().head_dim))),
      norm_topk_prob_(model.config().norm_topk_prob) {
  const ModelConfig& c = model.config();
  const auto parameters = parameters_of(model);
  const auto data = [&](const std::string& name) { return data_of(parameters, name); };
  const auto projection = [&](const std::string& name) {
    const float* weight = data(name + ".weight");  // names a missing weight before its shape is read
    const at::Tensor& shape = parameters.at(name + ".weight");
    Projection p{weight, shape.size(0), shape.size(1), nullptr};
    if (parameters.count(name + ".bias")) p.bias = data(name + ".bias");
    return p;
  };
  const auto swiglu = [&](const std::string& name) {
    return SwiGLUWeights{projection(name + ".gate_proj"), projection(name + ".up_proj"),
                         projection(name + ".down_proj")};
  };
  embedding_ = data("model.embed_tokens.weight");
  const at::Tensor head = model.output_head();  // the rows of the tokenizer's ids only
  if (!head.is_contiguous()) throw Error("CpuDecoder: the output head is not contiguous");
  lm_head_ = {head.const_data_ptr<float>(), head.size(0), head.size(1), nullptr};
  final_norm_ = data("model.norm.weight");
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string at = fmt::format("model.layers.{}.", i);
    Layer layer;
    layer.input_norm = data(at + "input_layernorm.weight");
    layer.post_norm = data(at + "post_attention_layernorm.weight");
    layer.q = projection(at + "self_attn.q_proj"), layer.k = projection(at + "self_attn.k_proj");
    layer.v = projection(at + "self_attn.v_proj"), layer.o = projection(at + "self_attn.o_proj");
    if (c.qk_norm)
      layer.q_norm = data(at + "self_attn.q_norm.weight"), layer.k_norm = data(at + "self_attn.k_norm.weight");
    layer.moe = c.is_moe_layer(i);
    if (!layer.moe) {
      layer.mlp = swiglu(at + "mlp");
    } else {
      layer.router = projection(at + "mlp.gate");
      for (int64_t e = 0; e < c.num_experts; ++e)
        layer.experts.push_back(swiglu(fmt::format("{}mlp.experts.{}", at, e)));
      for (const char* name : {"mlp.shared_expert", "mlp.shared_experts"})
        if (parameters.count(at + name + ".gate_proj.weight")) layer.mlp = swiglu(at + name), layer.shared = true;
      if (parameters.count(at + "mlp.shared_expert_gate.weight"))
        layer.shared_gate = projection(at + "mlp.shared_expert_gate");
    }
    layers_.push_back(std::move(layer));
  }
  const at::Tensor lengths = cache_.lengths.to(at::kCPU).contiguous();
  lengths_.assign(lengths.const_data_ptr<int64_t>(), lengths.const_data_ptr<int64_t>() + lengths.numel());
  if (rows_per_prompt < 1) throw Error(fmt::format("CpuDecoder: {} rows per prompt", rows_per_prompt));
  for (std::size_t r = 0; r < lengths_.size(); ++r) {
    const std::size_t first = r / static_cast<std::size_t>(rows_per_prompt) * static_cast<std::size_t>(rows_per_prompt);
    prompt_row_.push_back(static_cast<int64_t>(first));
    prompt_length_.push_back(std::min(lengths_[first], lengths_[r]));
  }
  for (auto& layer : cache_.layers) {
    layer.keys = layer.keys.contiguous();
    layer.values = layer.values.contiguous();
  }
}

void CpuDecoder::project(const Projection& p, const float* x, int64_t n, float* out) const {
  const int64_t width = p.out;
  split_product(p.weight, p.out, p.in, x, n, out);
  if (p.bias)
    for (int64_t r = 0; r < n; ++r) add_into(out + r * width, p.bias, width);
}

void CpuDecoder::feed_forward(const SwiGLUWeights& w, const float* x, int64_t n, float* out) {
  const int64_t inner = w.gate.out;
  const auto size = static_cast<std::size_t>(n * inner);
  gate_.resize(size), up_.resize(size), act_.resize(size);
  project(w.gate, x, n, gate_.data());
  project(w.up, x, n, up_.data());
  kernels::silu_mul_rows(gate_.data(), up_.data(), n * inner, act_.data());
  project(w.down, act_.data(), n, out);
}

void CpuDecoder::attention(const Layer& layer, LayerCache& cache, const float* x, const std::vector<int64_t>& rows,
                           const std::vector<int64_t>& positions, const float* cos, const float* sin, float* out) {
  const auto n = static_cast<int64_t>(rows.size());
  const int64_t d = head_dim_, slots = cache.keys.size(2);
  q_.resize(static_cast<std::size_t>(n * heads_ * d)), rotated_.resize(q_.size()), heads_out_.resize(q_.size());
  k_.resize(static_cast<std::size_t>(n * kv_heads_ * d)), v_.resize(k_.size());
  project(layer.q, x, n, q_.data());  // [n, heads, d]
  project(layer.k, x, n, k_.data());  // [n, kv_heads, d]
  project(layer.v, x, n, v_.data());  // [n, kv_heads, d]
  if (layer.q_norm) {
    kernels::rms_norm_rows(q_.data(), layer.q_norm, n * heads_, d, eps_, q_.data());
    kernels::rms_norm_rows(k_.data(), layer.k_norm, n * kv_heads_, d, eps_, k_.data());
  }
  float *keys = cache.keys.data_ptr<float>(), *values = cache.values.data_ptr<float>();
  kernels::rotate_half_rows(k_.data(), cos, sin, n, kv_heads_, d, rotated_.data());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < kv_heads_; ++g) {
      const int64_t slot = ((rows[r] * kv_heads_ + g) * slots + positions[r]) * d;
      std::copy_n(rotated_.data() + (r * kv_heads_ + g) * d, d, keys + slot);
      std::copy_n(v_.data() + (r * kv_heads_ + g) * d, d, values + slot);
    }
  kernels::rotate_half_rows(q_.data(), cos, sin, n, heads_, d, rotated_.data());
  at::parallel_for(0, n, 4, [&](int64_t begin, int64_t end) {
    kernels::attend_cached(rotated_.data() + begin * heads_ * d, end - begin, heads_, kv_heads_, d, d, keys, values,
                           slots, rows.data() + begin, positions.data() + begin, step_prompt_rows_.data() + begin,
                           step_prompt_lengths_.data() + begin, scale_, heads_out_.data() + begin * heads_ * d);
  });
  project(layer.o, heads_out_.data(), n, out);
}

void CpuDecoder::mixture(const Layer& layer, const float* x, int64_t n, float* out, at::Tensor& chosen) {
  const int64_t k = experts_per_token_, experts = static_cast<int64_t>(layer.experts.size());
  const int64_t inner = layer.experts.front().gate.out;
  // The router as RouterImpl decides: softmax, the top k, their probabilities.
  router_logits_.resize(static_cast<std::size_t>(n * experts));
  project(layer.router, x, n, router_logits_.data());
  const at::Tensor probs = at::softmax(view_of(router_logits_.data(), n, experts), -1);
  chosen = std::get<1>(probs.topk(k, -1)).contiguous();  // [n, k]
  at::Tensor weights = probs.gather(1, chosen);
  if (norm_topk_prob_) weights = weights / weights.sum(-1, true);
  weights = weights.contiguous();
  const int64_t* expert_of = chosen.const_data_ptr<int64_t>();
  const float* weight = weights.const_data_ptr<float>();

  // The (token, slot) pairs grouped by expert, in pair order within each group (a stable sort).
  row_of_slot_.resize(static_cast<std::size_t>(n * k));
  group_rows_.assign(static_cast<std::size_t>(experts), 0);
  auto &row_of_slot = row_of_slot_, &group_rows = group_rows_;
  rows_in_.resize(static_cast<std::size_t>(n * k * hidden_));
  int64_t row = 0;
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t pair = 0; pair < n * k; ++pair)
      if (expert_of[pair] == e) {
        row_of_slot[pair] = row;
        std::copy_n(x + (pair / k) * hidden_, hidden_, rows_in_.data() + row * hidden_);
        ++group_rows[e], ++row;
      }
  const auto size = static_cast<std::size_t>(n * k * inner);
  gate_.resize(size), up_.resize(size), act_.resize(size);
  rows_out_.resize(static_cast<std::size_t>(n * k * hidden_));
  const auto each_group = [&](auto&& run) {
    for (int64_t e = 0, first = 0; e < experts; first += group_rows[e], ++e)
      if (group_rows[e] > 0) run(layer.experts[e], first, group_rows[e]);
  };
  each_group([&](const SwiGLUWeights& w, int64_t first, int64_t count) {
    project(w.gate, rows_in_.data() + first * hidden_, count, gate_.data() + first * inner);
    project(w.up, rows_in_.data() + first * hidden_, count, up_.data() + first * inner);
  });
  kernels::silu_mul_rows(gate_.data(), up_.data(), n * k * inner, act_.data());
  each_group([&](const SwiGLUWeights& w, int64_t first, int64_t count) {
    project(w.down, act_.data() + first * inner, count, rows_out_.data() + first * hidden_);
  });
  kernels::combine_rows(rows_out_.data(), row_of_slot.data(), weight, n, k, hidden_, out);
  if (!layer.shared) return;
  shared_out_.resize(static_cast<std::size_t>(n * hidden_));
  feed_forward(layer.mlp, x, n, shared_out_.data());
  if (layer.shared_gate.out == 0) {
    add_into(out, shared_out_.data(), n * hidden_);
    return;
  }
  router_logits_.resize(static_cast<std::size_t>(n));  // free again: the router's are read
  project(layer.shared_gate, x, n, router_logits_.data());
  const at::Tensor gate = kernels::invariant_sigmoid(view_of(router_logits_.data(), n, 1)).contiguous();
  const float* g = gate.const_data_ptr<float>();
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < hidden_; ++c)
      out[t * hidden_ + c] = out[t * hidden_ + c] + g[t] * shared_out_[t * hidden_ + c];
}

at::Tensor CpuDecoder::logits(const at::Tensor& hidden) const {
  const at::Tensor rows = hidden.contiguous();
  at::Tensor out = at::empty({rows.size(0), lm_head_.out}, at::kFloat);
  project(lm_head_, rows.const_data_ptr<float>(), rows.size(0), out.data_ptr<float>());
  return out;
}

DecodeStep CpuDecoder::step(const std::vector<int64_t>& rows, const std::vector<int64_t>& tokens) {
  const auto n = static_cast<int64_t>(rows.size());
  const int64_t vocab = model_.config().vocab_size, slots = cache_.layers.front().keys.size(2);
  std::vector<int64_t> positions(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    positions[r] = lengths_[static_cast<std::size_t>(rows[r])];
    if (positions[r] + 1 >= slots)
      throw Error(fmt::format("CpuDecoder: cache row {} is full ({} positions)", rows[r], slots - 1));
    if (tokens[r] < 0 || tokens[r] >= vocab)
      throw Error(fmt::format("CpuDecoder: token {} is outside the vocabulary of {}", tokens[r], vocab));
  }
  step_prompt_rows_.clear(), step_prompt_lengths_.clear();
  for (const int64_t r : rows) {
    step_prompt_rows_.push_back(prompt_row_[static_cast<std::size_t>(r)]);
    step_prompt_lengths_.push_back(prompt_length_[static_cast<std::size_t>(r)]);
  }
  const auto size = static_cast<std::size_t>(n * hidden_);
  x_.resize(size), normed_.resize(size), mixed_.resize(size), ffn_out_.resize(size);
  for (int64_t r = 0; r < n; ++r) std::copy_n(embedding_ + tokens[r] * hidden_, hidden_, x_.data() + r * hidden_);
  // The rotary tables through the same operators as CausalLM::forward, for positions [n, 1].
  const auto [cos, sin] = model_.rotary().tables(at::tensor(positions, at::kLong).view({n, 1}), at::kFloat);
  const at::Tensor cos_rows = cos.contiguous(), sin_rows = sin.contiguous();

  DecodeStep out;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    kernels::rms_norm_rows(x_.data(), layer.input_norm, n, hidden_, eps_, normed_.data());
    attention(layer, cache_.layers[i], normed_.data(), rows, positions, cos_rows.const_data_ptr<float>(),
              sin_rows.const_data_ptr<float>(), mixed_.data());
    add_into(x_.data(), mixed_.data(), n * hidden_);
    kernels::rms_norm_rows(x_.data(), layer.post_norm, n, hidden_, eps_, normed_.data());
    if (layer.moe) mixture(layer, normed_.data(), n, ffn_out_.data(), out.experts.emplace_back());
    else feed_forward(layer.mlp, normed_.data(), n, ffn_out_.data());
    add_into(x_.data(), ffn_out_.data(), n * hidden_);
  }
  for (const int64_t r : rows) ++lengths_[static_cast<std::size_t>(r)];
  out.hidden = at::empty({n, hidden_}, at::kFloat);
  kernels::rms_norm_rows(x_.data(), final_norm_, n, hidden_, eps_, out.hidden.data_ptr<float>());
  return out;
}

}  // namespace aha::policy
