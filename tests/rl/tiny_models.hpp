// Random tiny models with the demo tokenizer (configs/zero-demo), and synthetic arithmetic
// problems, for the trainer tests.
#pragma once

#include <cstdint>
#include <filesystem>

#include "policy/transformer.hpp"
#include "rl/pretrain_config.hpp"

// Hidden size 32, 2 layers; qwen2_moe: 4 experts of 32, a shared expert of 32; qwen2: dense.
// With `padded_rows`, the embedding and LM head have that many rows past the tokenizer's ids, as
// real checkpoints do, and those LM head rows are large enough that their logits would win.
aha::policy::CausalLM tiny_demo_model(aha::rl::BaseArchitecture architecture, uint64_t seed, int64_t padded_rows = 0);
// The same, saved as a Hugging Face folder with the demo tokenizer.
void save_tiny_demo_model(const std::filesystem::path& dir, aha::rl::BaseArchitecture architecture, uint64_t seed,
                          int64_t padded_rows = 0);
// `count` problems from `seed` as {question, answer} JSONL.
void write_arithmetic_problems(const std::filesystem::path& file, uint64_t seed, int count);
// The demo tokenizer's folder.
std::filesystem::path demo_tokenizer();
