// Saving and restoring a run: model folder, optimizer archive, RNG state and trainer_state.json.
#include "rl/run_checkpoint.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/serialize.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "core/config_changes.hpp"
#include "core/durable_file.hpp"
#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "policy/safetensors.hpp"

namespace aha::rl {

namespace {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::pair<int64_t, std::filesystem::path>> checkpoints_in(const std::filesystem::path& dir) {
  std::vector<std::pair<int64_t, std::filesystem::path>> out;
  const std::regex name("checkpoint-([0-9]+)");
  std::smatch match;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(file, match, name))
      out.emplace_back(std::stoll(match[1]), entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void save_run_checkpoint(const std::filesystem::path& output_dir, policy::CausalLMImpl& model,
                         torch::optim::Optimizer& optimizer, at::Generator& sampling_rng, const TrainerState& state,
                         const std::filesystem::path& tokenizer_from, int keep_last) {
  const std::string name = fmt::format("checkpoint-{}", state.step);
  const auto final_dir = output_dir / name, staging = output_dir / (name + ".saving");
  std::filesystem::remove_all(staging);
  std::filesystem::create_directories(staging);
  policy::write_model_files(model, staging, tokenizer_from);

  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  {
    // LibTorch's own file writer aborts the process when a write fails (its destructor throws);
    // it writes through this function instead, which keeps the first failure for after.
    DurableFile file(staging / "optimizer.pt");
    std::optional<std::string> failure;
    archive.save_to([&](const void* data, std::size_t bytes) -> std::size_t {
      if (!failure) {
        try {
          file.write(data, bytes);
        } catch (const Error& e) {
          failure = e.what();
        }
      }
      return bytes;
    });
    if (failure) throw Error(*failure);
    file.commit();
  }
  policy::write_safetensors(staging / "rng.safetensors", {{"sampling", sampling_rng.get_state()}});
  const nlohmann::json trainer{{"step", state.step},
                               {"cursor",
                                {{"epoch", state.cursor.epoch},
                                 {"position", state.cursor.position},
                                 {"order", state.cursor.order},
                                 {"pass_rates", state.cursor.pass_rates}}}};
  write_file_durably(staging / "trainer_state.json", trainer.dump(1) + "\n");
  if (!state.sampled_ahead.empty()) write_file_durably(staging / "sampled_ahead.json", state.sampled_ahead);

  // Published only once every byte is on the disk: the folder by its rename, then `latest`.
  sync_path(staging);
  std::filesystem::remove_all(final_dir);
  std::filesystem::rename(staging, final_dir);
  sync_path(output_dir);
  write_file_durably(output_dir / "latest", name + "\n");
  const auto all = checkpoints_in(output_dir);
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep_last) < all.size(); ++i)
    std::filesystem::remove_all(all[i].second);
}

std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& output_dir) {
  std::ifstream in(output_dir / "latest");
  std::string name;
  if (!(in >> name)) return std::nullopt;
  const auto dir = output_dir / name;
  if (!std::filesystem::exists(dir / "trainer_state.json"))
    throw Error(
        fmt::format("{}: names {}, which is not a complete checkpoint", (output_dir / "latest").string(), name));
  return dir;
}

std::optional<std::filesystem::path> checkpoint_to_resume(const std::filesystem::path& output_dir, bool resume,
                                                          const std::string& output_key) {
  const auto latest = std::filesystem::exists(output_dir) ? latest_checkpoint(output_dir) : std::nullopt;
  if (resume && !latest)
    throw Error(fmt::format("--resume: {} holds no checkpoint to resume from", output_dir.string()));
  if (!resume && latest)
    throw Error(fmt::format("{} already holds a run (checkpoint {}): pass --resume to continue it, or choose "
                            "another {}",
                            output_dir.string(), latest->filename().string(), output_key));
  std::error_code ec;
  if (!resume && std::filesystem::file_size(output_dir / "metrics.jsonl", ec) > 0 && !ec)
    throw Error(fmt::format("{} already holds a run's metrics.jsonl but no checkpoint to resume from: choose another "
                            "{}, or delete the folder to start over",
                            output_dir.string(), output_key));
  return latest;
}

void check_resumed_config(const std::filesystem::path& output_dir, const std::string& config_toml, bool allow_changes) {
  const auto file = output_dir / "config.toml";
  if (!std::filesystem::exists(file)) return;
  static const std::set<std::string> free_keys{
      "train.steps",          "train.save_every",          "train.eval_every",
      "train.threads",        "train.output_dir",          "rollout.endpoints",
      "rollout.token_file",   "rollout.request_timeout_s", "rollout.weights_folder",
      "rollout.weights_route"};
  std::vector<std::string> refused;
  for (const auto& change : config::config_changes(read_text_file(file), config_toml)) {
    const std::string line = fmt::format("{}: {} -> {}", change.key, change.before.empty() ? "(unset)" : change.before,
                                         change.after.empty() ? "(unset)" : change.after);
    if (free_keys.contains(change.key) || change.key.starts_with("log.")) continue;
    if (!allow_changes) refused.push_back(line);
    else std::cerr << "resuming with a changed setting: " << line << "\n";
  }
  if (!refused.empty()) {
    std::string list;
    for (const auto& line : refused) list += "\n  " + line;
    throw Error(fmt::format("--resume: the settings differ from the run's {}:{}\nput them back, or pass --override to "
                            "continue with them",
                            file.string(), list));
  }
}

std::string recovery_hint(const std::filesystem::path& output_dir, const std::string& model_path) {
  const auto last = latest_checkpoint(output_dir);
  return last ? fmt::format("resume from {} (--resume) with a lower optim.lr", last->string())
              : fmt::format("no checkpoint was written yet; check {} and optim.lr", model_path);
}

TrainerState load_run_checkpoint(const std::filesystem::path& checkpoint, policy::CausalLMImpl& model,
                                 torch::optim::Optimizer& optimizer, at::Generator& sampling_rng) {
  policy::load_weights(model, policy::CheckpointTensors::open(checkpoint), checkpoint.string());
  torch::serialize::InputArchive archive;
  archive.load_from((checkpoint / "optimizer.pt").string());
  optimizer.load(archive);
  sampling_rng.set_state(policy::SafetensorsFile::open(checkpoint / "rng.safetensors").tensor("sampling").clone());
  TrainerState state;
  try {
    const auto j = nlohmann::json::parse(std::ifstream(checkpoint / "trainer_state.json"));
    state.step = j.at("step").get<int64_t>();
    const auto& c = j.at("cursor");
    state.cursor = {c.at("epoch").get<int64_t>(), c.at("position").get<int64_t>(),
                    c.at("order").get<std::vector<std::size_t>>(), c.at("pass_rates").get<std::vector<double>>()};
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: malformed trainer_state.json: {}", checkpoint.string(), e.what()));
  }
  if (std::ifstream ahead(checkpoint / "sampled_ahead.json"); ahead) {
    std::ostringstream text;
    text << ahead.rdbuf();
    state.sampled_ahead = text.str();
  }
  return state;
}

}  // namespace aha::rl
