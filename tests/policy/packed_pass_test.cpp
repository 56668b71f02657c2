// CausalLM::forward_packed against forward(): shared prompts stored once give every token the
// hidden state and experts of a padded pass over its whole sequence, bit for bit.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <catch2/catch.hpp>

#include "policy/checkpoint.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::policy;

TEST_CASE("a packed pass with shared prompts gives forward()'s hidden states and experts, bit for bit") {
  const std::vector<std::vector<int64_t>> prompts{{5, 17, 99, 3, 8}, {41, 9, 23}};
  // Two completions per prompt, of different lengths.
  const std::vector<std::vector<int64_t>> completions{{7, 12, 30}, {2}, {66, 1, 90, 4, 11}, {19, 27}};
  for (const char* name : {"qwen3_moe", "qwen2_moe", "qwen2", "llama"}) {
    INFO(name);
    auto model = load_causal_lm(source_dir() / "tests/fixtures/models" / name);
    REQUIRE(model->packs_sequences());
    const c10::InferenceMode inference;
    // Packed: the prompts, then each completion as a block whose prefix is its prompt.
    std::vector<int64_t> ids, positions, blocks, start_of_prompt;
    for (const auto& p : prompts) {
      start_of_prompt.push_back(static_cast<int64_t>(ids.size()));
      blocks.insert(blocks.end(), {static_cast<int64_t>(ids.size()), static_cast<int64_t>(p.size()), 0, 0});
      for (std::size_t i = 0; i < p.size(); ++i) ids.push_back(p[i]), positions.push_back(static_cast<int64_t>(i));
    }
    std::vector<int64_t> start_of_completion;
    for (std::size_t r = 0; r < completions.size(); ++r) {
      const auto& prompt = prompts[r / 2];
      start_of_completion.push_back(static_cast<int64_t>(ids.size()));
      blocks.insert(blocks.end(), {static_cast<int64_t>(ids.size()), static_cast<int64_t>(completions[r].size()),
                                   start_of_prompt[r / 2], static_cast<int64_t>(prompt.size())});
      for (std::size_t i = 0; i < completions[r].size(); ++i)
        ids.push_back(completions[r][i]), positions.push_back(static_cast<int64_t>(prompt.size() + i));
    }
    const auto n = static_cast<int64_t>(ids.size());
    const ForwardOutput packed = model->forward_packed(at::tensor(ids, at::kLong), at::tensor(positions, at::kLong),
                                                       at::tensor(blocks, at::kLong).view({-1, 4}));
    REQUIRE(packed.hidden.sizes() == at::IntArrayRef({n, model->config().hidden_size}));

    // The same sequences through forward(), right-padded.
    const int64_t longest = 10, rows = static_cast<int64_t>(completions.size());
    at::Tensor padded_ids = at::zeros({rows, longest}, at::kLong), mask = at::zeros({rows, longest}, at::kLong);
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<int64_t> sequence = prompts[static_cast<std::size_t>(r / 2)];
      sequence.insert(sequence.end(), completions[static_cast<std::size_t>(r)].begin(),
                      completions[static_cast<std::size_t>(r)].end());
      for (std::size_t i = 0; i < sequence.size(); ++i)
        padded_ids[r][static_cast<int64_t>(i)] = sequence[i], mask[r][static_cast<int64_t>(i)] = 1;
    }
    const ForwardOutput full = model->forward(padded_ids, mask);
    for (int64_t r = 0; r < rows; ++r) {
      const auto prompt = static_cast<int64_t>(prompts[static_cast<std::size_t>(r / 2)].size());
      const auto completion = static_cast<int64_t>(completions[static_cast<std::size_t>(r)].size());
      CHECK(at::equal(packed.hidden.narrow(0, start_of_prompt[static_cast<std::size_t>(r / 2)], prompt),
                      full.hidden[r].narrow(0, 0, prompt)));
      CHECK(at::equal(packed.hidden.narrow(0, start_of_completion[static_cast<std::size_t>(r)], completion),
                      full.hidden[r].narrow(0, prompt, completion)));
      for (std::size_t l = 0; l < packed.routers.size(); ++l) {
        const at::Tensor own = full.routers[l].own.view({rows, longest, -1})[r];
        CHECK(at::equal(packed.routers[l].own.narrow(0, start_of_completion[static_cast<std::size_t>(r)], completion),
                        own.narrow(0, prompt, completion)));
      }
    }
  }
}

TEST_CASE("latent attention has no packed pass") {
  auto model = load_causal_lm(source_dir() / "tests/fixtures/models/deepseek_v3");
  CHECK_FALSE(model->packs_sequences());
  CHECK_THROWS_WITH(model->forward_packed(at::zeros({2}, at::kLong), at::arange(2, at::kLong),
                                          at::tensor({0, 2, 0, 0}, at::kLong).view({1, 4})),
                    Catch::Contains("runs its passes through forward()"));
}
