// Loading the model a [model] section names onto the device it asks for; shared by `aha train`
// and `aha sft`.
#pragma once

#include <c10/core/Device.h>

#include <string>

#include "policy/model_section.hpp"
#include "policy/transformer.hpp"

namespace aha::rl {

// cuda when asked for, or (auto) when a GPU is visible; else cpu. Throws aha::Error when cuda is
// asked for and none is visible.
at::Device training_device(policy::DeviceChoice choice);

// The checkpoint at `path` in the section's dtype, on `device`.
policy::CausalLM load_model(const std::string& path, const policy::ModelSection& section, const at::Device& device);

}  // namespace aha::rl
