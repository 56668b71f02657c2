// The GPU figures benchmarks/gpu.sh prints, on one CUDA device:
//   1. selective log-softmax read bandwidth against the device's copy bandwidth;
//   2. peak memory of log-prob forward + backward, fused against log_softmax + gather, at vocab 151,936;
//   3. an MoE layer (64 experts, top-8) against a dense SwiGLU of the same active parameters;
//   4. rollout and training tokens/s of a ~0.5B-parameter qwen3_moe model in bf16 autocast.
// Each figure is the mean of timed repeats after a warm-up, with the device synchronised.
//   gpu_kernels
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/cuda.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include "kernels/reference.hpp"
#include "kernels/selective_log_softmax.hpp"
#include "policy/autocast.hpp"
#include "policy/model_config.hpp"
#include "policy/model_init.hpp"
#include "policy/token_logprobs.hpp"
#include "rollout/generator.hpp"

namespace {

using aha::policy::AutocastScope;

// Mean seconds of `repeats` calls of `work` after one warm-up call.
double time_on_device(int repeats, const std::function<void()>& work) {
  work();
  torch::cuda::synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) work();
  torch::cuda::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
}

// Peak bytes allocated on the device while `work` runs, above what was allocated before it.
double peak_bytes(const std::function<void()>& work) {
  torch::cuda::synchronize();
  auto* allocator = c10::cuda::CUDACachingAllocator::get();
  const auto before = allocator->getDeviceStats(0).allocated_bytes[0].current;
  allocator->resetPeakStats(0);
  work();
  torch::cuda::synchronize();
  return static_cast<double>(allocator->getDeviceStats(0).allocated_bytes[0].peak - before);
}

void selective_log_softmax_figures() {
  const int64_t rows = 8192, vocab = 151936;
  for (const auto dtype : {at::kBFloat16, at::kFloat}) {
    const at::Tensor logits = at::randn({rows, vocab}, at::device(at::kCUDA).dtype(dtype));
    const at::Tensor targets = at::randint(vocab, {rows}, at::device(at::kCUDA).dtype(at::kLong));
    at::Tensor copy = at::empty_like(logits);
    const double bytes = static_cast<double>(logits.nbytes());
    const double copy_s = time_on_device(20, [&] { copy.copy_(logits); });
    const double fused_s = time_on_device(20, [&] { aha::kernels::selective_log_softmax(logits, targets, 1.0, true); });
    const double reference_s = time_on_device(20, [&] {
      aha::kernels::reference::selected_logprobs(logits, targets, 1.0);
      aha::kernels::reference::entropy(logits, 1.0);
    });
    std::printf("selective_log_softmax %s rows=%lld vocab=%lld: fused %.3f ms reads %.0f GB/s; copy moves %.0f GB/s "
                "(read + write); fused / copy = %.2f; ATen log_softmax + gather + entropy %.3f ms (%.1fx slower)\n",
                dtype == at::kFloat ? "float32" : "bfloat16", static_cast<long long>(rows),
                static_cast<long long>(vocab), fused_s * 1e3, bytes / fused_s / 1e9, 2 * bytes / copy_s / 1e9,
                (bytes / fused_s) / (2 * bytes / copy_s), reference_s * 1e3, reference_s / fused_s);
  }
}

void memory_figures() {
  const int64_t rows = 4096, vocab = 151936;
  const at::Tensor values = at::randn({rows, vocab}, at::device(at::kCUDA).dtype(at::kBFloat16));
  const at::Tensor targets = at::randint(vocab, {rows}, at::device(at::kCUDA).dtype(at::kLong));
  const auto run = [&](bool fused) {
    const at::Tensor logits = values.detach().requires_grad_(true);
    const at::Tensor logp = fused ? aha::kernels::selected_logprobs(logits, targets, 1.0)
                                  : aha::kernels::reference::selected_logprobs(logits, targets, 1.0);
    logp.sum().backward();
  };
  const double reference = peak_bytes([&] { run(false); }), fused = peak_bytes([&] { run(true); });
  std::printf("log-prob forward+backward, %lld x %lld bf16 logits: peak above the logits %.2f GB with log_softmax, "
              "%.2f GB fused: %.2f GB saved (%.1fx less)\n",
              static_cast<long long>(rows), static_cast<long long>(vocab), reference / 1e9, fused / 1e9,
              (reference - fused) / 1e9, reference / fused);
}

