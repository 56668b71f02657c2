// `aha reward --config FILE.toml --input FILE.jsonl` scores completions with the config's
// [[reward]] entries and prints one JSON line per input line, in order:
// {"total": x, "rules": {"name": score, ...}, "flags": {...}}. A malformed line gives
// {"error": "line N: ..."} (also on stderr) and exit status 1 after every other line is scored.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "rewards/reward_config.hpp"
#include "rewards/reward_json.hpp"
#include "rewards/reward_pipeline.hpp"

namespace aha::cli {

namespace {

struct RewardOptions {
  std::string config;
  std::string input;
  unsigned threads = 0;
};

constexpr auto replace_invalid = nlohmann::json::error_handler_t::replace;  // invalid UTF-8 in a message

int run_reward(const RewardOptions& options) {
  rewards::RewardPipeline pipeline(rewards::read_reward_specs(options.config), options.threads);
  std::ifstream file;
  if (options.input != "-") {
    file.open(options.input);
    if (!file)
      throw Error(fmt::format("{}: cannot read the input file; give a JSONL file or - for stdin", options.input));
  }
  std::istream& in = options.input == "-" ? std::cin : file;

  std::vector<rewards::CompletionRecord> records;
  std::vector<std::optional<std::string>> line_errors;  // per output line
  std::vector<std::size_t> record_of_line;
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      records.push_back(rewards::completion_from_json(line));
      record_of_line.push_back(records.size() - 1);
      line_errors.emplace_back();
    } catch (const Error& e) {
      line_errors.push_back(fmt::format("{}:{}: {}", options.input, number, e.what()));
      record_of_line.push_back(0);
    }
  }
  const std::vector<rewards::ScoreRecord> scores = pipeline.score_batch(records);
  bool malformed = false;
  for (std::size_t i = 0; i < line_errors.size(); ++i) {
    if (line_errors[i]) {
      malformed = true;
      std::cerr << "aha: " << *line_errors[i] << "\n";
      std::cout << nlohmann::json{{"error", *line_errors[i]}}.dump(-1, ' ', false, replace_invalid) << "\n";
    } else {
      std::cout << rewards::score_to_json(scores[record_of_line[i]]).dump(-1, ' ', false, replace_invalid) << "\n";
    }
  }
  const auto errors = pipeline.error_counts();
  for (std::size_t i = 0; i < errors.size(); ++i)
    if (errors[i] > 0)
      std::cerr << fmt::format("aha: reward \"{}\" failed on {} of {} completions and scored its failure_score "
                               "there (see \"errors\" in those lines)\n",
                               pipeline.specs()[i].name, errors[i], records.size());
  return malformed ? 1 : 0;
}

}  // namespace

void add_reward_command(CLI::App& app, Action& chosen) {
  auto options = std::make_shared<RewardOptions>();
  auto* reward = app.add_subcommand("reward", "Score completions from a JSONL file with the config's [[reward]] rules");
  reward
      ->add_option("--config", options->config, "TOML file with [[reward]] entries (a whole experiment config is fine)")
      ->required();
  reward
      ->add_option("--input", options->input,
                   "JSONL, one {\"completion\", \"answer\"?, \"tests\"?, \"entry_point\"?, \"language\"?} per line; "
                   "- for stdin")
      ->required();
  reward->add_option("--threads", options->threads, "scoring threads; 0: one per core");
  reward->callback([&chosen, options] { chosen = [options] { return run_reward(*options); }; });
}

}  // namespace aha::cli
