// MoE dispatch: the routing tables, the gathers on each device, and the autograd functions.
#include "kernels/moe_dispatch.hpp"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#ifdef AHA_WITH_CUDA
#include "kernels/cuda_tensors.hpp"
#endif

namespace aha::kernels {

void combine_rows(const float* rows, const int64_t* row_of_slot, const float* weights, int64_t tokens, int64_t k,
                  int64_t width, float* out) {
  for (int64_t t = 0; t < tokens; ++t) {
    float* o = out + t * width;
    std::fill_n(o, width, 0.0f);
    for (int64_t s = 0; s < k; ++s) {
      const float* row = rows + row_of_slot[t * k + s] * width;
      if (!weights) {
        for (int64_t c = 0; c < width; ++c) o[c] = o[c] + row[c];
        continue;
      }
      const float w = weights[t * k + s];
      for (int64_t c = 0; c < width; ++c) o[c] = o[c] + row[c] * w;
    }
  }
}

namespace {

bool float_cpu(const at::Tensor& x) { return x.is_cpu() && x.scalar_type() == at::kFloat; }

// out[i] = row_scale[i] * in[index[i]] (row_scale [rows] float32, or undefined for 1).
at::Tensor gather_rows(const at::Tensor& in, const at::Tensor& index, const at::Tensor& row_scale) {
#ifdef AHA_WITH_CUDA
  if (in.is_cuda()) {
    const at::Tensor src = in.contiguous();
    at::Tensor out = at::empty({index.size(0), src.size(1)}, src.options());
    cuda::gather_rows(src.const_data_ptr(), index.const_data_ptr<int64_t>(),
                      row_scale.defined() ? row_scale.const_data_ptr<float>() : nullptr, index.size(0), src.size(1),
                      cuda::dtype_of(src, "permute_tokens"), out.data_ptr(), cuda::current_stream());
    return out;
  }
#endif
  if (float_cpu(in)) {
    const at::Tensor src = in.contiguous(), idx = index.contiguous();
    const int64_t rows = idx.size(0), width = src.size(1);
    at::Tensor out = at::empty({rows, width}, src.options());
    const float *from = src.const_data_ptr<float>(),
                *scale = row_scale.defined() ? row_scale.const_data_ptr<float>() : nullptr;
    const int64_t* at_row = idx.const_data_ptr<int64_t>();
    float* to = out.data_ptr<float>();
    for (int64_t i = 0; i < rows; ++i) {
      const float* row = from + at_row[i] * width;
      float* o = to + i * width;
      if (scale)
        for (int64_t c = 0; c < width; ++c) o[c] = row[c] * scale[i];
      else std::copy_n(row, width, o);
    }
    return out;
  }
  const at::Tensor rows = in.index_select(0, index);  // [index, width]
  return row_scale.defined() ? (rows.to(at::kFloat) * row_scale.unsqueeze(1)).to(in.scalar_type()) : rows;
}

// out[t] = sum over slots s, in order, of weights[t, s] * rows[row_of_slot[t, s]] (weights [n, k]
// float32, or undefined for 1), accumulated in float32.
at::Tensor sum_over_slots(const at::Tensor& rows, const at::Tensor& row_of_slot, const at::Tensor& weights) {
  const int64_t tokens = row_of_slot.size(0), k = row_of_slot.size(1);
#ifdef AHA_WITH_CUDA
  if (rows.is_cuda()) {
    const at::Tensor src = rows.contiguous();
    at::Tensor out = at::empty({tokens, src.size(1)}, src.options());
    cuda::combine_slots(src.const_data_ptr(), row_of_slot.const_data_ptr<int64_t>(),
                        weights.defined() ? weights.const_data_ptr<float>() : nullptr, tokens, k, src.size(1),
                        cuda::dtype_of(src, "combine_tokens"), out.data_ptr(), cuda::current_stream());
    return out;
  }
#endif
  if (float_cpu(rows)) {
    const at::Tensor src = rows.contiguous(), slots = row_of_slot.contiguous();
    at::Tensor out = at::empty({tokens, src.size(1)}, src.options());
    combine_rows(src.const_data_ptr<float>(), slots.const_data_ptr<int64_t>(),
                 weights.defined() ? weights.const_data_ptr<float>() : nullptr, tokens, k, src.size(1),
                 out.data_ptr<float>());
    return out;
  }
  at::Tensor sum = at::zeros({tokens, rows.size(1)}, rows.options().dtype(at::kFloat));  // [n, width]
  for (int64_t s = 0; s < k; ++s) {
    const at::Tensor slot_rows = rows.index_select(0, row_of_slot.select(1, s)).to(at::kFloat);  // [n, width]
    sum.add_(weights.defined() ? slot_rows * weights.select(1, s).unsqueeze(1) : slot_rows);
  }
  return sum.to(rows.scalar_type());
}

class PermuteFunction : public torch::autograd::Function<PermuteFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& token_of_row,
                            const at::Tensor& row_of_slot) {
    ctx->save_for_backward({row_of_slot});
    return gather_rows(x, token_of_row, {});
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    return {sum_over_slots(grads[0], ctx->get_saved_variables()[0], {}), at::Tensor(), at::Tensor()};
  }
};

