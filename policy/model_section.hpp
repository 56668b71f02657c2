// The [model] section: which checkpoint the policy starts from and how it is held in memory.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config_binder.hpp"

namespace aha::policy {

enum class DType { float32, bfloat16 };
enum class DeviceChoice { automatic, cpu, cuda };

inline constexpr std::array<std::pair<DType, std::string_view>, 2> dtype_names{
    {{DType::float32, "float32"}, {DType::bfloat16, "bfloat16"}}};
inline constexpr std::array<std::pair<DeviceChoice, std::string_view>, 3> device_names{
    {{DeviceChoice::automatic, "auto"}, {DeviceChoice::cpu, "cpu"}, {DeviceChoice::cuda, "cuda"}}};

struct ModelSection {
  std::string path;       // Hugging Face model folder the policy starts from
  std::string reference;  // frozen KL reference; empty: the starting policy
  DType dtype = DType::float32;
  DeviceChoice device = DeviceChoice::automatic;
  std::vector<std::string> freeze;  // parameter-name patterns kept frozen
  bool batch_invariant = true;      // CPU kernels whose rows do not depend on the batch
};

inline constexpr std::string_view model_section_doc =
    "The policy checkpoint and how it is held. A checkpoint is a Hugging Face model folder: "
    "config.json, *.safetensors, tokenizer.json.";

void bind(config::Binder& b, ModelSection& s);
// The same keys without `reference`, for training that has no KL term and samples nothing it
// trains on (aha sft): batch_invariant defaults to false there.
void bind_without_reference(config::Binder& b, ModelSection& s);

}  // namespace aha::policy
