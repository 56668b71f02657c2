// Saving and restoring a run: model folder, optimizer archive, RNG state and trainer_state.json.
#include "rl/run_checkpoint.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/serialize.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "policy/safetensors.hpp"

namespace aha::rl {

namespace {

std::vector<std::pair<int64_t, std::filesystem::path>> checkpoints_in(const std::filesystem::path& dir) {
  std::vector<std::pair<int64_t, std::filesystem::path>> out;
  const std::regex name("checkpoint-([0-9]+)");
  std::smatch match;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(file, match, name)) out.emplace_back(std::stoll(match[1]), entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void write_atomically(const std::filesystem::path& path, const std::string& text) {
  const auto temporary = std::filesystem::path(path.string() + ".tmp");
  std::ofstream(temporary, std::ios::trunc) << text;
  std::filesystem::rename(temporary, path);
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
  archive.save_to((staging / "optimizer.pt").string());
  policy::write_safetensors(staging / "rng.safetensors", {{"sampling", sampling_rng.get_state()}});
  const nlohmann::json trainer{{"step", state.step},
                               {"cursor",
                                {{"epoch", state.cursor.epoch},
                                 {"position", state.cursor.position},
                                 {"order", state.cursor.order},
                                 {"pass_rates", state.cursor.pass_rates}}}};
  std::ofstream(staging / "trainer_state.json") << trainer.dump(1) << "\n";

  std::filesystem::remove_all(final_dir);
  std::filesystem::rename(staging, final_dir);
  write_atomically(output_dir / "latest", name + "\n");
  const auto all = checkpoints_in(output_dir);
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep_last) < all.size(); ++i) std::filesystem::remove_all(all[i].second);
}

std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& output_dir) {
  std::ifstream in(output_dir / "latest");
  std::string name;
  if (!(in >> name)) return std::nullopt;
  const auto dir = output_dir / name;
  if (!std::filesystem::exists(dir / "trainer_state.json"))
    throw Error(fmt::format("{}: names {}, which is not a complete checkpoint", (output_dir / "latest").string(), name));
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
  return latest;
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
  return state;
}

}  // namespace aha::rl
