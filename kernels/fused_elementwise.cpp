// RMSNorm, rotary embeddings and silu(gate) * up: CPU kernels, their backward, autograd functions.
#include "kernels/fused_elementwise.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <cmath>
#include <vector>

#include "kernels/vector_lanes.hpp"

namespace aha::kernels {

namespace {

using lanes::Lanes;
using lanes::load;
using lanes::splat;
using lanes::store;

bool fused(const at::Tensor& x) { return x.is_cpu() && x.scalar_type() == at::kFloat; }

// Rows per task of the row kernels: a fixed split, so partial sums over rows add up alike
// whatever the thread count.
constexpr int64_t kRowsPerTask = 64;

// ---- RMSNorm ----

// y [rows, d] = w * (x * r) with r = 1 / sqrt(sum(x^2) / d + eps) per row, kept in inv_rms [rows]
// unless it is null.
// The squares add up in eight lanes (element t into lane t % 8), then the lanes, then the tail.
__attribute__((target_clones("avx512f", "avx2", "default"))) void rms_norm_span(const float* x, const float* w,
                                                                                float* y, float* inv_rms, int64_t first,
                                                                                int64_t end, int64_t d, float eps) {
  for (int64_t r = first; r < end; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    Lanes squares = splat(0.0f);
    int64_t t = 0;
    for (; t + 8 <= d; t += 8) {
      const Lanes v = load(xr + t);
      squares += v * v;
    }
    float total = lanes::sum(squares);
    for (; t < d; ++t) total += xr[t] * xr[t];
    const float rr = 1.0f / std::sqrt(total / static_cast<float>(d) + eps);
    if (inv_rms) inv_rms[r] = rr;
    for (t = 0; t + 8 <= d; t += 8) store(yr + t, load(w + t) * (load(xr + t) * splat(rr)));
    for (; t < d; ++t) yr[t] = w[t] * (xr[t] * rr);
  }
}

// dx = r (w dy) - x r^3 sum(w dy x) / d per row; dw_part [d] += dy x r over the rows.
void rms_norm_backward_rows(const float* x, const float* w, const float* inv_rms, const float* dy, float* dx,
                            float* dw_part, int64_t first, int64_t end, int64_t d) {
  for (int64_t r = first; r < end; ++r) {
    const float *xr = x + r * d, *gr = dy + r * d;
    const float rr = inv_rms[r];
    float dot = 0.0f;
    for (int64_t t = 0; t < d; ++t) dot += gr[t] * w[t] * xr[t];
    const float c = rr * rr * rr * dot / static_cast<float>(d);
    for (int64_t t = 0; t < d; ++t) {
      dx[r * d + t] = rr * (gr[t] * w[t]) - xr[t] * c;
      dw_part[t] += gr[t] * (xr[t] * rr);
    }
  }
}

class RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x_in, const at::Tensor& weight,
                            double eps) {
    TORCH_CHECK(weight.dim() == 1 && x_in.dim() >= 1 && weight.size(0) == x_in.size(-1), "rms_norm: weight ",
                weight.sizes(), " does not fit x ", x_in.sizes(), " (it needs one weight per column)");
    const at::Tensor x = x_in.contiguous(), w = weight.contiguous();
    const int64_t d = x.size(-1), rows = x.numel() / std::max<int64_t>(d, 1);
    at::Tensor y = at::empty_like(x), inv_rms = at::empty({rows}, x.options());
    const float *xp = x.const_data_ptr<float>(), *wp = w.const_data_ptr<float>();
    float *yp = y.data_ptr<float>(), *ip = inv_rms.data_ptr<float>();
    at::parallel_for(0, rows, kRowsPerTask, [&](int64_t begin, int64_t end) {
      rms_norm_span(xp, wp, yp, ip, begin, end, d, static_cast<float>(eps));
    });
    if (ctx) ctx->save_for_backward({x, w, inv_rms});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1], &inv_rms = saved[2];
    const at::Tensor dy = grads[0].contiguous();
    const int64_t d = x.size(-1), rows = inv_rms.size(0), tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
    at::Tensor dx = at::empty_like(x), dw_parts = at::zeros({std::max<int64_t>(tasks, 1), d}, x.options());
    const float *xp = x.const_data_ptr<float>(), *wp = w.const_data_ptr<float>(), *ip = inv_rms.const_data_ptr<float>();
    const float* gp = dy.const_data_ptr<float>();
    float *dxp = dx.data_ptr<float>(), *dwp = dw_parts.data_ptr<float>();
    at::parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t task = begin; task < end; ++task)
        rms_norm_backward_rows(xp, wp, ip, gp, dxp, dwp + task * d, task * kRowsPerTask,
                               std::min(rows, (task + 1) * kRowsPerTask), d);
    });
    return {dx, dw_parts.sum(0), at::Tensor()};
  }
};

// ---- rotary embeddings ----

// Strides and pointers of x [b, heads, s, d] (rows contiguous) and cos, sin [b, s, d].
struct RotaryProblem {
  int64_t batch, heads, seq, dim;
  int64_t stride[3];  // x's batch, head, position
  const float *x, *cos, *sin;
};

