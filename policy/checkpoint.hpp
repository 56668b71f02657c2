// Hugging Face model folders: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json. Loading is a name lookup with a shape check for every parameter
// and buffer; saving writes a folder that transformers and vLLM load.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "policy/safetensors.hpp"
#include "policy/transformer.hpp"

namespace aha::policy {

// Every tensor of a checkpoint folder, by name, across shards.
class CheckpointTensors {
 public:
  static CheckpointTensors open(const std::filesystem::path& dir);
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return shard_of_.contains(name); }
  at::Tensor tensor(const std::string& name) const;  // read-only CPU view

 private:
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, std::size_t> shard_of_;
};

// Builds the model of DIR/config.json and loads its weights in `dtype`. Throws aha::Error naming
// each missing, unexpected or mis-shaped tensor.
CausalLM load_causal_lm(const std::filesystem::path& dir, at::ScalarType dtype = at::kFloat);

// Copies the checkpoint's tensors into the model's parameters and buffers.
void load_weights(CausalLMImpl& model, const CheckpointTensors& tensors, const std::string& source);

// Writes config.json and model.safetensors into the existing folder DIR, and copies the
// tokenizer files found in `tokenizer_from`.
void write_model_files(CausalLMImpl& model, const std::filesystem::path& dir,
                       const std::filesystem::path& tokenizer_from = {});

// The same into DIR, replaced atomically: the folder is written beside it and renamed.
void save_causal_lm(CausalLMImpl& model, const std::filesystem::path& dir,
                    const std::filesystem::path& tokenizer_from = {});

}  // namespace aha::policy
