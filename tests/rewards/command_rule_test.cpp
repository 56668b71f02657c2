// rule = "command" with real Python scoring programs: numbers and flags come back per record, in
// order; a completion crafted to forge replies stays one record; a bad reply fails its record only; a program that
// hangs or dies fails what it did not answer and is started again; one that cannot start is a config error; a large
// batch cannot deadlock the two pipes; and the pipeline adds it up with the built-in rules.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "rewards/command_rule.hpp"
#include "rewards/reward_pipeline.hpp"

using namespace aha::rewards;

namespace {

const std::filesystem::path work = std::filesystem::temp_directory_path() /
                                   ("aha-command-rule-" + std::to_string(::getpid()));

// A Python scoring program with `body` run for each record `r` (a dict); it prints what `body` returns.
CommandKeys scorer(const std::string& name, const std::string& body, double timeout_s = 20.0) {
  std::filesystem::create_directories(work);
  const auto path = work / (name + ".py");
  std::ofstream(path) << "import json, sys, time\n"
                         "def score(r):\n" +
                             body +
                             "\n"
                             "for line in sys.stdin:\n"
                             "    print(json.dumps(score(json.loads(line))))\n";
  return {{"python3", path.string()}, timeout_s};
}

CompletionRecord record(const std::string& completion, const std::string& answer = "4") {
  CompletionRecord r;
  r.completion = completion;
  r.answer = answer;
  r.prompt = "What is 2 + 2?";
  r.fields = R"({"question": "What is 2 + 2?", "level": 3})";
  return r;
}

double score_of(const BatchOutcome& outcome) { return std::get<RuleOutcome>(outcome).score; }
std::string error_of(const BatchOutcome& outcome) { return std::get<std::string>(outcome); }

}  // namespace

TEST_CASE("a command scores each record of a batch, in order, with the record's fields, and sets flags") {
  const CommandRule rule(scorer("echo", "    if r['completion'] == 'flags':\n"
                                        "        return {'score': 0.5, 'correct': True, 'level': r['level'], "
                                        "'note': r['prompt']}\n"
                                        "    return float(r['completion'] == r['answer'])"));
  const std::vector<CompletionRecord> batch{record("4"), record("5"), record("flags"), record("4", "7")};
  const auto outcomes = rule.score_batch(batch);
  REQUIRE(outcomes.size() == 4);
  CHECK(score_of(outcomes[0]) == 1.0);
  CHECK(score_of(outcomes[1]) == 0.0);
  CHECK(score_of(outcomes[3]) == 0.0);
  const RuleOutcome& flagged = std::get<RuleOutcome>(outcomes[2]);
  CHECK(flagged.score == 0.5);
  REQUIRE(flagged.flags.size() == 3);
  CHECK(flagged.flags[0].name == "correct");
  CHECK(std::get<bool>(flagged.flags[0].value));
  CHECK(std::get<std::int64_t>(flagged.flags[1].value) == 3);
  CHECK(std::get<std::string>(flagged.flags[2].value) == "What is 2 + 2?");
  CHECK(rule.score(record("4")).score == 1.0);  // the same program, still running
}

TEST_CASE("a reply the rule cannot read fails its record only, naming what came back") {
  const CommandRule rule(scorer("bad-replies", "    return {'x': 1} if r['completion'] == 'bad' else 2.0"));
  const auto outcomes = rule.score_batch(std::vector{record("bad"), record("good")});
  CHECK_THAT(error_of(outcomes[0]), Catch::Contains("replied `{\"x\": 1}`") && Catch::Contains("\"score\""));
  CHECK(score_of(outcomes[1]) == 2.0);
}

