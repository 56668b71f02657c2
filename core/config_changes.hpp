// What changed between two configs written by to_toml: the keys whose values differ, for a
// resumed run to refuse or to log.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aha::config {

struct ConfigChange {
  std::string key;     // "optim.lr", "reward.1.weight"
  std::string before;  // the value as TOML, empty when the key is new
  std::string after;   // empty when the key is gone
};

// Throws ConfigError when either text is not TOML.
std::vector<ConfigChange> config_changes(std::string_view before, std::string_view after);

}  // namespace aha::config