// out row = x * cos + rotate_half(x) * sin, each product rounded, then the sum: ATen's bits.
void rotate_rows(const RotaryProblem& p, float* out, int64_t first, int64_t end) {
  const int64_t half = p.dim / 2;
  for (int64_t row = first; row < end; ++row) {
    const int64_t i = row % p.seq, h = (row / p.seq) % p.heads, b = row / (p.seq * p.heads);
    const float* x = p.x + b * p.stride[0] + h * p.stride[1] + i * p.stride[2];
    const float *c = p.cos + (b * p.seq + i) * p.dim, *s = p.sin + (b * p.seq + i) * p.dim;
    float* o = out + row * p.dim;
    for (int64_t t = 0; t < half; ++t) o[t] = x[t] * c[t] - x[t + half] * s[t];
    for (int64_t t = half; t < p.dim; ++t) o[t] = x[t] * c[t] + x[t - half] * s[t];
  }
}

// The transpose of rotate_rows: dx_u = dy_u cos_u + dy_{u+half} sin_{u+half} in the first half,
// dy_u cos_u - dy_{u-half} sin_{u-half} in the second; dy and dx contiguous.
void unrotate_rows(const RotaryProblem& p, const float* dy, float* dx, int64_t first, int64_t end) {
  const int64_t half = p.dim / 2;
  for (int64_t row = first; row < end; ++row) {
    const int64_t i = row % p.seq, b = row / (p.seq * p.heads);
    const float *c = p.cos + (b * p.seq + i) * p.dim, *s = p.sin + (b * p.seq + i) * p.dim;
    const float* g = dy + row * p.dim;
    float* o = dx + row * p.dim;
    for (int64_t t = 0; t < half; ++t) o[t] = g[t] * c[t] + g[t + half] * s[t + half];
    for (int64_t t = half; t < p.dim; ++t) o[t] = g[t] * c[t] - g[t - half] * s[t - half];
  }
}

RotaryProblem rotary_problem(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  TORCH_CHECK(x.dim() == 4 && x.stride(3) == 1 && x.size(3) % 2 == 0 &&
                  cos.sizes() == at::IntArrayRef({x.size(0), x.size(2), x.size(3)}) && sin.sizes() == cos.sizes(),
              "rotate_half_embedding: x ", x.sizes(), " and cos/sin ", cos.sizes(),
              " do not fit [b, heads, s, d] (even d, rows contiguous) and [b, s, d]");
  return {x.size(0),
          x.size(1),
          x.size(2),
          x.size(3),
          {x.stride(0), x.stride(1), x.stride(2)},
          x.const_data_ptr<float>(),
          cos.const_data_ptr<float>(),
          sin.const_data_ptr<float>()};
}

class RotaryFunction : public torch::autograd::Function<RotaryFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x_in, const at::Tensor& cos_in,
                            const at::Tensor& sin_in) {
    const at::Tensor x = x_in.stride(-1) == 1 ? x_in : x_in.contiguous();
    const at::Tensor cos = cos_in.contiguous(), sin = sin_in.contiguous();
    const RotaryProblem p = rotary_problem(x, cos, sin);
    at::Tensor out = at::empty(x.sizes(), x.options());
    float* o = out.data_ptr<float>();
    at::parallel_for(0, p.batch * p.heads * p.seq, kRowsPerTask,
                     [&](int64_t begin, int64_t end) { rotate_rows(p, o, begin, end); });
    if (ctx) ctx->save_for_backward({cos, sin});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor dy = grads[0].contiguous();
    const RotaryProblem p = rotary_problem(dy, saved[0], saved[1]);
    at::Tensor dx = at::empty_like(dy);
    const float* g = dy.const_data_ptr<float>();
    float* o = dx.data_ptr<float>();
    at::parallel_for(0, p.batch * p.heads * p.seq, kRowsPerTask,
                     [&](int64_t begin, int64_t end) { unrotate_rows(p, g, o, begin, end); });
    return {dx, at::Tensor(), at::Tensor()};
  }
};

// ---- silu(gate) * up ----

// out = (g * sigmoid(g)) * u, eight elements at a time; the last few go through the same lanes
// from a padded copy, so every element gets the same arithmetic wherever it sits.
__attribute__((target_clones("avx512f", "avx2", "default"))) void silu_mul_span(const float* g, const float* u,
                                                                                float* out, int64_t n) {
  int64_t t = 0;
  for (; t + 8 <= n; t += 8) {
    const Lanes x = load(g + t);
    store(out + t, (x * lanes::sigmoid(x)) * load(u + t));
  }
  if (t == n) return;
  float gx[8] = {}, ux[8] = {}, ox[8];
  std::copy(g + t, g + n, gx);
  std::copy(u + t, u + n, ux);
  const Lanes x = load(gx);
  store(ox, (x * lanes::sigmoid(x)) * load(ux));
  std::copy(ox, ox + (n - t), out + t);
}

