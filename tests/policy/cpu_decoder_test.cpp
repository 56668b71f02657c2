// The CPU decoder against CausalLM::forward: the same hidden states and experts, bit for bit, on
// every fixture architecture it takes, while rows leave the batch and with each prompt's keys read
// from its first row; and what it refuses.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "kernels/batch_invariant.hpp"
#include "policy/checkpoint.hpp"
#include "policy/cpu_decoder.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::policy;

namespace {

CausalLM fixture(const std::string& name) { return load_causal_lm(source_dir() / "tests/fixtures/models" / name); }

// Two left-padded prompts, each repeated twice, prefilled into a cache with room for `room` more tokens.
KvCache prefill(CausalLMImpl& model, int64_t room) {
  const at::Tensor ids = at::tensor({0, 0, 5, 17, 99, 3, 41, 9, 76, 14, 58, 101}, at::kLong).view({2, 6});
  const at::Tensor mask = at::tensor({0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, at::kLong).view({2, 6});
  KvCache cache;
  cache.capacity = 6 + room;
  model.forward(ids, mask, &cache);
  cache.select_rows(at::tensor({0, 0, 1, 1}, at::kLong));
  return cache;
}

// The same cache with the second copy of each prompt overwritten by NaN: a decoder that reads each
// prompt from its first row alone never sees them.
KvCache prefill_shared(CausalLMImpl& model, int64_t room) {
  KvCache cache = prefill(model, room);
  for (auto& layer : cache.layers)
    for (const int64_t copy : {1, 3}) {
      layer.keys[copy].narrow(1, 0, 6).fill_(NAN);  // [kv_heads, slots, d]: the prompt's slots
      layer.values[copy].narrow(1, 0, 6).fill_(NAN);
    }
  return cache;
}

}  // namespace

TEST_CASE(
    "the CPU decoder gives CausalLM::forward's hidden states and experts, bit for bit, reading each prompt once") {
  for (const char* name : {"qwen3_moe", "qwen2_moe", "qwen2", "qwen3", "llama"}) {
    INFO(name);
    auto model = fixture(name);
    REQUIRE(CpuDecoder::supports(*model));
    const c10::InferenceMode inference;
    KvCache reference = prefill(*model, 8);
    CpuDecoder decoder(*model, prefill_shared(*model, 8), /*rows_per_prompt=*/2);
    // Rows leave as decoding goes on: the reference cache drops them, the decoder's keeps them.
    const std::vector<std::vector<int64_t>> alive{{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 2, 3}, {2, 3}, {3}};
    for (std::size_t step = 0; step < alive.size(); ++step) {
      const auto& rows = alive[step];
      if (step > 0 && rows.size() < alive[step - 1].size()) {
        std::vector<int64_t> keep;
        for (std::size_t i = 0; i < alive[step - 1].size(); ++i)
          if (std::find(rows.begin(), rows.end(), alive[step - 1][i]) != rows.end())
            keep.push_back(static_cast<int64_t>(i));
        reference.select_rows(at::tensor(keep, at::kLong));
      }
      std::vector<int64_t> tokens;
      for (const int64_t r : rows) tokens.push_back(7 + 13 * r + 5 * static_cast<int64_t>(step));
      const at::Tensor next = at::tensor(tokens, at::kLong).unsqueeze(1);
      const ForwardOutput expected = model->forward(next, at::ones_like(next), &reference);
      const DecodeStep got = decoder.step(rows, tokens);
      CHECK(at::equal(got.hidden, expected.hidden.select(1, 0)));
      CHECK(at::equal(decoder.logits(got.hidden), model->logits(got.hidden)));
      REQUIRE(got.experts.size() == expected.routers.size());
      for (std::size_t l = 0; l < got.experts.size(); ++l) CHECK(at::equal(got.experts[l], expected.routers[l].own));
    }
  }
}

TEST_CASE("the CPU decoder refuses what it does not decode, and says why a step cannot run") {
  auto latent = fixture("deepseek_v3");
  CHECK_FALSE(CpuDecoder::supports(*latent));
  auto model = fixture("qwen3_moe");
  kernels::set_batch_invariant(false);
  CHECK_FALSE(CpuDecoder::supports(*model));
  kernels::set_batch_invariant(true);
  model->set_autocast(at::kBFloat16);
  CHECK_FALSE(CpuDecoder::supports(*model));
  model->set_autocast(std::nullopt);

  const c10::InferenceMode inference;
  CHECK_THROWS_WITH(CpuDecoder(*model, prefill(*model, 1), 0), Catch::Contains("0 rows per prompt"));
  CpuDecoder decoder(*model, prefill(*model, 1));
  const int64_t vocab = model->config().vocab_size;
  CHECK_THROWS_WITH(decoder.step({0}, {vocab}), Catch::Contains("outside the vocabulary"));
  decoder.step({2}, {3});  // row 2's prompt has all six tokens: one more fills it
  CHECK_THROWS_WITH(decoder.step({2}, {3}), Catch::Contains("cache row 2 is full"));
}
