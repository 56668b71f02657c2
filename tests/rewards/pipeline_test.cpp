// The pipeline: entries from TOML, weights, per-rule scores, failures counted, batches in order.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "core/error.hpp"
#include "rewards/reward_config.hpp"
#include "rewards/reward_json.hpp"
#include "rewards/reward_pipeline.hpp"

using namespace aha::rewards;

namespace {

std::filesystem::path write_config(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("a whole experiment config gives its [[reward]] entries") {
  const auto path = write_config("experiment.toml",
                                 "[model]\npath = \"m\"\n[[reward]]\nrule = \"math\"\n[[reward]]\nrule = \"format\"\n"
                                 "weight = 0.2\n[[reward]]\nrule = \"regex\"\nname = \"boxed\"\npattern = 'boxed'\n");
  const auto specs = read_reward_specs(path);
  REQUIRE(specs.size() == 3);
  CHECK(specs[1].name == "format");
  CHECK(specs[1].weight == 0.2);
  CHECK(specs[2].name == "boxed");
}

TEST_CASE("reward config problems name the file, line and key") {
  const auto path =
      write_config("bad.toml", "[[reward]]\nrule = \"math\"\ntimeout = 3\n[[reward]]\nrule = \"maths\"\n");
  CHECK_THROWS_WITH(read_reward_specs(path),
                    Catch::Contains(":3:1: unknown key 'timeout' in [reward[0]]") && Catch::Contains("maths"));
  CHECK_THROWS_AS(read_reward_specs(write_config("none.toml", "[model]\npath = \"m\"\n")), aha::ConfigError);
  const auto bad_regex = write_config("regex.toml", "[[reward]]\nrule = \"regex\"\npattern = \"(\"\n");
  CHECK_THROWS_WITH(RewardPipeline(read_reward_specs(bad_regex)), Catch::Contains("does not compile"));
}

TEST_CASE("the total is the weighted sum; each rule's score and the flags are kept") {
  RewardSpec math{"math", 1.0, 0.0, MathKeys{}};
  RewardSpec format{"format", 0.5, 0.0, FormatKeys{}};
  RewardSpec reflection{"reflection", 1.0, 0.0, ReflectionKeys{default_reflection_phrases(), true}};
  const RewardPipeline pipeline({math, format, reflection}, 2);
  CompletionRecord record;
  record.completion = "<think>wait, 2+2=4</think> <answer>4</answer>";
  record.answer.emplace("4");
  const ScoreRecord score = pipeline.score(record);
  CHECK(score.total == 1.5);
  REQUIRE(score.rules.size() == 3);
  CHECK(score.rules[0].score == 1.0);
  CHECK(score.rules[1].score == 1.0);
  CHECK(score.rules[2].score == 0.0);
  CHECK(score.flags.size() == 7);
  CHECK(score.flags[0].name == "answer_found");
}

TEST_CASE("a failing rule gives failure_score and is counted; the others still score") {
  RewardSpec math{"math", 1.0, -0.25, MathKeys{}};
  RewardSpec format{"format", 1.0, 0.0, FormatKeys{}};
  const RewardPipeline pipeline({math, format}, 2);
  CompletionRecord no_answer;
  no_answer.completion = "<think>x</think><answer>4</answer>";
  const ScoreRecord score = pipeline.score(no_answer);
  CHECK(score.rules[0].score == -0.25);
  REQUIRE(score.rules[0].error);
  CHECK_THAT(*score.rules[0].error, Catch::Contains("\"answer\" field"));
  CHECK(score.rules[1].score == 1.0);
  CHECK(score.total == 0.75);
  CHECK(pipeline.error_counts() == std::vector<std::int64_t>{1, 0});
}

TEST_CASE("a batch is scored concurrently and comes back in order") {
  RewardSpec math{"math", 1.0, 0.0, MathKeys{}};
  const RewardPipeline pipeline({math}, 4);
  std::vector<CompletionRecord> batch(200);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].completion = "<answer>" + std::to_string(i) + "</answer>";
    batch[i].answer = std::to_string(i % 2 ? i : i + 1);
  }
  const auto scores = pipeline.score_batch(batch);
  REQUIRE(scores.size() == batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) CHECK(scores[i].total == (i % 2 ? 1.0 : 0.0));
}

TEST_CASE("a score survives its JSON form: rules, flags with their types, errors") {
  const auto path = write_config("roundtrip.toml",
                                 "[[reward]]\nrule = \"math\"\n[[reward]]\nrule = \"format\"\nweight = 0.5\n"
                                 "[[reward]]\nrule = \"reflection\"\n[[reward]]\nrule = \"length\"\nmax_tokens = 64\n"
                                 "buffer_tokens = 16\n");
  const RewardPipeline pipeline(read_reward_specs(path));
  CompletionRecord record;
  record.completion = "<think> 48 / 2 = 24. Wait, let me re-check: 48 + 24 = 72 </think> <answer> 72 </answer>";
  record.answer = "#### 72";
  record.completion_tokens = 60;
  ScoreRecord score = pipeline.score_batch({record}).front();
  score.rules.back().error = "timed out";
  const ScoreRecord back = score_from_json(nlohmann::ordered_json::parse(score_to_json(score).dump()));
  CHECK(back.total == score.total);
  REQUIRE(back.rules.size() == score.rules.size());
  for (std::size_t i = 0; i < score.rules.size(); ++i) {
    CHECK(back.rules[i].name == score.rules[i].name);
    CHECK(back.rules[i].score == score.rules[i].score);
    CHECK(back.rules[i].error == score.rules[i].error);
  }
  REQUIRE(back.flags.size() == score.flags.size());
  for (std::size_t i = 0; i < score.flags.size(); ++i) {
    INFO(score.flags[i].name);
    CHECK(back.flags[i].name == score.flags[i].name);
    CHECK(back.flags[i].value == score.flags[i].value);
  }
}