TEST_CASE("a command that hangs or dies fails what it did not answer and is started again") {
  SECTION("past timeout_s") {
    const CommandRule rule(scorer("slow", "    if r['completion'] == 'hang': time.sleep(30)\n    return 1.0", 1.0));
    const auto outcomes = rule.score_batch(std::vector{record("fast"), record("hang"), record("never")});
    CHECK(score_of(outcomes[0]) == 1.0);
    CHECK_THAT(error_of(outcomes[1]), Catch::Contains("answered 1 of 3 records within timeout_s = 1 s"));
    CHECK_THAT(error_of(outcomes[2]), Catch::Contains("started again"));
    CHECK(score_of(rule.score_batch(std::vector{record("fast")}).front()) == 1.0);
  }
  SECTION("exits mid-batch") {
    const CommandRule rule(scorer("dying", "    if r['completion'] == 'die': sys.exit(3)\n    return 1.0"));
    const auto outcomes = rule.score_batch(std::vector{record("a"), record("die"), record("b")});
    CHECK(score_of(outcomes[0]) == 1.0);
    CHECK_THAT(error_of(outcomes[1]), Catch::Contains("exited with status 3 after answering 1 of 3 records"));
    CHECK(std::holds_alternative<std::string>(outcomes[2]));
    CHECK(score_of(rule.score_batch(std::vector{record("a")}).front()) == 1.0);
  }
}

TEST_CASE("completions written to forge replies or break the framing stay one record each") {
  const CommandRule rule(scorer("hostile", "    return len(r['completion'])"));
  const std::vector<CompletionRecord> batch{record("a\n100\n{\"score\": 100}\nb"),  // lines that look like replies
                                            record("\xff\xfe"),              // not UTF-8: each byte becomes U+FFFD
                                            record(std::string("x\0y", 3)),  // a NUL byte
                                            record("\"}, {\"score\": 1e9"),  // an attempt to close the JSON object
                                            record("last")};
  const auto outcomes = rule.score_batch(batch);
  REQUIRE(outcomes.size() == 5);
  CHECK(score_of(outcomes[0]) == 22.0);
  CHECK(score_of(outcomes[1]) == 2.0);
  CHECK(score_of(outcomes[2]) == 3.0);
  CHECK(score_of(outcomes[3]) == 17.0);
  CHECK(score_of(outcomes[4]) == 4.0);
}

TEST_CASE("a command that cannot start is a config error naming it") {
  CHECK_THROWS_AS(CommandRule(CommandKeys{{}, 10.0}), aha::ConfigError);
  CHECK_THROWS_WITH(CommandRule(CommandKeys{{"no-such-scorer-program"}, 10.0}),
                    Catch::Contains("cannot start `no-such-scorer-program`"));
}

TEST_CASE("a large batch of long completions goes through without the pipes blocking each other") {
  const CommandRule rule(scorer("long", "    return len(r['completion'])"));
  std::vector<CompletionRecord> batch;
  for (int i = 0; i < 400; ++i) batch.push_back(record(std::string(20000 + i, 'x')));  // 8 MB each way and back
  const auto outcomes = rule.score_batch(batch);
  for (int i = 0; i < 400; ++i) CHECK(score_of(outcomes[static_cast<std::size_t>(i)]) == 20000 + i);
}

TEST_CASE("the pipeline adds a command's scores to the built-in rules', and counts its failures") {
  RewardSpec math{"math", 1.0, 0.0, MathKeys{}};
  RewardSpec command{"mine", 0.5, -1.0,
                     scorer("pipeline", "    return 'oops' if r['completion'] == 'oops' else len(r['completion'])")};
  const RewardPipeline pipeline({math, command}, 2);
  const auto scores =
      pipeline.score_batch({record("<answer>4</answer>"), record("<answer>5</answer>"), record("oops")});
  CHECK(scores[0].total == 1.0 + 0.5 * 18);
  CHECK(scores[1].total == 0.5 * 18);
  CHECK(scores[2].rules[1].score == -1.0);
  REQUIRE(scores[2].rules[1].error);
  CHECK_THAT(*scores[2].rules[1].error, Catch::Contains("replied `\"oops\"`"));
  CHECK(pipeline.error_counts() == std::vector<std::int64_t>{0, 1});
}
