// Checkpoint folders: sharded reading, strict loading, atomic saving.
#include "policy/checkpoint.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/durable_file.hpp"
#include "core/error.hpp"

namespace aha::policy {

namespace {

std::string list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 8; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 8) out += fmt::format(" and {} more", names.size() - 8);
  return out;
}

std::map<std::string, at::Tensor> model_tensors(CausalLMImpl& model) {
  std::map<std::string, at::Tensor> all;
  for (const auto& item : model.named_parameters(true)) all[item.key()] = item.value();
  for (const auto& item : model.named_buffers(true)) all[item.key()] = item.value();
  return all;
}

}  // namespace

CheckpointTensors CheckpointTensors::open(const std::filesystem::path& dir) {
  CheckpointTensors out;
  const auto index = dir / "model.safetensors.index.json";
  const auto single = dir / "model.safetensors";
  std::vector<std::filesystem::path> files;
  std::map<std::string, std::string> weight_map;
  if (std::filesystem::exists(index)) {
    std::ifstream in(index);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
      weight_map = j.at("weight_map").get<std::map<std::string, std::string>>();
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}: malformed index: {}", index.string(), e.what()));
    }
    std::set<std::string> shard_names;
    for (const auto& [name, shard] : weight_map) shard_names.insert(shard);
    for (const auto& shard : shard_names) {
      // A shard is a file of this folder: a path or a link out of it would read what it names.
      const auto path = dir / shard;
      std::error_code ec;
      const auto inside =
          std::filesystem::weakly_canonical(path, ec).lexically_relative(std::filesystem::weakly_canonical(dir, ec));
      if (ec || shard.find('/') != std::string::npos || inside.empty() || *inside.begin() == "..")
        throw Error(fmt::format("{}: shard \"{}\" is not a file of the model folder", index.string(), shard));
      files.push_back(path);
    }
  } else if (std::filesystem::exists(single)) {
    files.push_back(single);
  } else {
    throw Error(fmt::format("{}: no model.safetensors or model.safetensors.index.json", dir.string()));
  }
  for (const auto& file : files) {
    out.shards_.push_back(SafetensorsFile::open(file));
    for (const auto& name : out.shards_.back().names()) {
      if (!out.shard_of_.emplace(name, out.shards_.size() - 1).second)
        throw Error(fmt::format("{}: tensor \"{}\" appears in two shards", dir.string(), name));
    }
  }
  for (const auto& [name, shard] : weight_map)
    if (!out.shard_of_.contains(name))
      throw Error(fmt::format("{}: the index puts \"{}\" in {}, which does not hold it", index.string(), name, shard));
  return out;
}

std::vector<std::string> CheckpointTensors::names() const {
  std::vector<std::string> out;
  for (const auto& [name, shard] : shard_of_) out.push_back(name);
  return out;
}

at::Tensor CheckpointTensors::tensor(const std::string& name) const {
  const auto it = shard_of_.find(name);
  if (it == shard_of_.end()) throw Error(fmt::format("no tensor named \"{}\" in the checkpoint", name));
  return shards_[it->second].tensor(name);
}

void load_weights(CausalLMImpl& model, const CheckpointTensors& tensors, const std::string& source) {
  const auto targets = model_tensors(model);
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, target] : targets) {
    if (!tensors.contains(name)) {
      missing.push_back(name);
      continue;
    }
    if (tensors.tensor(name).sizes() != target.sizes())
      mismatched.push_back(fmt::format("{} (checkpoint {}, model {})", name,
                                       fmt::join(tensors.tensor(name).sizes(), "x"), fmt::join(target.sizes(), "x")));
  }
  for (const auto& name : tensors.names())
    if (!targets.contains(name) && !(model.config().tie_word_embeddings && name == "lm_head.weight"))
      unexpected.push_back(name);
  std::string problems;
  if (!missing.empty()) problems += fmt::format("\n  missing from the checkpoint: {}", list(missing));
  if (!unexpected.empty()) problems += fmt::format("\n  in the checkpoint but not in the model: {}", list(unexpected));
  if (!mismatched.empty()) problems += fmt::format("\n  shape mismatch: {}", list(mismatched));
  if (!problems.empty())
    throw Error(fmt::format("{}: the checkpoint does not fit model_type \"{}\":{}", source, model.config().model_type,
                            problems));
  torch::NoGradGuard no_grad;
  for (const auto& [name, target] : targets) target.copy_(tensors.tensor(name));
}

CausalLM load_causal_lm(const std::filesystem::path& dir, at::ScalarType dtype) {
  const ModelConfig config = read_model_config(dir);
  const CheckpointTensors tensors = CheckpointTensors::open(dir);
  // Sizes are checked against the weights before the model is built: a config.json that says
  // vocab_size 10^9 would otherwise allocate gigabytes before the mismatch is found.
  const std::string embedding = "model.embed_tokens.weight";
  if (tensors.contains(embedding)) {
    const auto shape = tensors.tensor(embedding).sizes();
    if (shape.size() != 2 || shape[0] != config.vocab_size || shape[1] != config.hidden_size)
      throw Error(fmt::format("{}: config.json says vocab_size {} and hidden_size {}, but {} has shape {}",
                              dir.string(), config.vocab_size, config.hidden_size, embedding, fmt::join(shape, " x ")));
  }
  const std::string last_layer = fmt::format("model.layers.{}.input_layernorm.weight", config.num_layers - 1);
  if (config.num_layers <= 0 || !tensors.contains(last_layer))
    throw Error(fmt::format("{}: config.json says num_hidden_layers {}, which the weights do not hold", dir.string(),
                            config.num_layers));
  CausalLM model(config);
  load_weights(*model, tensors, dir.string());
  model->to(dtype);
  return model;
}

void write_model_files(CausalLMImpl& model, const std::filesystem::path& dir,
                       const std::filesystem::path& tokenizer_from) {
  write_safetensors(dir / "model.safetensors", model_tensors(model));
  write_file_durably(dir / "config.json", model.config().raw.dump(2) + "\n");
  if (tokenizer_from.empty()) return;
  for (const char* file :
       {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json"}) {
    if (!std::filesystem::exists(tokenizer_from / file)) continue;
    std::error_code ec;
    std::filesystem::copy_file(tokenizer_from / file, dir / file, std::filesystem::copy_options::overwrite_existing,
                               ec);
    if (ec) throw_write_error(dir / file, ec.message());
    sync_path(dir / file);
  }
}

void save_causal_lm(CausalLMImpl& model, const std::filesystem::path& dir,
                    const std::filesystem::path& tokenizer_from) {
  const auto staging = std::filesystem::path(dir.string() + ".saving");
  std::filesystem::remove_all(staging);
  std::filesystem::create_directories(staging);
  write_model_files(model, staging, tokenizer_from);
  const auto previous = std::filesystem::path(dir.string() + ".previous");
  std::filesystem::remove_all(previous);
  if (std::filesystem::exists(dir)) std::filesystem::rename(dir, previous);
  sync_path(staging);
  std::filesystem::rename(staging, dir);
  sync_path(dir.parent_path().empty() ? "." : dir.parent_path());
  std::filesystem::remove_all(previous);
}

}  // namespace aha::policy
