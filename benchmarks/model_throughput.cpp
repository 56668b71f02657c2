// Forward and forward+backward throughput of the policy on a checkpoint folder, on the CPU or a
// GPU: tokens per second over a padded batch, after warmup. The peer is
// benchmarks/peer_transformers.py on the same folder, shapes and threads.
//   model_throughput DIR [batch] [seq] [repeats] [exact|aten]
// exact (the default): the batch-invariant CPU kernels; aten: ATen's own.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "kernels/batch_invariant.hpp"
#include "policy/checkpoint.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: model_throughput DIR [batch] [seq] [repeats] [exact|aten]\n");
    return 2;
  }
  const int64_t batch = argc > 2 ? std::stoll(argv[2]) : 8, seq = argc > 3 ? std::stoll(argv[3]) : 256;
  const int repeats = argc > 4 ? std::stoi(argv[4]) : 5;
  aha::kernels::set_batch_invariant(argc <= 5 || std::string(argv[5]) != "aten");
  auto model = aha::policy::load_causal_lm(argv[1]);
  at::manual_seed(0);
  const at::Tensor ids = at::randint(0, model->config().vocab_size, {batch, seq}, at::kLong);
  const at::Tensor mask = at::ones({batch, seq}, at::kLong);
  const auto run = [&](bool backward) {
    if (backward) {
      const at::Tensor logits = model->logits(model->forward(ids, mask).hidden);
      logits.to(at::kFloat).logsumexp(-1).mean().backward();
    } else {
      torch::NoGradGuard no_grad;
      model->logits(model->forward(ids, mask).hidden);
    }
  };
  for (const bool backward : {false, true}) {
    run(backward);  // warmup
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) run(backward);
    const double elapsed = seconds_since(start) / repeats;
    std::printf("%s tokens_per_s=%.1f seconds=%.4f threads=%d\n", backward ? "forward_backward" : "forward",
                static_cast<double>(batch * seq) / elapsed, elapsed, at::get_num_threads());
  }
  return 0;
}
