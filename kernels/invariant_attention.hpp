// Causal attention on the CPU, fused and batch-invariant: each query row computes its scores,
// softmax and weighted values by itself, over exactly the keys it may see, always in key order
// and with dot products of a fixed shape. A query decoded alone against the KV cache and the
// same query inside a padded training pass therefore give the same bits, without materialising
// any [queries x keys] tensor. The backward is fused alike: it recomputes each row's softmax
// weights and adds the key and value gradients of one key head in one fixed order.
#pragma once

#include <ATen/core/Tensor.h>

namespace aha::kernels {

// q [b, heads, s, d], keys [b, kv_heads, span, d], values [b, kv_heads, span, dv] float32 (keys
// and values may be views of a larger cache, rows contiguous), query_positions [b, s] int64,
// key_lengths [b] int64. Query (row, i) sees keys 0 .. min(query_positions[row, i], key_lengths[row] - 1)
// and always key 0 (so padding queries stay finite). Query head h uses key head h / (heads / kv_heads).
// -> [b, heads, s, dv], differentiable with respect to q, keys and values.
at::Tensor invariant_attention(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& values,
                               const at::Tensor& query_positions, const at::Tensor& key_lengths, double scale);

// Decoding on float32 memory, on the calling thread: query row r, q [rows, heads, d], sits at
// positions[r] of cache row cache_rows[r] and attends to keys 0 .. positions[r] in keys
// [cache rows, kv_heads, slots, d] and values [cache rows, kv_heads, slots, dv] (contiguous): keys
// j < prefix_lengths[r] of cache row prefix_rows[r] (a prompt that several rows share, read from
// one place), the rest of its own row -> out [rows, heads, dv], with the bits invariant_attention
// gives the same query over the same keys.
void attend_cached(const float* q, int64_t rows, int64_t heads, int64_t kv_heads, int64_t dim, int64_t value_dim,
                   const float* keys, const float* values, int64_t slots, const int64_t* cache_rows,
                   const int64_t* positions, const int64_t* prefix_rows, const int64_t* prefix_lengths, double scale,
                   float* out);

}  // namespace aha::kernels
