// Reading the [[reward]] entries of a TOML file, which may be a whole experiment config: the other
// sections are not read here (`aha config check` validates them).
#pragma once

#include <filesystem>
#include <vector>

#include "rewards/reward_spec.hpp"

namespace aha::rewards {

// Throws ConfigError listing every problem in the [[reward]] entries (with file:line:column), or
// when there is none.
std::vector<RewardSpec> read_reward_specs(const std::filesystem::path& path);

}  // namespace aha::rewards
