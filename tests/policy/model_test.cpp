// The MoE transformer against transformers on tiny random checkpoints of every supported
// architecture (fixtures from tests/policy/make_model_fixtures.py): logits on a padded batch,
// gradients of every parameter, the load-balancing loss, KV-cache decoding, save and reload.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "kernels/batch_invariant.hpp"
#include "policy/checkpoint.hpp"
#include "tests/test_paths.hpp"

using namespace aha::policy;

namespace {

std::filesystem::path fixture(const std::string& type) { return source_dir() / "tests/fixtures/models" / type; }

double max_abs(const at::Tensor& t) { return t.abs().max().item<double>(); }

// logits [b, s, v] compared only where the attention mask holds a token
double max_diff_on_tokens(const at::Tensor& a, const at::Tensor& b, const at::Tensor& mask) {
  const at::Tensor keep = mask.to(at::kBool).unsqueeze(-1).expand_as(a);
  return max_abs(a.masked_select(keep) - b.masked_select(keep));
}

const char* const all_types[] = {
    "qwen2", "llama", "qwen3", "qwen3_moe", "qwen2_moe", "deepseek_v3", "deepseek_v3_yarn", "qwen2_linear"};

}  // namespace

TEST_CASE("logits equal transformers' on a padded batch, for every architecture") {
  for (const char* type : all_types) {
    INFO(type);
    const auto expected = SafetensorsFile::open(fixture(type) / "expected.safetensors");
    CausalLM model = load_causal_lm(fixture(type));
    torch::NoGradGuard no_grad;
    const at::Tensor mask = expected.tensor("attention_mask");
    const at::Tensor logits = model->logits(model->forward(expected.tensor("input_ids"), mask).hidden);
    CHECK(max_diff_on_tokens(logits, expected.tensor("logits"), mask) < 1e-4);
  }
}

TEST_CASE("gradients of every parameter equal transformers' within 1e-4 relative") {
  for (const char* type : all_types) {
    INFO(type);
    const auto expected = SafetensorsFile::open(fixture(type) / "expected.safetensors");
    CausalLM model = load_causal_lm(fixture(type));
    const at::Tensor logits =
        model->logits(model->forward(expected.tensor("input_ids"), expected.tensor("attention_mask")).hidden);
    (logits * expected.tensor("probe")).sum().backward();
    int compared = 0;
    for (const auto& item : model->named_parameters()) {
      INFO(item.key());
      const std::string key = "grad." + item.key();
      if (!expected.contains(key)) {
        CHECK((!item.value().grad().defined() || max_abs(item.value().grad()) == 0.0));
        continue;
      }
      const at::Tensor reference = expected.tensor(key);
      if (!item.value().grad().defined()) {  // an expert that only padding tokens reach
        CHECK(max_abs(reference) == 0.0);
        continue;
      }
      const double scale = std::max(max_abs(reference), 1e-6);
      CHECK(max_abs(item.value().grad() - reference) / scale < 1e-4);
      ++compared;
    }
    CHECK(compared > 10);
  }
}

TEST_CASE("the load-balancing loss equals transformers' aux_loss") {
  for (const char* type : {"qwen3_moe", "qwen2_moe"}) {
    INFO(type);
    const auto expected = SafetensorsFile::open(fixture(type) / "expected.safetensors");
    CausalLM model = load_causal_lm(fixture(type));
    torch::NoGradGuard no_grad;
    const at::Tensor mask = expected.tensor("attention_mask");
    const auto out = model->forward(expected.tensor("input_ids"), mask);
    REQUIRE(out.routers.size() == static_cast<std::size_t>(model->num_moe_layers()));
    const at::Tensor loss = load_balancing_loss(out.routers, mask.reshape({-1}), model->config().num_experts_per_tok);
    CHECK(std::abs(loss.item<double>() - expected.tensor("aux_loss").item<double>()) < 1e-5);
  }
}

TEST_CASE("KV-cache decoding of a padded batch equals the full forward bit for bit on the CPU") {
  for (const char* type : all_types) {
    INFO(type);
    const auto expected = SafetensorsFile::open(fixture(type) / "expected.safetensors");
    CausalLM model = load_causal_lm(fixture(type));
    torch::NoGradGuard no_grad;
    const at::Tensor ids = expected.tensor("input_ids"), mask = expected.tensor("attention_mask");
    const at::Tensor full = model->logits(model->forward(ids, mask).hidden);
    KvCache cache;
    const int64_t prefill = 4;
    std::vector<at::Tensor> steps{
        model->logits(model->forward(ids.narrow(1, 0, prefill), mask.narrow(1, 0, prefill), &cache).hidden)};
    for (int64_t t = prefill; t < ids.size(1); ++t)
      steps.push_back(model->logits(model->forward(ids.narrow(1, t, 1), mask.narrow(1, t, 1), &cache).hidden));
    CHECK(max_diff_on_tokens(at::cat(steps, 1), full, mask) == 0.0);
  }
}

