// Serving completions and weight updates with one model.
#include "rollout/completion_engine.hpp"

#include <fmt/format.h>

#include <fstream>
#include <random>

#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "rollout/completion_wire.hpp"
#include "rollout/worker_pool.hpp"

namespace aha::rollout {

CompletionEngine::CompletionEngine(policy::CausalLM model, policy::Tokenizer tokenizer, std::string model_name,
                                   std::filesystem::path scratch)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), model_name_(std::move(model_name)),
      scratch_(std::move(scratch)) {
  if (!tokenizer_.eos_id()) throw Error(fmt::format("{}: tokenizer_config.json names no eos_token", model_name_));
  model_->eval();
  model_->limit_vocabulary(tokenizer_.vocab_size());  // padded embedding rows are never sampled
}

CompletionResponse CompletionEngine::complete(const CompletionRequest& request) {
  if (request.weight_version && *request.weight_version != version_)
    throw ApiError(409, fmt::format("this worker holds weight version {}, the request asks for {}", version_,
                                    *request.weight_version));
  std::vector<std::vector<int64_t>> prompts = request.prompt_ids;
  for (const auto& text : request.prompt_texts) prompts.push_back(tokenizer_.encode(text));
  const int64_t vocabulary = model_->config().vocab_size;
  for (const auto& prompt : prompts) {
    if (prompt.empty()) throw ApiError(400, "\"prompt\": a prompt encodes to no tokens");
    for (const int64_t id : prompt)
      if (id >= vocabulary) throw ApiError(400, fmt::format("\"prompt\": token id {} is outside the vocabulary of {}", id, vocabulary));
  }
  GenerationSettings settings;
  settings.sampling = {request.temperature, request.top_k, request.top_p, request.min_p};
  settings.max_new_tokens = request.max_tokens;
  settings.eos_ids = {*tokenizer_.eos_id()};
  settings.pad_id = tokenizer_.pad_id().value_or(*tokenizer_.eos_id());
  settings.stop = request.stop;
  settings.record_routing = request.return_routing;
  const uint64_t seed = request.seed ? *request.seed : std::random_device{}();
  at::Generator generator = seeded_generator(model_->lm_head_weight().device(), seed);
  const auto completions = generate(*model_, prompts, request.n, settings, generator,
                                    [this](std::span<const int64_t> ids) { return tokenizer_.decode(ids); });
  CompletionResponse response;
  response.weight_version = version_;
  for (const Completion& c : completions) {
    std::span<const int64_t> visible(c.tokens);
    if (!visible.empty() && visible.back() == *tokenizer_.eos_id()) visible = visible.first(visible.size() - 1);
    response.choices.push_back(to_choice(c, tokenizer_.decode(visible)));
  }
  return response;
}

void CompletionEngine::load_weights(const std::filesystem::path& file_or_folder, int64_t version) {
  std::filesystem::path folder = file_or_folder;
  if (!std::filesystem::is_directory(file_or_folder)) {  // a lone safetensors file: give it a folder
    folder = scratch_ / "incoming";
    std::filesystem::create_directories(folder);
    if (file_or_folder != folder / "model.safetensors") std::filesystem::copy_file(file_or_folder, folder / "model.safetensors", std::filesystem::copy_options::overwrite_existing);
  }
  policy::load_weights(*model_, policy::CheckpointTensors::open(folder), folder.string());
  version_ = version;
}

RolloutHandlers CompletionEngine::handlers() {
  RolloutHandlers h;
  h.health = [this] { return nlohmann::json{{"status", "ok"}, {"model", model_name_}, {"weight_version", version_}}; };
  h.complete = [this](const std::string& body) {
    const CompletionRequest request = parse_completion_request(body);
    int64_t prompt_tokens = 0;
    for (const auto& p : request.prompt_ids) prompt_tokens += static_cast<int64_t>(p.size());
    return to_json(complete(request), model_name_, prompt_tokens);
  };
  h.update_weights = [this](const std::string& body, bool is_json, std::optional<int64_t> version) {
    std::filesystem::path source;
    if (is_json) {
      const auto j = nlohmann::json::parse(body, nullptr, false);
      if (!j.is_object() || !j.contains("path") || !j["path"].is_string())
        throw ApiError(400, "a JSON weight update is {\"path\": \"checkpoint folder\", \"version\": N}");
      source = j["path"].get<std::string>();
      if (j.contains("version") && j["version"].is_number_integer()) version = j["version"].get<int64_t>();
      if (!std::filesystem::exists(source)) throw ApiError(400, fmt::format("{}: no such checkpoint", source.string()));
    } else {
      std::filesystem::create_directories(scratch_ / "incoming");
      source = scratch_ / "incoming" / "model.safetensors";
      std::ofstream(source, std::ios::binary | std::ios::trunc).write(body.data(), static_cast<std::streamsize>(body.size()));
    }
    if (!version) throw ApiError(400, "a weight update needs its version (X-Weight-Version header or \"version\")");
    try {
      load_weights(source, *version);
    } catch (const Error& e) {
      throw ApiError(400, e.what());
    }
    return nlohmann::json{{"weight_version", version_}};
  };
  return h;
}

}  // namespace aha::rollout
