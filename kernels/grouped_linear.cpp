// Grouped linear layers: per-expert products on the CPU, cuBLAS grouped GEMM on GPUs.
#include "kernels/grouped_linear.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <algorithm>
#include <numeric>

#include "kernels/batch_invariant.hpp"
#include "kernels/invariant_gemm.hpp"

#ifdef AHA_WITH_CUDA
#include <ATen/autocast_mode.h>
#include <cublas_v2.h>

#include "kernels/cuda_tensors.hpp"
#endif

namespace aha::kernels {

namespace {

// Each weight, contiguous.
std::vector<at::Tensor> contiguous(at::TensorList weights) {
  std::vector<at::Tensor> out;
  for (const auto& w : weights) out.push_back(w.contiguous());
  return out;
}

// What both autograd functions' backward reads: x, then the weights, and the group sizes.
void save_inputs(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const std::vector<at::Tensor>& weights,
                 const std::vector<int64_t>& group_rows) {
  std::vector<at::Tensor> saved{x};
  saved.insert(saved.end(), weights.begin(), weights.end());
  ctx->save_for_backward(saved);
  ctx->saved_data["group_rows"] = group_rows;
}

// Where each group's rows begin, and the total at the end: [groups + 1].
std::vector<int64_t> group_starts(const std::vector<int64_t>& group_rows) {
  std::vector<int64_t> starts(group_rows.size() + 1, 0);
  std::partial_sum(group_rows.begin(), group_rows.end(), starts.begin() + 1);
  return starts;
}

// y [rows, out] = each group's rows times its weight^T, written straight into one output with no
// operator per group; invariant_gemm when batch invariance is on (the rows' bits of invariant_linear).
at::Tensor grouped_product(const at::Tensor& x, const std::vector<int64_t>& group_rows,
                           const std::vector<at::Tensor>& weights) {
  const std::vector<int64_t> starts = group_starts(group_rows);
  const int64_t in = x.size(1), out = weights.front().size(0), groups = static_cast<int64_t>(weights.size());
  at::Tensor y = at::empty({x.size(0), out}, x.options());
  const bool raw =
      batch_invariant(x) && x.scalar_type() == at::kFloat &&
      std::all_of(weights.begin(), weights.end(), [](const at::Tensor& w) { return w.scalar_type() == at::kFloat; });
  if (!raw) {
    for (int64_t g = 0; g < groups; ++g)
      if (group_rows[g] > 0)
        y.narrow(0, starts[g], group_rows[g])
            .copy_(invariant_linear(x.narrow(0, starts[g], group_rows[g]), weights[g]));
    return y;
  }
  at::parallel_for(0, groups, 1, [&](int64_t begin, int64_t end) {  // the groups over the threads
    for (int64_t g = begin; g < end; ++g)
      invariant_gemm(x.const_data_ptr<float>() + starts[g] * in, group_rows[g], in, weights[g].const_data_ptr<float>(),
                     out, y.data_ptr<float>() + starts[g] * out);
  });
  return y;
}

// The CPU's grouped layer under autograd: the forward is grouped_product; the backward writes each
// group's input gradient into its rows of one tensor, with no full-size gradient per group.
class GroupedLinearCpu : public torch::autograd::Function<GroupedLinearCpu> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x_in,
                            const std::vector<int64_t>& group_rows, at::TensorList weights_in) {
    const at::Tensor x = x_in.contiguous();
    const std::vector<at::Tensor> weights = contiguous(weights_in);
    save_inputs(ctx, x, weights, group_rows);
    return grouped_product(x, group_rows, weights);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const auto group_rows = ctx->saved_data["group_rows"].toIntVector();
    const std::vector<int64_t> starts = group_starts(group_rows);
    const at::Tensor grad = grads[0].contiguous();  // [rows, out]
    at::Tensor grad_x = at::empty_like(x);          // [rows, in]
    torch::autograd::variable_list result{grad_x, at::Tensor()};
    for (std::size_t g = 0; g < group_rows.size(); ++g) {
      const at::Tensor& weight = saved[g + 1];  // [out, in]
      if (group_rows[g] == 0) {
        result.push_back(at::zeros_like(weight));
        continue;
      }
      const at::Tensor grad_g = grad.narrow(0, starts[g], group_rows[g]);  // [rows_g, out]
      at::Tensor grad_x_g = grad_x.narrow(0, starts[g], group_rows[g]);
      at::mm_out(grad_x_g, grad_g, weight);
      result.push_back(grad_g.t().mm(x.narrow(0, starts[g], group_rows[g])));  // [out, in]
    }
    return result;
  }
};

