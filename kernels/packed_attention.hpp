// Causal attention over packed sequences on the CPU, fused and batch-invariant: one row per token,
// no padding, and a shared prompt's keys and values stored once for all the completions that
// follow it. Each query reads its keys in the order they sit in its sequence, with the arithmetic
// of kernels/attention_rows.hpp, so it gets the bits invariant_attention and a decoding step give
// the same query. The backward runs one task per key head, blocks in order, so the gradients of a
// shared prompt add up in one fixed order.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace aha::kernels {

// q [n, heads, d], keys [n, kv_heads, d], values [n, kv_heads, dv] float32 (contiguous), and
// blocks [m, 4] int64 rows (start, length, prefix_start, prefix_length) that cover the n tokens:
// token start + i attends to the prefix's tokens prefix_start .. prefix_start + prefix_length - 1,
// then to start .. start + i. A prompt shared by G completions is a block of its own (prefix
// length 0) and the prefix of each of their G blocks. Query head h uses key head h / (heads / kv_heads).
// -> [n, heads, dv], differentiable with respect to q, keys and values. The backward reuses the
// forward's softmax weights while they take at most kept_weights_bytes, and computes them again
// past that (the same bits either way).
at::Tensor packed_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                            const at::Tensor& blocks, double scale, int64_t kept_weights_bytes = int64_t{64} << 20);

}  // namespace aha::kernels
