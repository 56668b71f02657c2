// The memory plan: what a run holds by phase for the shape of Qwen2.5-0.5B, the micro-batch
// threads it picks for the memory there is, and the refusal that names the estimate.
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "rl/memory_plan.hpp"

using namespace aha;
using namespace aha::rl;

namespace {

// Qwen2.5-0.5B: 494,032,768 parameters, 151,936 embedding rows (tied) for 151,665 ids; a GRPO
// step of 2 GSM8K prompts (about 150 tokens under the r1_zero template), G = 4, 64 new tokens.
RunShape qwen25_half_billion() {
  RunShape s;
  s.model.hidden_size = 896;
  s.model.intermediate_size = 4864;
  s.model.num_layers = 24;
  s.model.num_heads = 14;
  s.model.num_kv_heads = 2;
  s.model.head_dim = 64;
  s.model.vocab_size = 151936;
  s.model.tie_word_embeddings = true;
  s.parameters = s.trainable = 494032768;
  s.vocabulary = 151665;
  s.prompts = 2, s.group_size = 4, s.prompt_tokens = 150, s.new_tokens = 64;
  s.micro_batch_tokens = 1 << 20;
  return s;
}

double item(const std::vector<MemoryItem>& items, const std::string& what) {
  for (const auto& i : items)
    if (i.what == what) return i.bytes;
  FAIL("no item " << what);
  return 0.0;
}

}  // namespace

TEST_CASE("a 0.5B policy holds 4 bytes of weights and 8 of AdamW moments per parameter, gradients while it trains") {
  const MemoryEstimate e = estimate_memory(qwen25_half_billion());
  CHECK(item(e.held, "weights") == Approx(4.0 * 494032768));
  CHECK(item(e.held, "AdamW moments") == Approx(8.0 * 494032768));
  CHECK(item(e.training, "gradients") == Approx(4.0 * 494032768));
  // The decoder reads the weights in place: sampling adds only its KV cache and logits.
  for (const auto& sampled : e.sampling) CHECK(sampled.bytes < 0.5e9);
  // benchmarks/grpo_step_real.sh measured a peak RSS of 13.0 GB for this step on this shape.
  CHECK(e.peak() > 12e9);
  CHECK(e.peak() < 14e9);
  CHECK_THAT(e.describe(), Catch::Contains("weights 2.0 GB") && Catch::Contains("AdamW moments 4.0 GB"));
}

TEST_CASE("a reference model, frozen parameters and more micro-batch threads change what is held") {
  RunShape s = qwen25_half_billion();
  const double base = estimate_memory(s).peak();
  s.reference = true;
  CHECK(estimate_memory(s).peak() == Approx(base + 4.0 * 494032768));
  s.reference = false;
  s.trainable = s.parameters / 2;
  CHECK(item(estimate_memory(s).held, "AdamW moments") == Approx(4.0 * 494032768));
  s.trainable = s.parameters;
  s.micro_batch_threads = 2;  // each thread's gradient beside the running sum
  CHECK(item(estimate_memory(s).training, "gradients") == Approx(3 * 4.0 * 494032768));
}

TEST_CASE("activations grow with the micro-batch's tokens") {
  RunShape s = qwen25_half_billion();
  s.micro_batch_tokens = 256;
  const double small = item(estimate_memory(s).training, "activations");
  s.micro_batch_tokens = 512;
  CHECK(item(estimate_memory(s).training, "activations") == Approx(2 * small));
  s.micro_batch_tokens = 1 << 20;  // capped by the step's tokens: 2 prompts + 8 completions of 64
  CHECK(item(estimate_memory(s).training, "activations") == Approx(small * (2 * 150 + 8 * 64) / 256.0));
}

TEST_CASE("activation checkpointing keeps a fifteenth of the activations or less at 0.5B") {
  RunShape s = qwen25_half_billion();
  const double plain = item(estimate_memory(s).training, "activations");
  s.activation_checkpointing = true;
  CHECK(item(estimate_memory(s).training, "activations") < plain / 15);
}

TEST_CASE("micro-batch threads: as many as fit half the memory, one for a large model, the asked count when it fits") {
  RunShape tiny = qwen25_half_billion();
  tiny.parameters = tiny.trainable = 1000000;
  tiny.model.vocab_size = 300, tiny.vocabulary = 300, tiny.model.num_layers = 2, tiny.model.hidden_size = 32;
  tiny.model.intermediate_size = 64, tiny.model.num_heads = 2, tiny.model.num_kv_heads = 1, tiny.model.head_dim = 16;
  CHECK(plan_micro_batch_threads(tiny, 0, 2, int64_t{24} << 30) == 2);
  CHECK(plan_micro_batch_threads(qwen25_half_billion(), 0, 2, int64_t{20} << 30) == 1);
  CHECK(plan_micro_batch_threads(qwen25_half_billion(), 2, 2, int64_t{20} << 30) == 2);
}

TEST_CASE("a run that cannot fit is refused with the estimate and the settings to lower") {
  RunShape s = qwen25_half_billion();
  s.micro_batch_tokens = 1 << 20;
  s.new_tokens = 4096;
  s.group_size = 8;
  try {
    plan_micro_batch_threads(s, 0, 2, int64_t{20} << 30);
    FAIL("not refused");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Catch::Contains("this run needs about") && Catch::Contains("at the peak of training") &&
                            Catch::Contains("activations") && Catch::Contains("21.5 GB available") &&
                            Catch::Contains("train.micro_batch_tokens"));
  }
}