at::Tensor grouped_linear_cpu(const at::Tensor& x, const std::vector<int64_t>& group_rows,
                              const std::vector<at::Tensor>& weights) {
  const bool tracked = at::GradMode::is_enabled() &&
                       (x.requires_grad() || std::any_of(weights.begin(), weights.end(),
                                                         [](const at::Tensor& w) { return w.requires_grad(); }));
  if (tracked) return GroupedLinearCpu::apply(x, group_rows, at::TensorList(weights));
  return grouped_product(x.contiguous(), group_rows, contiguous(weights));
}

#ifdef AHA_WITH_CUDA

// One GEMM per non-empty group in cuBLAS's column-major terms: C_g = op(A_g) op(B_g), m x n.
struct GemmGroups {
  std::vector<cublasOperation_t> trans_a, trans_b;
  std::vector<int> m, n, k, lda, ldb, ldc, size;
  std::vector<const void*> a, b;
  std::vector<void*> c;
  std::vector<float> alpha, beta;

  void add(cublasOperation_t ta, cublasOperation_t tb, int64_t m_, int64_t n_, int64_t k_, const void* a_, int64_t lda_,
           const void* b_, int64_t ldb_, void* c_, int64_t ldc_) {
    trans_a.push_back(ta), trans_b.push_back(tb);
    m.push_back(static_cast<int>(m_)), n.push_back(static_cast<int>(n_)), k.push_back(static_cast<int>(k_));
    a.push_back(a_), lda.push_back(static_cast<int>(lda_));
    b.push_back(b_), ldb.push_back(static_cast<int>(ldb_));
    c.push_back(c_), ldc.push_back(static_cast<int>(ldc_));
    size.push_back(1), alpha.push_back(1.0f), beta.push_back(0.0f);
  }

  // The pointer arrays go to the device; the sizes stay on the host.
  void run(const at::Tensor& like) {
    if (m.empty()) return;
    const int count = static_cast<int>(m.size());
    const auto device_pointers = [&](const auto& pointers) {
      std::vector<int64_t> addresses(pointers.size());
      for (size_t i = 0; i < pointers.size(); ++i) addresses[i] = reinterpret_cast<int64_t>(pointers[i]);
      return at::tensor(addresses, at::kLong).to(like.device());
    };
    const at::Tensor a_ptrs = device_pointers(a), b_ptrs = device_pointers(b), c_ptrs = device_pointers(c);
    const cudaDataType_t type = like.scalar_type() == at::kBFloat16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasHandle_t handle = at::cuda::getCurrentCUDABlasHandle();
    const cublasStatus_t status = cublasGemmGroupedBatchedEx(
        handle, trans_a.data(), trans_b.data(), m.data(), n.data(), k.data(), alpha.data(),
        reinterpret_cast<const void* const*>(a_ptrs.const_data_ptr<int64_t>()), type, lda.data(),
        reinterpret_cast<const void* const*>(b_ptrs.const_data_ptr<int64_t>()), type, ldb.data(), beta.data(),
        reinterpret_cast<void* const*>(c_ptrs.const_data_ptr<int64_t>()), type, ldc.data(), count, size.data(),
        CUBLAS_COMPUTE_32F);
    TORCH_CHECK(status == CUBLAS_STATUS_SUCCESS, "grouped_linear: cublasGemmGroupedBatchedEx failed with status ",
                static_cast<int>(status));
  }
};

