// Keys of the [model] section.
#include "policy/model_section.hpp"

namespace aha::policy {

namespace {

// `invariant`: the default of batch_invariant (GRPO compares sampling with training; SFT does not).
void bind_holding(config::Binder& b, ModelSection& s, bool invariant) {
  b.choice({"dtype", "compute dtype: bfloat16 runs the matrix products in bf16 (autocast, CUDA only) with float32 "
                     "master weights, router, norms and log-softmax"},
           s.dtype, DType::float32, dtype_names);
  b.choice({"device", "where the policy runs; auto picks cuda when a GPU is visible, else cpu"}, s.device,
           DeviceChoice::automatic, device_names);
  b.boolean({"batch_invariant", "on the CPU, compute every token the same way whatever the batch, so sampling and "
                                "training log-probs are equal bit for bit (docs/numerics.md); false runs ATen's "
                                "faster kernels"},
            s.batch_invariant, invariant);
  b.texts({"freeze", "parameter-name patterns kept frozen (`*` matches any run), e.g. \"model.embed_tokens.*\""},
          s.freeze, {});
}

}  // namespace

void bind(config::Binder& b, ModelSection& s) {
  b.text({"path", "Hugging Face model folder (config.json, *.safetensors, tokenizer.json) the policy starts from"},
         s.path, std::nullopt);
  b.text({"reference", "model folder of the frozen KL reference; empty: a frozen copy of the starting policy"},
         s.reference, "");
  bind_holding(b, s, true);
}

void bind_without_reference(config::Binder& b, ModelSection& s) {
  b.text({"path", "Hugging Face model folder (config.json, *.safetensors, tokenizer.json) the model starts from"},
         s.path, std::nullopt);
  bind_holding(b, s, false);
}

}  // namespace aha::policy