void moe_figures() {
  aha::policy::ModelConfig config;
  config.type = aha::policy::ModelType::qwen3_moe;
  config.hidden_size = 2048;
  config.num_experts = 64;
  config.num_experts_per_tok = 8;
  config.moe_intermediate_size = 768;
  config.norm_topk_prob = true;
  const int64_t tokens = 16384;
  aha::policy::MoE moe(config);
  aha::policy::SwiGLU dense(config.hidden_size, config.num_experts_per_tok * config.moe_intermediate_size);
  moe->to(at::kCUDA);
  dense->to(at::kCUDA);
  const at::Tensor x = at::randn({1, tokens, config.hidden_size}, at::device(at::kCUDA)).requires_grad_(true);
  const AutocastScope bf16(at::kCUDA, at::kBFloat16);
  aha::policy::RouterTrace trace;
  const double moe_s = time_on_device(10, [&] { moe->forward(x, trace, {}).sum().backward(); });
  const double dense_s = time_on_device(10, [&] { dense->forward(x).sum().backward(); });
  std::printf("MoE layer (64 experts, top-8, 2048 -> 768) fwd+bwd on %lld tokens: %.3f ms; dense SwiGLU of the same "
              "active parameters (2048 -> 6144): %.3f ms; MoE / dense = %.2f\n",
              static_cast<long long>(tokens), moe_s * 1e3, dense_s * 1e3, moe_s / dense_s);
}

void model_figures() {
  const nlohmann::json config = {{"architectures", {"Qwen3MoeForCausalLM"}},
                                 {"model_type", "qwen3_moe"},
                                 {"vocab_size", 151936},
                                 {"hidden_size", 1024},
                                 {"intermediate_size", 3072},
                                 {"num_hidden_layers", 8},
                                 {"num_attention_heads", 16},
                                 {"num_key_value_heads", 4},
                                 {"head_dim", 64},
                                 {"max_position_embeddings", 4096},
                                 {"rms_norm_eps", 1e-6},
                                 {"rope_theta", 1000000.0},
                                 {"num_experts", 32},
                                 {"num_experts_per_tok", 4},
                                 {"moe_intermediate_size", 512},
                                 {"norm_topk_prob", true},
                                 {"tie_word_embeddings", true},
                                 {"initializer_range", 0.02}};
  aha::policy::CausalLM model = aha::policy::init_causal_lm(config, 0);
  model->to(at::kCUDA);
  model->set_autocast(at::kBFloat16);
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();

  // Rollout: 64 prompts of 128 tokens, 8 completions each, 256 new tokens (no EOS).
  const int prompts_n = 64, group = 8, new_tokens = 256, prompt_len = 128;
  std::vector<std::vector<int64_t>> prompts;
  const at::Tensor ids = at::randint(1000, 100000, {prompts_n, prompt_len}, at::kLong);
  for (int i = 0; i < prompts_n; ++i)
    prompts.emplace_back(ids[i].data_ptr<int64_t>(), ids[i].data_ptr<int64_t>() + prompt_len);
  aha::rollout::GenerationSettings settings;
  settings.sampling.temperature = 1.0;
  settings.max_new_tokens = new_tokens;
  at::Generator generator = at::detail::createCPUGenerator(7);
  {
    torch::NoGradGuard no_grad;
    const double rollout_s =
        time_on_device(1, [&] { aha::rollout::generate(*model, prompts, group, settings, generator); });
    std::printf("qwen3_moe %.2fB parameters (32 experts, top-4, 8 layers), bf16 autocast: rollout %d x %d sequences, "
                "%d new tokens each: %.2f s, %.0f tokens/s\n",
                parameters / 1e9, prompts_n, group, new_tokens, rollout_s, prompts_n * group * new_tokens / rollout_s);
  }

  // Training: 16 sequences of 1024 tokens, log-probs of the next token, AdamW.
  const int64_t batch = 16, seq = 1024;
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-6));
  const at::Tensor input = at::randint(1000, 100000, {batch, seq}, at::device(at::kCUDA).dtype(at::kLong));
  const at::Tensor mask = at::ones_like(input);
  const double train_s = time_on_device(3, [&] {
    optimizer.zero_grad();
    const at::Tensor hidden = model->forward(input, mask).hidden.narrow(1, 0, seq - 1).reshape({-1, 1024});
    const at::Tensor logp =
        aha::policy::token_logprobs(hidden, model->output_head(), input.narrow(1, 1, seq - 1).reshape({-1}), 1.0, 4096);
    logp.mean().backward();
    optimizer.step();
  });
  std::printf("training step (forward, log-probs, backward, AdamW) on %lld x %lld tokens: %.3f s, %.0f tokens/s\n",
              static_cast<long long>(batch), static_cast<long long>(seq), train_s, batch * seq / train_s);
}

}  // namespace

int main() {
  if (!torch::cuda::is_available()) {
    std::puts("gpu_kernels: no CUDA device");
    return 1;
  }
  std::printf("device: %s\n", at::cuda::getCurrentDeviceProperties()->name);
  selective_log_softmax_figures();
  memory_figures();
  moe_figures();
  model_figures();
  return 0;
}