// d gate = dy u s (1 + g (1 - s)), d up = dy g s, with s = sigmoid(g) as the forward computes it.
inline __attribute__((always_inline)) void silu_mul_gradients(Lanes x, Lanes up, Lanes grad, Lanes& d_gate,
                                                              Lanes& d_up) {
  const Lanes s = lanes::sigmoid(x), one = splat(1.0f);
  d_gate = grad * up * (s * (one + x * (one - s)));
  d_up = grad * (x * s);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void silu_mul_backward_span(const float* g, const float* u,
                                                                                         const float* dy, float* dg,
                                                                                         float* du, int64_t n) {
  int64_t t = 0;
  for (; t + 8 <= n; t += 8) {
    Lanes a, b;
    silu_mul_gradients(load(g + t), load(u + t), load(dy + t), a, b);
    store(dg + t, a);
    store(du + t, b);
  }
  if (t == n) return;
  float gx[8] = {}, ux[8] = {}, yx[8] = {}, ax[8], bx[8];
  std::copy(g + t, g + n, gx);
  std::copy(u + t, u + n, ux);
  std::copy(dy + t, dy + n, yx);
  Lanes a, b;
  silu_mul_gradients(load(gx), load(ux), load(yx), a, b);
  store(ax, a);
  store(bx, b);
  std::copy(ax, ax + (n - t), dg + t);
  std::copy(bx, bx + (n - t), du + t);
}

// Elements per task, a multiple of eight so tasks split the lanes alike.
constexpr int64_t kElementsPerTask = 1 << 14;

class SiluMulFunction : public torch::autograd::Function<SiluMulFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& gate_in, const at::Tensor& up_in) {
    TORCH_CHECK(gate_in.sizes() == up_in.sizes(), "silu_mul: gate ", gate_in.sizes(), " and up ", up_in.sizes(),
                " differ");
    const at::Tensor gate = gate_in.contiguous(), up = up_in.contiguous();
    at::Tensor out = at::empty(gate.sizes(), gate.options());
    const float *g = gate.const_data_ptr<float>(), *u = up.const_data_ptr<float>();
    float* o = out.data_ptr<float>();
    at::parallel_for(0, gate.numel(), kElementsPerTask,
                     [&](int64_t begin, int64_t end) { silu_mul_span(g + begin, u + begin, o + begin, end - begin); });
    if (ctx) ctx->save_for_backward({gate, up});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &gate = saved[0], &up = saved[1];
    const at::Tensor dy = grads[0].contiguous();
    at::Tensor d_gate = at::empty_like(gate), d_up = at::empty_like(up);
    const float *g = gate.const_data_ptr<float>(), *u = up.const_data_ptr<float>(), *y = dy.const_data_ptr<float>();
    float *dg = d_gate.data_ptr<float>(), *du = d_up.data_ptr<float>();
    at::parallel_for(0, gate.numel(), kElementsPerTask, [&](int64_t begin, int64_t end) {
      silu_mul_backward_span(g + begin, u + begin, y + begin, dg + begin, du + begin, end - begin);
    });
    return {d_gate, d_up};
  }
};

bool tracked(const at::Tensor& a, const at::Tensor& b = {}) {
  return at::GradMode::is_enabled() && (a.requires_grad() || (b.defined() && b.requires_grad()));
}

}  // namespace

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  if (!fused(x) || weight.scalar_type() != at::kFloat) {
    const at::Tensor x32 = x.to(at::kFloat);
    const at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, true) + eps);
    return weight * normed.to(x.scalar_type());
  }
  return tracked(x, weight) ? RmsNormFunction::apply(x, weight, eps)
                            : RmsNormFunction::forward(nullptr, x, weight, eps);
}

at::Tensor rotate_half_embedding(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (!fused(x) || cos.scalar_type() != at::kFloat) {
    const int64_t half = x.size(-1) / 2;
    const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
    return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
  }
  return tracked(x) ? RotaryFunction::apply(x, cos, sin) : RotaryFunction::forward(nullptr, x, cos, sin);
}

at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up) {
  if (!fused(gate) || up.scalar_type() != at::kFloat) return at::silu(gate) * up;
  return tracked(gate, up) ? SiluMulFunction::apply(gate, up) : SiluMulFunction::forward(nullptr, gate, up);
}

void rms_norm_rows(const float* x, const float* weight, int64_t rows, int64_t d, double eps, float* y) {
  rms_norm_span(x, weight, y, nullptr, 0, rows, d, static_cast<float>(eps));
}

void rotate_half_rows(const float* x, const float* cos, const float* sin, int64_t rows, int64_t heads, int64_t d,
                      float* out) {
  const RotaryProblem p{rows, heads, 1, d, {heads * d, d, d}, x, cos, sin};
  rotate_rows(p, out, 0, rows * heads);
}

void silu_mul_rows(const float* gate, const float* up, int64_t n, float* out) { silu_mul_span(gate, up, out, n); }

}  // namespace aha::kernels