// d rows and d weights of combine on float32 CPU memory, in one pass over the (token, slot) pairs.
torch::autograd::variable_list backward_cpu(const at::Tensor& rows_in, const at::Tensor& weights_in,
                                            const at::Tensor& row_of_slot_in, const at::Tensor& grad) {
  const at::Tensor rows = rows_in.contiguous(), weights = weights_in.contiguous(), slots = row_of_slot_in.contiguous();
  const int64_t tokens = slots.size(0), k = slots.size(1), width = rows.size(1);
  at::Tensor grad_rows = at::empty_like(rows), grad_weights = at::empty({tokens, k}, weights.options());
  const float *r = rows.const_data_ptr<float>(), *w = weights.const_data_ptr<float>(),
              *g = grad.const_data_ptr<float>();
  const int64_t* slot = slots.const_data_ptr<int64_t>();
  float *d_rows = grad_rows.data_ptr<float>(), *d_weights = grad_weights.data_ptr<float>();
  for (int64_t t = 0; t < tokens; ++t) {
    const float* gt = g + t * width;
    for (int64_t s = 0; s < k; ++s) {
      const int64_t row = slot[t * k + s];
      const float ws = w[t * k + s], *rr = r + row * width;
      float* dr = d_rows + row * width;
      float dot = 0.0f;
      for (int64_t c = 0; c < width; ++c) {
        dr[c] = ws * gt[c];
        dot += gt[c] * rr[c];
      }
      d_weights[t * k + s] = dot;
    }
  }
  return {grad_rows, grad_weights, at::Tensor(), at::Tensor(), at::Tensor()};
}

class CombineFunction : public torch::autograd::Function<CombineFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows, const at::Tensor& weights,
                            const at::Tensor& token_of_row, const at::Tensor& slot_of_row,
                            const at::Tensor& row_of_slot) {
    ctx->save_for_backward({rows, weights, token_of_row, slot_of_row, row_of_slot});
    return sum_over_slots(rows, row_of_slot, weights.to(at::kFloat).contiguous());
  }

  // d rows[i] = weights[slot_of_row[i]] * grad[token_of_row[i]]; d weights[t, s] = grad[t] . rows[row_of_slot[t, s]]
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &rows = saved[0], &weights = saved[1], &token_of_row = saved[2], &slot_of_row = saved[3],
                     &row_of_slot = saved[4];
    const at::Tensor grad = grads[0].contiguous();  // [n, hidden]
    const int64_t tokens = row_of_slot.size(0), k = row_of_slot.size(1);
    if (float_cpu(rows) && weights.scalar_type() == at::kFloat) return backward_cpu(rows, weights, row_of_slot, grad);
    const at::Tensor row_weights = weights.reshape({-1}).index_select(0, slot_of_row).to(at::kFloat).contiguous();
    const at::Tensor grad_rows = gather_rows(grad, token_of_row, row_weights);  // [n * k, hidden]
    const at::Tensor slot_rows = rows.index_select(0, row_of_slot.reshape({-1})).view({tokens, k, -1});
    const at::Tensor grad_weights = (slot_rows.to(at::kFloat) * grad.to(at::kFloat).unsqueeze(1)).sum(-1);  // [n, k]
    return {grad_rows, grad_weights.to(weights.scalar_type()), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

ExpertRouting route_by_expert(const at::Tensor& experts, int64_t num_experts) {
  TORCH_CHECK(experts.dim() == 2 && experts.scalar_type() == at::kLong,
              "route_by_expert: experts must be int64 [tokens, k], got ", experts.scalar_type(), " ", experts.sizes());
  at::NoGradGuard no_grad;
  const int64_t tokens = experts.size(0), k = experts.size(1);
  const at::Tensor flat = experts.reshape({-1});  // [n * k]
  ExpertRouting routing;
  routing.slot_of_row = at::argsort(flat, /*stable=*/true);         // [n * k]
  routing.token_of_row = at::floor_divide(routing.slot_of_row, k);  // [n * k]
  routing.row_of_slot = at::empty_like(flat)
                            .scatter_(0, routing.slot_of_row, at::arange(flat.numel(), flat.options()))
                            .view({tokens, k});  // [n, k]
  const at::Tensor counts = at::bincount(flat, {}, num_experts).to(at::kCPU);
  TORCH_CHECK(counts.size(0) == num_experts, "route_by_expert: an expert id is at least ", num_experts,
              " (the number of experts)");
  routing.rows_per_expert.assign(counts.const_data_ptr<int64_t>(), counts.const_data_ptr<int64_t>() + num_experts);
  return routing;
}

at::Tensor permute_tokens(const at::Tensor& x, const ExpertRouting& routing) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) == routing.row_of_slot.size(0), "permute_tokens: x must be [",
              routing.row_of_slot.size(0), ", hidden], got ", x.sizes());
  return PermuteFunction::apply(x, routing.token_of_row, routing.row_of_slot);
}

at::Tensor combine_tokens(const at::Tensor& rows, const at::Tensor& weights, const ExpertRouting& routing) {
  TORCH_CHECK(rows.dim() == 2 && rows.size(0) == routing.token_of_row.size(0), "combine_tokens: rows must be [",
              routing.token_of_row.size(0), ", hidden], got ", rows.sizes());
  TORCH_CHECK(weights.sizes() == routing.row_of_slot.sizes(), "combine_tokens: weights must be ",
              routing.row_of_slot.sizes(), ", got ", weights.sizes());
  return CombineFunction::apply(rows, weights, routing.token_of_row, routing.slot_of_row, routing.row_of_slot);
}

}  // namespace aha::kernels
