// Blocked single-threaded matrix products and exp-based activations.
#include "kernels/batch_invariant.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/autograd.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "kernels/cpu_threads.hpp"
#include "kernels/invariant_gemm.hpp"

namespace aha::kernels {

namespace {

// Rows of one block of a batch-invariant linear layer in a dtype other than float32 (ATen's
// product then picks one kernel for every block).
constexpr int64_t kBlockRows = 32;
// The fewest rows a batch-invariant attention product runs with (MKL takes another path below).
constexpr int64_t kMinProductRows = 16;

// rows [..., n, k] padded with zero rows to at least kMinProductRows.
at::Tensor at_least_invariant_rows(const at::Tensor& rows) {
  const int64_t n = rows.size(-2);
  if (n >= kMinProductRows) return rows;
  auto padding = rows.sizes().vec();
  padding[padding.size() - 2] = kMinProductRows - n;
  return at::cat({rows, at::zeros(padding, rows.options())}, -2);
}

// The BLAS inside LibTorch through its Fortran entry points, when it exports them (MKL does):
// sgemm called directly costs nothing per block, and MKL's per-thread thread count keeps each
// product serial wherever it is called from.
using Sgemm = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                       const int*, const float*, const int*, const float*, float*, const int*);

Sgemm blas_sgemm() {
  static const auto found = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "sgemm_"));
  return found;
}

// MKL runs on the calling thread alone while this lives.
class SerialBlas {
 public:
  SerialBlas() : previous_(set_mkl_threads_of_this_thread(1)) {}
  ~SerialBlas() { set_mkl_threads_of_this_thread(previous_); }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int previous_ = 0;
};

// Blocks of kBlockRows rows through ATen's products, for dtypes other than float32.
at::Tensor aten_blocks(const at::Tensor& x, const at::Tensor& weight) {
  const int64_t n = x.size(0), blocks = (n + kBlockRows - 1) / kBlockRows;
  const at::Tensor rows = at::cat({x, at::zeros({blocks * kBlockRows - n, x.size(1)}, x.options())});
  at::Tensor out = at::empty({blocks * kBlockRows, weight.size(0)}, x.options());
  for (int64_t block = 0; block < blocks; ++block) {
    at::Tensor slice = out.narrow(0, block * kBlockRows, kBlockRows);
    at::mm_out(slice, rows.narrow(0, block * kBlockRows, kBlockRows), weight.t());
  }
  return out.narrow(0, 0, n);
}

// x [n, in] @ weight [out, in]^T -> [n, out]: invariant_gemm, the output columns split over threads
// in whole 32-column panels when there is enough work, so each thread packs only its part of the
// weight (a column's bits do not depend on which thread or split it lands in).
at::Tensor invariant_product(const at::Tensor& x, const at::Tensor& weight) {
  if (x.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat) {
    const SerialBlas serial;
    return aten_blocks(x.contiguous(), weight);
  }
  const int64_t n = x.size(0), in = x.size(1), out_features = weight.size(0);
  const at::Tensor rows = x.contiguous(), w = weight.contiguous();
  at::Tensor out = at::empty({n, out_features}, x.options());
  const float *x_data = rows.const_data_ptr<float>(), *w_data = w.const_data_ptr<float>();
  float* out_data = out.data_ptr<float>();
  const int64_t work = n * in * out_features;  // multiply-adds
  constexpr int64_t kPanel = 32;
  const int64_t panels = (out_features + kPanel - 1) / kPanel;
  const int64_t threads = work < (int64_t{1} << 20) ? 1 : std::min<int64_t>(at::get_num_threads(), panels);
  at::parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
    const int64_t first = panels * begin / threads * kPanel;
    const int64_t last = std::min(out_features, panels * end / threads * kPanel);
    invariant_gemm(x_data, n, in, w_data + first * in, last - first, out_data + first, out_features);
  });
  return out;
}

// x [..., in] -> [..., out] through invariant_product.
at::Tensor invariant_product_of(const at::Tensor& x, const at::Tensor& weight) {
  auto shape = x.sizes().vec();
  shape.back() = weight.size(0);
  return invariant_product(x.reshape({-1, x.size(-1)}), weight).view(shape);
}

// The forward is the invariant product; the backward the usual one (its order does not matter).
class InvariantLinear : public torch::autograd::Function<InvariantLinear> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight) {
    ctx->save_for_backward({x, weight});
    return invariant_product_of(x, weight);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1];
    const at::Tensor grad = grads[0].reshape({-1, weight.size(0)});  // [n, out]
    const at::Tensor grad_x = grad.mm(weight).view(x.sizes());
    const at::Tensor grad_weight = grad.t().mm(x.reshape({-1, x.size(-1)}));
    return {grad_x, grad_weight};
  }
};

}  // namespace

namespace {
std::atomic<bool> invariant_on_cpu{true};
}  // namespace

bool batch_invariant(const at::Tensor& x) { return x.device().is_cpu() && invariant_on_cpu.load(); }

void set_batch_invariant(bool enabled) { invariant_on_cpu.store(enabled); }

at::Tensor invariant_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (!batch_invariant(x)) return at::linear(x, weight, bias);
  const bool tracked = at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  const at::Tensor out = tracked ? InvariantLinear::apply(x, weight) : invariant_product_of(x, weight);
  return bias.defined() ? out + bias : out;
}

void serial_gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const SerialBlas serial;
  if (const Sgemm sgemm = blas_sgemm()) {
    // Column-major, C^T [n, m] = op(B)^T op(A)^T, and a row-major operand read column-major is its transpose.
    const int m_ = static_cast<int>(m), n_ = static_cast<int>(n), k_ = static_cast<int>(k);
    const int lda_ = static_cast<int>(lda), ldb_ = static_cast<int>(ldb), ldc_ = static_cast<int>(ldc);
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    sgemm(transpose_b ? "T" : "N", transpose_a ? "T" : "N", &n_, &m_, &k_, &one, b, &ldb_, a, &lda_, &beta, c, &ldc_);
    return;
  }
  const auto matrix = [](const float* data, int64_t rows, int64_t cols, int64_t ld, bool transpose) {
    const at::Tensor stored = at::from_blob(const_cast<float*>(data),
                                            {transpose ? cols : rows, transpose ? rows : cols}, {ld, 1}, at::kFloat);
    return transpose ? stored.t() : stored;
  };
  at::Tensor out = at::from_blob(c, {m, n}, {ldc, 1}, at::kFloat);
  if (accumulate) out.addmm_(matrix(a, m, k, lda, transpose_a), matrix(b, k, n, ldb, transpose_b));
  else at::mm_out(out, matrix(a, m, k, lda, transpose_a), matrix(b, k, n, ldb, transpose_b));
}

at::Tensor invariant_bmm(const at::Tensor& a, const at::Tensor& b) {
  if (!batch_invariant(a)) return at::bmm(a, b);
  return at::bmm(at_least_invariant_rows(a), b).narrow(1, 0, a.size(1));
}

at::Tensor invariant_sigmoid(const at::Tensor& x) {
  return batch_invariant(x) ? 1.0 / (1.0 + at::exp(-x)) : at::sigmoid(x);
}

}  // namespace aha::kernels
