// The kernels' CPU paths against their ATen references, the routing tables' invariants, and
// per-thread CPU thread counts.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "kernels/cpu_threads.hpp"
#include "kernels/grpo_token_loss.hpp"
#include "kernels/invariant_attention.hpp"
#include "kernels/moe_dispatch.hpp"
#include "kernels/selective_log_softmax.hpp"
#include "tests/kernels/kernel_checks.hpp"

using namespace aha::kernels;

TEST_CASE("selective log-softmax on the CPU equals log_softmax and gather, with entropy and gradient") {
  checks::selective_log_softmax(at::kCPU, at::kFloat);
  checks::selective_log_softmax(at::kCPU, at::kBFloat16);
}

TEST_CASE("the fused GRPO token loss on the CPU equals the formula, and so does its gradient") {
  checks::grpo_token_loss(at::kCPU);
}

TEST_CASE("permute, grouped linear and combine on the CPU equal a dense one-hot MoE layer") {
  checks::moe_layer(at::kCPU, at::kFloat);
}

TEST_CASE("the fused CPU attention equals masked softmax attention, forward and gradients") {
  checks::invariant_attention();
}

TEST_CASE("routing sorts pairs by expert, keeps token order within an expert, and inverts") {
  const at::Tensor experts = at::tensor({2, 0, 1, 2, 0, 1}, at::kLong).view({3, 2});  // [tokens 3, k 2]
  const ExpertRouting routing = route_by_expert(experts, 4);
  CHECK(routing.rows_per_expert == std::vector<int64_t>{2, 2, 2, 0});
  CHECK(at::equal(routing.token_of_row, at::tensor({0, 2, 1, 2, 0, 1}, at::kLong)));
  CHECK(at::equal(routing.slot_of_row.index_select(0, routing.row_of_slot.reshape({-1})), at::arange(6, at::kLong)));
}

TEST_CASE("the GRPO token loss and the fused attention name misshapen inputs") {
  const at::Tensor logp = at::zeros({2, 3});
  CHECK_THROWS_WITH(grpo_token_loss(logp, logp, {}, at::zeros({3}), {}), Catch::Contains("advantages must be [2]"));
  CHECK_THROWS_WITH(grpo_token_loss(logp, at::zeros({2, 4}), {}, at::zeros({2}), {}),
                    Catch::Contains("old_logp is [2, 4]"));
  CHECK_THROWS_WITH(grpo_token_loss(logp, logp, {}, at::zeros({2}), {0.2, 0.2, 0.04}),
                    Catch::Contains("beta = 0.04 needs ref_logp"));
  const at::Tensor q = at::zeros({1, 4, 2, 8}), kv = at::zeros({1, 3, 5, 8});
  CHECK_THROWS_WITH(invariant_attention(q, kv, kv, at::zeros({1, 2}, at::kLong), at::ones({1}, at::kLong), 1.0),
                    Catch::Contains("do not fit"));
}

TEST_CASE("selective log-softmax names a target outside the vocabulary and a misshapen input") {
  const at::Tensor logits = at::randn({2, 5});
  CHECK_THROWS_WITH(selective_log_softmax(logits, at::tensor({1, 5}, at::kLong)),
                    Catch::Contains("target 5 of row 1 is outside the vocabulary of 5"));
  CHECK_THROWS_WITH(selective_log_softmax(logits, at::tensor({1}, at::kLong)),
                    Catch::Contains("targets must be int64 [2]"));
  CHECK_THROWS_WITH(route_by_expert(at::tensor({0, 4}, at::kLong).view({1, 2}), 4),
                    Catch::Contains("an expert id is at least 4"));
}

TEST_CASE("a thread's own CPU thread count leaves the other threads' alone") {
  at::set_num_threads(2);
  int in_worker = 0;
  std::thread worker([&] {
    set_threads_of_this_thread(1);
    in_worker = at::get_num_threads();
    // A parallel loop from this thread now runs on it alone.
    std::atomic<int> chunks = 0;
    at::parallel_for(0, 1 << 16, 1, [&](int64_t, int64_t) { ++chunks; });
    CHECK(chunks == 1);
  });
  worker.join();
  CHECK(in_worker == 1);
  CHECK(at::get_num_threads() == 2);
}