// Row-major [rows, cols] is column-major [cols, rows]: the products below are written transposed.
class GroupedLinearFunction : public torch::autograd::Function<GroupedLinearFunction> {
 public:
  // x and every weight in one dtype (float32 or bfloat16)
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x_in,
                            const std::vector<int64_t>& group_rows, at::TensorList weights_in) {
    const at::Tensor x = x_in.contiguous();
    const std::vector<at::Tensor> weights = contiguous(weights_in);
    const int64_t in = x.size(1), out = weights.front().size(0);
    at::Tensor y = at::empty({x.size(0), out}, x.options());  // [rows, out]
    GemmGroups groups;
    int64_t start = 0;
    for (size_t g = 0; g < weights.size(); ++g) {
      const int64_t rows = group_rows[g];
      if (rows == 0) continue;
      // y_g^T [out, rows] = W_g [out, in] x_g^T [in, rows]
      groups.add(CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, weights[g].const_data_ptr(), in, x[start].const_data_ptr(),
                 in, y[start].data_ptr(), out);
      start += rows;
    }
    groups.run(x);
    save_inputs(ctx, x, weights, group_rows);
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const std::vector<at::Tensor> weights(saved.begin() + 1, saved.end());
    const auto group_rows = ctx->saved_data["group_rows"].toIntVector();
    const at::Tensor grad = grads[0].to(x.scalar_type()).contiguous();  // [rows, out]
    const int64_t in = x.size(1), out = weights.front().size(0);
    at::Tensor grad_x = at::empty_like(x);  // [rows, in]
    std::vector<at::Tensor> grad_weights;
    GemmGroups groups;
    int64_t start = 0;
    for (size_t g = 0; g < weights.size(); ++g) {
      const int64_t rows = group_rows[g];
      grad_weights.push_back(at::zeros_like(weights[g]));  // [out, in]
      if (rows == 0) continue;
      // grad_x_g^T [in, rows] = W_g^T [in, out] grad_g^T [out, rows]
      groups.add(CUBLAS_OP_N, CUBLAS_OP_N, in, rows, out, weights[g].const_data_ptr(), in, grad[start].const_data_ptr(),
                 out, grad_x[start].data_ptr(), in);
      // grad_W_g^T [in, out] = x_g^T [in, rows] grad_g [rows, out]
      groups.add(CUBLAS_OP_N, CUBLAS_OP_T, in, out, rows, x[start].const_data_ptr(), in, grad[start].const_data_ptr(),
                 out, grad_weights.back().data_ptr(), in);
      start += rows;
    }
    groups.run(x);
    torch::autograd::variable_list result{grad_x, at::Tensor()};
    for (size_t g = 0; g < weights.size(); ++g) result.push_back(grad_weights[g]);
    return result;
  }
};

#endif

}  // namespace

at::Tensor grouped_linear(const at::Tensor& x, const std::vector<int64_t>& group_rows,
                          const std::vector<at::Tensor>& weights) {
  TORCH_CHECK(!weights.empty() && weights.size() == group_rows.size(), "grouped_linear: ", group_rows.size(),
              " groups of rows but ", weights.size(), " weights");
  TORCH_CHECK(x.dim() == 2 && std::accumulate(group_rows.begin(), group_rows.end(), int64_t{0}) == x.size(0),
              "grouped_linear: x must be [rows, in] with the groups' ",
              std::accumulate(group_rows.begin(), group_rows.end(), int64_t{0}), " rows, got ", x.sizes());
  for (const auto& w : weights)
    TORCH_CHECK(w.dim() == 2 && w.sizes() == weights.front().sizes() && w.size(1) == x.size(1),
                "grouped_linear: every weight must be [out, ", x.size(1), "] alike, got ", w.sizes());
#ifdef AHA_WITH_CUDA
  if (x.is_cuda()) {
    // Autocast does not see custom functions: cast here, so the casts' own backward returns
    // float32 gradients to float32 master weights.
    const auto dtype = at::autocast::is_autocast_enabled(at::kCUDA) ? at::autocast::get_autocast_dtype(at::kCUDA)
                                                                    : x.scalar_type();
    std::vector<at::Tensor> cast;
    for (const auto& w : weights) cast.push_back(w.to(dtype));
    return GroupedLinearFunction::apply(x.to(dtype), group_rows, at::TensorList(cast));
  }
#endif
  return grouped_linear_cpu(x, group_rows, weights);
}

}  // namespace aha::kernels
