// `aha distill` and `aha sft` on the real binary: an interrupted distillation (a cut last line
// included) resumes into the same files as an uninterrupted one; an existing output is never
// overwritten; a dense student fine-tunes on prompt/completion pairs into a Hugging Face folder.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/cli/run_command.hpp"
#include "tests/test_paths.hpp"

namespace {

const std::filesystem::path work = std::filesystem::temp_directory_path() /
                                   ("aha-distill-cli-" + std::to_string(::getpid()));

CommandResult distill(const std::filesystem::path& out, int limit, bool resume) {
  std::vector<std::string> args{
      "distill",   "--teacher", pretrain_tiny(work).string(), "--data",    (work / "data/train.jsonl").string(),
      "--samples", "3",         "--max-new-tokens",           "8",         "--batch",
      "4",         "--limit",   std::to_string(limit),        "--threads", "1",
      "--out",     out.string()};
  if (resume) args.push_back("--resume");
  return run_aha(args);
}

}  // namespace

TEST_CASE("aha distill resumes an interrupted run into the files an uninterrupted run writes") {
  std::filesystem::remove_all(work / "whole");
  std::filesystem::remove_all(work / "interrupted");
  const auto whole = distill(work / "whole/traces.jsonl", 12, false);
  INFO(whole.err);
  REQUIRE(whole.status == 0);
  CHECK_THAT(whole.out, Catch::StartsWith("line\tkept/sampled\tcorrect\tformatted\tduplicates\n"));
  CHECK_THAT(whole.out, Catch::Contains("overall: kept ") && Catch::Contains("/36 samples"));
  CHECK(std::count(whole.out.begin(), whole.out.end(), '\n') == 14);  // header, 12 problems, overall

  REQUIRE(distill(work / "interrupted/traces.jsonl", 8, false).status == 0);
  std::ofstream(work / "interrupted/traces.summary.jsonl", std::ios::app) << R"({"problem":8,"li)";  // a kill mid-write
  const auto again = distill(work / "interrupted/traces.jsonl", 12, false);
  CHECK(again.status == 1);
  CHECK_THAT(again.err, Catch::Contains("already holds traces") && Catch::Contains("--resume"));
  const auto resumed = distill(work / "interrupted/traces.jsonl", 12, true);
  INFO(resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK_THAT(resumed.err, Catch::Contains("resuming after 8"));
  CHECK(resumed.out ==
        whole.out.substr(0, whole.out.rfind("overall")) + resumed.out.substr(resumed.out.rfind("overall")));
  CHECK(read_file(work / "interrupted/traces.summary.jsonl") == read_file(work / "whole/traces.summary.jsonl"));
  CHECK(read_file(work / "interrupted/traces.jsonl") == read_file(work / "whole/traces.jsonl"));

  const auto summary = nlohmann::json::parse(read_file(work / "whole/traces.summary.jsonl")
                                                 .substr(0, read_file(work / "whole/traces.summary.jsonl").find('\n')));
  for (const char* key : {"problem", "line", "sampled", "correct", "formatted", "duplicates", "kept"})
    CHECK(summary.contains(key));
  CHECK(summary["sampled"] == 3);
}

TEST_CASE("aha distill needs a rule that verifies answers") {
  std::filesystem::create_directories(work);
  std::ofstream(work / "format-only.toml") << "[[reward]]\nrule = \"format\"\n";
  const auto result =
      run_aha({"distill", "--teacher", pretrain_tiny(work).string(), "--data", (work / "data/train.jsonl").string(),
               "--out", (work / "unused.jsonl").string(), "--config", (work / "format-only.toml").string()});
  CHECK(result.status == 1);
  CHECK_THAT(result.err, Catch::Contains("math or a code rule"));
  CHECK_FALSE(std::filesystem::exists(work / "unused.jsonl"));
}

TEST_CASE("aha sft fine-tunes a dense student on prompt/completion pairs") {
  const auto student = pretrain_tiny(work, "qwen2");
  {
    std::ofstream pairs(work / "pairs.jsonl", std::ios::trunc);
    for (int i = 0; i < 6; ++i)
      pairs << nlohmann::json{{"prompt", "User: " + std::to_string(i) + " + 1? Assistant:"},
                              {"completion", " <think> " + std::to_string(i) + " + 1 = " + std::to_string(i + 1) +
                                                 " </think> <answer> " + std::to_string(i + 1) + " </answer>"}}
                   .dump()
            << "\n";
  }
  std::ofstream(work / "sft.toml", std::ios::trunc)
      << "[model]\npath = \"" << student.string() << "\"\n[data]\ntrain = \"" << (work / "pairs.jsonl").string()
      << "\"\n";
  const auto out = work / "sft-run";
  std::filesystem::remove_all(out);
  const auto result =
      run_aha({"sft", (work / "sft.toml").string(), "--set", "train.epochs=2", "--set", "train.batch_size=4", "--set",
               "train.threads=1", "--set", "train.output_dir=" + out.string(), "--set", "log.progress=false"});
  INFO(result.err);
  REQUIRE(result.status == 0);
  CHECK_THAT(result.err, Catch::Contains("6 pairs") && Catch::Contains("3 steps of 4"));
  for (const char* file : {"final/config.json", "final/model.safetensors", "final/tokenizer.json", "metrics.jsonl",
                           "checkpoint-3/trainer_state.json", "config.toml"})
    CHECK(std::filesystem::exists(out / file));
  CHECK(nlohmann::json::parse(read_file(out / "final/config.json"))["model_type"] == "qwen2");
  const auto typo = run_aha({"sft", (work / "sft.toml").string(), "--set", "train.epoch=2"});
  CHECK(typo.status == 1);
  CHECK_THAT(typo.err, Catch::Contains("did you mean 'epochs'"));
}