TEST_CASE("a padding-free pass gives each row the bits it gets alone, and padding gets no gradient") {
  for (const char* type : all_types) {
    INFO(type);
    const auto expected = SafetensorsFile::open(fixture(type) / "expected.safetensors");
    CausalLM model = load_causal_lm(fixture(type));
    // Row 0 alone (no padding: every slot runs), and row 0 beside a row of 2 tokens padded to 8
    // (more than an eighth of the slots is padding, so only the real tokens run).
    const at::Tensor ids = expected.tensor("input_ids").narrow(0, 0, 1);
    const at::Tensor short_row = at::tensor({0, 0, 0, 0, 0, 0, 7, 9}, at::kLong).view({1, 8});
    const at::Tensor short_mask = at::tensor({0, 0, 0, 0, 0, 0, 1, 1}, at::kLong).view({1, 8});
    const at::Tensor alone = model->logits(model->forward(ids, at::ones_like(ids)).hidden);
    const ForwardOutput pair = model->forward(at::cat({ids, short_row}), at::cat({at::ones_like(ids), short_mask}));
    const at::Tensor logits = model->logits(pair.hidden);
    CHECK(at::equal(logits.select(0, 0), alone.select(0, 0)));
    CHECK(
        at::equal(pair.hidden.select(0, 1).narrow(0, 0, 6), at::zeros_like(pair.hidden.select(0, 1).narrow(0, 0, 6))));
    for (const auto& trace : pair.routers) CHECK(trace.experts.size(0) == 16);
    logits.select(0, 1).narrow(0, 0, 6).sum().backward();  // padding positions only
    for (const auto& item : model->named_parameters()) {
      INFO(item.key());
      CHECK((!item.value().grad().defined() || max_abs(item.value().grad()) == 0.0));
    }
  }
}

TEST_CASE("routing replay reproduces the recorded experts and the same logits") {
  const auto expected = SafetensorsFile::open(fixture("qwen3_moe") / "expected.safetensors");
  CausalLM model = load_causal_lm(fixture("qwen3_moe"));
  torch::NoGradGuard no_grad;
  const at::Tensor ids = expected.tensor("input_ids"), mask = expected.tensor("attention_mask");
  const auto first = model->forward(ids, mask);
  std::vector<at::Tensor> recorded;
  for (const auto& trace : first.routers) recorded.push_back(trace.experts);
  const auto replayed = model->forward(ids, mask, nullptr, recorded);
  CHECK(at::equal(replayed.hidden, first.hidden));
  for (std::size_t i = 0; i < recorded.size(); ++i) CHECK(at::equal(replayed.routers[i].experts, recorded[i]));
}

TEST_CASE("a saved checkpoint reloads with identical logits") {
  for (const char* type : all_types) {
    INFO(type);
    const auto expected = SafetensorsFile::open(fixture(type) / "expected.safetensors");
    CausalLM model = load_causal_lm(fixture(type));
    // AHA_KEEP_SAVED=DIR keeps the folders for tests/policy/check_saved_checkpoints.py.
    const char* keep = std::getenv("AHA_KEEP_SAVED");
    const auto dir = keep ? std::filesystem::path(keep) / type
                          : std::filesystem::temp_directory_path() /
                                (std::string("aha-save-") + type + std::to_string(::getpid()));
    save_causal_lm(*model, dir, fixture(type));
    CausalLM again = load_causal_lm(dir);
    torch::NoGradGuard no_grad;
    const at::Tensor ids = expected.tensor("input_ids"), mask = expected.tensor("attention_mask");
    CHECK(at::equal(model->forward(ids, mask).hidden, again->forward(ids, mask).hidden));
    CHECK(std::filesystem::exists(dir / "config.json"));
    CHECK(SafetensorsFile::open(dir / "model.safetensors").metadata().at("format") == "pt");
    if (!keep) std::filesystem::remove_all(dir);
  }
}

TEST_CASE("bf16 autocast runs the products in bf16 and keeps float32 parameters, router and gradients") {
  // ATen's autocast on the CPU stands in for CUDA's, with the batch-invariant products off (they
  // are float32 by construction).
  aha::kernels::set_batch_invariant(false);
  for (const char* type : {"qwen3_moe", "qwen2_moe"}) {
    INFO(type);
    const auto expected = SafetensorsFile::open(fixture(type) / "expected.safetensors");
    CausalLM model = load_causal_lm(fixture(type));
    const at::Tensor ids = expected.tensor("input_ids"), mask = expected.tensor("attention_mask");
    at::Tensor reference;
    {
      torch::NoGradGuard no_grad;
      reference = model->forward(ids, mask).hidden;
    }
    model->set_autocast(at::kBFloat16);
    const auto out = model->forward(ids, mask);
    CHECK(out.hidden.scalar_type() == at::kFloat);
    CHECK_FALSE(at::equal(out.hidden, reference));  // the products did run in bf16
    CHECK(max_diff_on_tokens(out.hidden, reference, mask) < 0.1 * max_abs(reference));
    for (const auto& trace : out.routers) CHECK(trace.logits.scalar_type() == at::kFloat);
    model->logits(out.hidden).sum().backward();
    for (const auto& item : model->named_parameters()) {
      INFO(item.key());
      CHECK(item.value().scalar_type() == at::kFloat);
      if (item.value().grad().defined()) CHECK(item.value().grad().scalar_type() == at::kFloat);
    }
  }
  aha::kernels::set_batch_invariant(true);
}
