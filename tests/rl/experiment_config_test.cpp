// The experiment config end to end: every shipped config validates, a wide set of bad configs is
// rejected with a message that says what and where, the resolved form round-trips, and
// docs/config.md carries the generated reference of every key.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "rl/experiment_config.hpp"
#include "rl/pretrain_config.hpp"
#include "rl/sft_config.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using aha::rl::parse_experiment;

namespace {

const std::string minimal = R"([model]
path = "m"
[data]
train = "t.jsonl"
[[reward]]
rule = "math"
)";

std::string error_of(const std::string& text, std::vector<std::string> overrides = {}) {
  try {
    parse_experiment(text, "exp.toml", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("every config in configs/ validates") {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(source_dir() / "configs")) {
    if (entry.path().extension() != ".toml") continue;
    INFO(entry.path());
    CHECK_NOTHROW(rl::load_experiment(entry.path()));
    ++count;
  }
  CHECK(count >= 2);
}

TEST_CASE("a minimal config gets every default") {
  const auto c = parse_experiment(minimal, "exp.toml");
  CHECK(c.model.path == "m");
  CHECK(c.model.dtype == policy::DType::float32);
  CHECK(c.rollout.group_size == 8);
  CHECK(c.rollout.stop == std::vector<std::string>{"</answer>"});
  REQUIRE(c.rewards.size() == 1);
  CHECK(c.rewards[0].name == "math");
  CHECK(std::get<rewards::MathKeys>(c.rewards[0].keys).timeout_ms == 1000);
  CHECK(c.grpo.loss == rl::LossAggregation::dapo);
  CHECK(c.grpo.epsilon_low == 0.2);
  CHECK(c.optim.schedule == rl::Schedule::cosine);
  CHECK(c.train.seed == 0);
}

TEST_CASE("rule keys are read into the rule's own settings") {
  const auto c = parse_experiment(minimal + R"([[reward]]
rule = "code"
name = "tests"
scoring = "all_or_nothing"
timeout_s = 5
[[reward]]
rule = "reflection"
phrases = ["wait", "hmm"]
log_only = false
[[reward]]
rule = "regex"
pattern = "\\d+"
score = 0.25
)",
                                  "exp.toml");
  REQUIRE(c.rewards.size() == 4);
  const auto& code = std::get<rewards::CodeKeys>(c.rewards[1].keys);
  CHECK(code.scoring == rewards::CodeScoring::all_or_nothing);
  CHECK(code.timeout_s == 5.0);
  CHECK(c.rewards[1].name == "tests");
  CHECK(std::get<rewards::ReflectionKeys>(c.rewards[2].keys).phrases == std::vector<std::string>{"wait", "hmm"});
  CHECK(std::get<rewards::RegexKeys>(c.rewards[3].keys).pattern == "\\d+");
  CHECK(std::get<rewards::ReflectionKeys>(
            parse_experiment(minimal + "[[reward]]\nrule = \"reflection\"\n", "e").rewards[1].keys)
            .phrases == rewards::default_reflection_phrases());
}

TEST_CASE("bad config: a misspelt key gets did-you-mean with its position") {
  CHECK_THAT(error_of(minimal + "[rollout]\ngroup_sise = 4\n"),
             Catch::Contains("exp.toml:8:1: unknown key 'group_sise' in [rollout]; did you mean 'group_size'?"));
}

TEST_CASE("bad config: a key in the wrong section points to the right one") {
  CHECK_THAT(error_of(minimal + "[train]\nlr = 0.1\n"),
             Catch::Contains("unknown key 'lr' in [train]; did you mean 'optim.lr'?"));
}

TEST_CASE("bad config: a TRL or veRL key name points to aha's") {
  CHECK_THAT(error_of(minimal + "[optim]\nlearning_rate = 1e-6\n"),
             Catch::Contains("unknown key 'learning_rate' in [optim]; did you mean 'optim.lr'?"));
  CHECK_THAT(error_of(minimal + "[rollout]\nnum_generations = 8\n"),
             Catch::Contains("did you mean 'rollout.group_size'?"));
}

TEST_CASE("bad config: wrong type") {
  CHECK_THAT(error_of(minimal + "[rollout]\ngroup_size = \"8\"\n"),
             Catch::Contains("exp.toml:8:14: rollout.group_size: expected an integer, got a string (\"8\")"));
  CHECK_THAT(error_of(minimal + "[grpo]\nroutimg_replay = 1\n"), Catch::Contains("did you mean 'routing_replay'?"));
  CHECK_THAT(error_of(minimal + "[grpo]\nrouting_replay = 1\n"),
             Catch::Contains("grpo.routing_replay: expected a boolean (true or false), got an integer (1)"));
}

TEST_CASE("bad config: out of range") {
  CHECK_THAT(error_of(minimal + "[rollout]\ngroup_size = 1\n"),
             Catch::Contains("rollout.group_size = 1 is out of range (allowed: 2 to 1024)"));
  CHECK_THAT(error_of(minimal + "[rollout]\ntemperature = 0\n"),
             Catch::Contains("rollout.temperature = 0 is out of range (allowed: (0.0, 100.0])"));
  CHECK_THAT(error_of(minimal + "[grpo]\nepsilon_low = 1.0\n"), Catch::Contains("allowed: [0.0, 1.0)"));
}

TEST_CASE("bad config: duplicate table and TOML syntax") {
  CHECK_THAT(error_of(minimal + "[model]\ndtype = \"float32\"\n"),
             Catch::Contains("exp.toml:7:") && Catch::Contains("TOML syntax error"));
  CHECK_THAT(error_of(minimal + "[optim\nlr = 1\n"),
             Catch::Contains("exp.toml:7:") && Catch::Contains("TOML syntax error"));
}

TEST_CASE("bad config: missing file") {
  CHECK_THROWS_WITH(rl::load_experiment("no/such/config.toml"),
                    Catch::Contains("no/such/config.toml: cannot read the config file: no such file"));
  CHECK_THROWS_AS(rl::load_experiment(source_dir() / "configs"), ConfigError);
}

TEST_CASE("bad config: missing required keys and sections") {
  const std::string message = error_of("[rollout]\ngroup_size = 4\n");
  CHECK_THAT(message, Catch::Contains("[model] is missing the required key 'path'"));
  CHECK_THAT(message, Catch::Contains("[data] is missing the required key 'train'"));
  CHECK_THAT(message, Catch::Contains("no [[reward]] entries"));
}

TEST_CASE("bad config: unknown section, unknown rule, [reward] instead of [[reward]]") {
  CHECK_THAT(error_of(minimal + "[rollot]\n"), Catch::Contains("unknown section [rollot]; did you mean [rollout]?"));
  CHECK_THAT(error_of(minimal + "[[reward]]\nrule = \"maths\"\n"),
             Catch::Contains("reward[1].rule = \"maths\" is not allowed") && Catch::Contains("did you mean \"math\"?"));
  CHECK_THAT(error_of("[model]\npath = \"m\"\n[data]\ntrain = \"t\"\n[reward]\nrule = \"math\"\n"),
             Catch::Contains("'reward' must be written as [[reward]] entries"));
}

TEST_CASE("bad config: a key of another rule") {
  CHECK_THAT(error_of(minimal + "[[reward]]\nrule = \"format\"\npattern = \"x\"\n"),
             Catch::Contains("unknown key 'pattern' in [reward[1]]"));
  CHECK_THAT(error_of(minimal + "[[reward]]\nrule = \"regex\"\n"),
             Catch::Contains("[reward[1]] is missing the required key 'pattern'"));
}

TEST_CASE("bad config: checks across keys") {
  CHECK_THAT(error_of(minimal + "[[reward]]\nrule = \"math\"\n"),
             Catch::Contains("the name \"math\" is used by an earlier"));
  CHECK_THAT(error_of(minimal + "[[reward]]\nrule = \"length\"\nmax_tokens = 100\nbuffer_tokens = 100\n"),
             Catch::Contains("buffer_tokens (100) must be smaller than max_tokens (100)"));
  CHECK_THAT(error_of(minimal + "[data]\n"), Catch::Contains("TOML syntax error"));
  CHECK_THAT(error_of(minimal, {"data.curriculum=field"}), Catch::Contains("needs data.difficulty_key"));
  CHECK_THAT(error_of(minimal, {"data.template=Solve this."}),
             Catch::Contains("must be \"r1_zero\" or a template containing {question}"));
  CHECK_THAT(error_of(minimal + "[[reward]]\nrule = \"regex\"\npattern = \"(unclosed\"\n"),
             Catch::Contains("reward[1]: reward rule \"regex\": pattern") && Catch::Contains("does not compile"));
  CHECK_THAT(error_of(minimal, {"rollout.stop=[\"</answer>\", \"\"]"}),
             Catch::Contains("rollout.stop holds an empty string"));
}

TEST_CASE("bad config: several problems are all reported at once") {
  const std::string message = error_of(minimal + "[rollout]\ngroup_size = 0\ntop_p = 2\n[optim]\nlr = -1\n");
  CHECK_THAT(message,
             Catch::Contains("rollout.group_size") && Catch::Contains("rollout.top_p") && Catch::Contains("optim.lr"));
}

TEST_CASE("overrides: --set changes values with the same validation") {
  const auto c = parse_experiment(minimal, "exp.toml",
                                  std::vector<std::string>{"rollout.group_size=16", "grpo.loss=bnpo",
                                                           "reward.0.weight=2", "model.freeze=[\"lm_head.*\"]"});
  CHECK(c.rollout.group_size == 16);
  CHECK(c.grpo.loss == rl::LossAggregation::bnpo);
  CHECK(c.rewards[0].weight == 2.0);
  CHECK(c.model.freeze == std::vector<std::string>{"lm_head.*"});
  CHECK_THAT(error_of(minimal, {"rollout.group_size=big"}),
             Catch::Contains("--set rollout.group_size=big: rollout.group_size: expected an integer"));
  CHECK_THAT(error_of(minimal, {"optim.learning_rate=1"}), Catch::Contains("--set optim.learning_rate=1: unknown key"));
  CHECK_THROWS_AS(parse_experiment(minimal, "exp.toml", std::vector<std::string>{"group_size=3"}), UsageError);
}

TEST_CASE("the resolved config parses back to itself") {
  for (const auto& name : {"zero-demo.toml", "gsm8k-r1-zero.toml"}) {
    const auto config = rl::load_experiment(source_dir() / "configs" / name);
    const std::string text = rl::to_toml(config);
    CHECK(rl::to_toml(parse_experiment(text, "resolved.toml")) == text);
  }
}

TEST_CASE("docs/config.md holds the generated reference of every key") {
  const std::string docs = read_file(source_dir() / "docs" / "config.md");
  INFO("regenerate it with ./scripts/update-config-docs.sh");
  CHECK_THAT(docs, Catch::Contains(rl::config_reference()));
  CHECK_THAT(docs, Catch::Contains(rl::pretrain_config_reference()));
  CHECK_THAT(docs, Catch::Contains(rl::sft_config_reference()));
}
