// Serving completions and weight updates with one model.
#include "rollout/completion_engine.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <random>

#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "rollout/completion_wire.hpp"
#include "rollout/worker_pool.hpp"

namespace aha::rollout {

CompletionEngine::CompletionEngine(policy::CausalLM model, policy::Tokenizer tokenizer, std::string model_name,
                                   EngineSettings settings)
    : model_(std::move(model)),
      tokenizer_(std::move(tokenizer)),
      model_name_(std::move(model_name)),
      settings_(std::move(settings)) {
  if (!tokenizer_.eos_id()) throw Error(fmt::format("{}: tokenizer_config.json names no eos_token", model_name_));
  model_->eval();
  model_->limit_vocabulary(tokenizer_.vocab_size());  // padded embedding rows are never sampled
}

CompletionResponse CompletionEngine::complete(const CompletionRequest& request) {
  if (request.weight_version && *request.weight_version != version_)
    throw ApiError(409, fmt::format("this worker holds weight version {}, the request asks for {}", version_.load(),
                                    *request.weight_version));
  std::vector<std::vector<int64_t>> prompts = request.prompt_ids;
  for (const auto& text : request.prompt_texts) prompts.push_back(tokenizer_.encode(text));
  const int64_t vocabulary = model_->config().vocab_size, context = model_->config().max_position_embeddings;
  int64_t work = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const auto& prompt = prompts[i];
    if (prompt.empty()) throw ApiError(400, "\"prompt\": a prompt encodes to no tokens");
    for (const int64_t id : prompt)
      if (id < 0 || id >= vocabulary)
        throw ApiError(400, fmt::format("\"prompt\": token id {} is outside the vocabulary of {}", id, vocabulary));
    const int64_t length = static_cast<int64_t>(prompt.size()) + request.max_tokens;
    if (context > 0 && length > context)
      throw ApiError(400, fmt::format("\"prompt\" {}: {} tokens and max_tokens {} pass the model's context of {} "
                                      "tokens",
                                      i, prompt.size(), request.max_tokens, context));
    work += length * request.n;
  }
  if (work > settings_.max_request_tokens)
    throw ApiError(400, fmt::format("the request asks for {} tokens of work (n x (prompt + max_tokens), summed over "
                                    "prompts), above this worker's limit of {}; split it",
                                    work, settings_.max_request_tokens));
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
    folder = settings_.scratch / "incoming";
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    std::filesystem::copy_file(file_or_folder, folder / "model.safetensors");
  }
  const auto tensors = policy::CheckpointTensors::open(folder);
  for (const auto& name : tensors.names()) {
    const at::Tensor t = tensors.tensor(name);
    if (t.is_floating_point() && !at::isfinite(t).all().item<bool>())
      throw ApiError(400, fmt::format("tensor {} holds NaN or infinite values; the update is refused", name));
  }
  policy::load_weights(*model_, tensors, folder.string());
  version_ = version;
}

std::filesystem::path CompletionEngine::checkpoint_in_weights_dir(const std::string& path) const {
  if (!settings_.weights_dir)
    throw ApiError(403, "this worker takes weights in request bodies only; start it with --weights-dir FOLDER to "
                        "load checkpoints from that folder");
  std::error_code ec;
  const auto root = std::filesystem::weakly_canonical(*settings_.weights_dir, ec);
  const auto target = std::filesystem::weakly_canonical(path, ec);
  const auto inside = target.lexically_relative(root);
  if (ec || inside.empty() || *inside.begin() == ".." || inside == ".")
    throw ApiError(403, fmt::format("{}: outside this worker's weights folder", path));
  if (!std::filesystem::exists(target)) throw ApiError(400, fmt::format("{}: no such checkpoint", path));
  return target;
}

RolloutHandlers CompletionEngine::handlers() {
  RolloutHandlers h;
  h.health = [this] {
    return nlohmann::json{{"status", "ok"}, {"model", model_name_}, {"weight_version", version_.load()}};
  };
  h.complete = [this](const std::string& body) {
    const CompletionRequest request = parse_completion_request(body);
    int64_t prompt_tokens = 0;
    for (const auto& p : request.prompt_ids) prompt_tokens += static_cast<int64_t>(p.size());
    try {
      return to_json(complete(request), model_name_, prompt_tokens);
    } catch (const c10::Error& e) {
      throw ApiError(500, e.what_without_backtrace());
    }
  };
  h.update_weights = [this](const WeightUpdate& update) {
    std::optional<int64_t> version = update.version;
    std::filesystem::path source;
    if (update.body_file) {
      source = *update.body_file;
    } else {
      const auto j = nlohmann::json::parse(update.json, nullptr, false);
      if (!j.is_object() || !j.contains("path") || !j["path"].is_string())
        throw ApiError(400, "a JSON weight update is {\"path\": \"checkpoint folder\", \"version\": N}");
      if (j.contains("version")) {
        if (!j["version"].is_number_integer()) throw ApiError(400, "\"version\" must be an integer");
        version = j["version"].get<int64_t>();
      }
      source = checkpoint_in_weights_dir(j["path"].get<std::string>());
    }
    if (!version) throw ApiError(400, "a weight update needs its version (X-Weight-Version header or \"version\")");
    if (*version < 0) throw ApiError(400, fmt::format("weight version {}: versions count updates from 0", *version));
    if (*version < version_)
      throw ApiError(409, fmt::format("this worker holds weight version {}; an update to {} would go back",
                                      version_.load(), *version));
    try {
      load_weights(source, *version);
    } catch (const Error& e) {
      throw ApiError(400, e.what());
    } catch (const c10::Error& e) {
      throw ApiError(400, e.what_without_backtrace());
    }
    return nlohmann::json{{"weight_version", version_.load()}};
  };
  return h;
}

}  // namespace aha::rollout
