// Reading [[reward]] entries through the config reader.
#include "rewards/reward_config.hpp"

#include <sstream>

#include "core/config_reader.hpp"
#include "core/error.hpp"

namespace aha::rewards {

std::vector<RewardSpec> read_reward_specs(const std::filesystem::path& path) {
  auto reader = config::ConfigReader::from_file(path);
  std::vector<RewardSpec> specs;
  reader.table_array<RewardSpec>("reward", reward_section_doc, specs,
                                 [](config::Binder& b, RewardSpec& s) { bind(b, s); });
  if (specs.empty())
    reader.add_problem("reward", "no [[reward]] entries: add at least one, e.g. [[reward]] with rule = \"math\"");
  for (auto& problem : check(specs)) reader.add_problem("reward", std::move(problem));
  try {
    reader.finish();
  } catch (const ConfigError& e) {
    // The experiment's other sections are someone else's to check: keep only the problems that
    // are not "unknown section".
    std::istringstream lines(e.what());
    std::string kept;
    for (std::string line; std::getline(lines, line);)
      if (line.find(": unknown section [") == std::string::npos &&
          line.find("is outside any section") == std::string::npos)
        kept += (kept.empty() ? "" : "\n") + line;
    if (!kept.empty()) throw ConfigError(kept);
  }
  return specs;
}

}  // namespace aha::rewards
