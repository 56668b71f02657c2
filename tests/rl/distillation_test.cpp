// Distillation and SFT: the rejection filter keeps verified-correct, well-formatted traces once
// each; a teacher that learned one answer has its traces kept for the problems that answer
// solves and refused for the others; the SFT loss is the mean log-likelihood of completion tokens
// only (against a plain forward pass); an SFT run resumed from a checkpoint equals the
// uninterrupted one; traces from a teacher with another tokenizer are refused.
#include <ATen/ATen.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "datasets/sft_data.hpp"
#include "policy/checkpoint.hpp"
#include "policy/tokenizer.hpp"
#include "rewards/reward_config.hpp"
#include "rl/distillation.hpp"
#include "rl/policy_optimizer.hpp"
#include "rl/pretrain_config.hpp"
#include "rl/scored_completion.hpp"
#include "rl/sft_trainer.hpp"
#include "tests/rl/tiny_models.hpp"
#include "tests/test_paths.hpp"

using namespace aha;
using namespace aha::rl;

namespace {

const std::filesystem::path work = std::filesystem::temp_directory_path() /
                                   ("aha-distill-" + std::to_string(::getpid()));
const std::filesystem::path tokenizer_dir = demo_tokenizer();
const std::string taught = " <think> 1 + 1 = 2. </think> <answer> 2 </answer>";

// Questions whose answer is 2 and questions whose answer is 5.
std::vector<datasets::PromptRecord> problems() {
  std::vector<datasets::PromptRecord> out;
  std::size_t line = 0;
  for (const auto& [question, answer] : std::vector<std::pair<std::string, std::string>>{
           {"Ann has 1 apple and gets 1 more. How many apples does Ann have?", "2"},
           {"Bo has 1 pen and gets 1 more. How many pens does Bo have?", "2"},
           {"Cy has 2 cups and gets 3 more. How many cups does Cy have?", "5"},
           {"Di has 1 hat and gets 1 more. How many hats does Di have?", "2"},
           {"Ed has 4 cards and gets 1 more. How many cards does Ed have?", "5"}})
    out.push_back({question, answer, nlohmann::json{{"question", question}, {"answer", answer}}, 0.0, ++line});
  return out;
}

policy::CausalLM tiny_dense(uint64_t seed) { return tiny_demo_model(BaseArchitecture::qwen2, seed); }

OptimSection constant_lr(double lr) {
  OptimSection optim;
  optim.lr = lr;
  optim.schedule = Schedule::constant;
  return optim;
}

// A small dense teacher that learned to answer every question with `taught`.
std::filesystem::path teacher() {
  const auto dir = work / "teacher";
  if (std::filesystem::exists(dir / "config.json")) return dir;
  const auto tokenizer = policy::Tokenizer::from_file(tokenizer_dir);
  auto model = tiny_dense(11);
  std::vector<TrainingSequence> batch;
  for (const auto& p : problems()) {
    TrainingSequence s;
    s.prompt = tokenizer.encode(datasets::apply_template("r1_zero", p.question));
    s.completion = tokenizer.encode(taught);
    s.completion.push_back(*tokenizer.eos_id());
    batch.push_back(std::move(s));
  }
  UpdateSettings update;
  update.optim = constant_lr(1e-2);
  update.total_steps = 80;
  update.micro_batch_tokens = 1 << 20;
  PolicyOptimizer optimizer(model, update);
  for (int step = 0; step < 80; ++step) optimizer.sft_step(batch);
  policy::save_causal_lm(*model, dir, tokenizer_dir);
  return dir;
}

rewards::RewardPipeline math_and_format() {
  std::filesystem::create_directories(work);
  std::ofstream(work / "rewards.toml") << "[[reward]]\nrule = \"math\"\n[[reward]]\nrule = \"format\"\nweight = 0.5\n";
  return rewards::RewardPipeline(rewards::read_reward_specs(work / "rewards.toml"));
}

}  // namespace

TEST_CASE("the rejection filter keeps verified-correct, well-formatted traces, each once") {
  const auto pipeline = math_and_format();
  const datasets::PromptRecord record{
      "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
      "to her friends in May. How many clips did Natalia sell altogether in April and May?",
      "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 "
      "clips altogether in April and May.\n#### 72",
      {},
      0.0,
      1};
  const std::string good = "<think> 48 / 2 = 24, 48 + 24 = 72 </think> <answer> 72 </answer>";
  const auto score = [&](const std::string& text) {
    return pipeline.score_batch({completion_record(record, text, 10)}).front();
  };
  TraceSet seen;
  CHECK(judge(score("<think> 48 + 48 = 96 </think> <answer> 96 </answer>"), "p", "x", seen) == Verdict::incorrect);
  CHECK(judge(score("<answer> 72 </answer> and then more words"), "p", "y", seen) == Verdict::malformed);
  CHECK(judge(score(good), "p", good, seen) == Verdict::kept);
  CHECK(judge(score(good), "p", good, seen) == Verdict::duplicate);
  CHECK(judge(score(" " + good + "\n"), "p", " " + good + "\n", seen) == Verdict::duplicate);
  CHECK(judge(score(good), "another prompt", good, seen) == Verdict::kept);

  std::vector<rewards::RewardSpec> format_only(1);
  format_only[0].keys = rewards::FormatKeys{};
  CHECK_THROWS_WITH(require_verifier(format_only), Catch::Contains("math or a code rule"));
}

TEST_CASE("a teacher's traces are kept where they solve the problem and refused where they do not") {
  const auto dir = teacher();
  const auto tokenizer = policy::Tokenizer::from_file(dir);
  auto model = policy::load_causal_lm(dir);
  const auto pipeline = math_and_format();
  DistillSettings settings;
  settings.samples = 4;
  settings.generation.sampling = {0.6, 0, 0.95, 0.0};
  settings.generation.max_new_tokens = 32;
  settings.generation.eos_ids = {*tokenizer.eos_id()};
  settings.generation.pad_id = *tokenizer.pad_id();
  const auto data = problems();
  TraceSet seen;
  const DistilledBatch batch = distill_batch(*model, tokenizer, data, 0, data.size(), 0, settings, pipeline, seen);
  REQUIRE(batch.tallies.size() == data.size());
  for (const auto& t : batch.tallies) {
    INFO("problem " << t.problem);
    CHECK(t.sampled == 4);
    CHECK(t.kept + t.duplicates <= t.correct);
    if (data[t.problem].answer == "2") {
      CHECK(t.correct >= 1);
      CHECK(t.kept == 1);  // the teacher writes one trace; its copies are duplicates
      CHECK(t.duplicates == t.correct - 1);
    } else {
      CHECK(t.correct == 0);
      CHECK(t.kept == 0);
    }
  }
  REQUIRE(batch.traces.size() == 3);
  for (const auto& trace : batch.traces) {
    CHECK(trace.completion == taught);
    CHECK(is_correct(trace.score) == true);
    CHECK(trace.prompt == datasets::apply_template("r1_zero", data[trace.problem].question));
    const auto line = trace_json(trace, data[trace.problem], tokenizer.fingerprint());
    CHECK(line["rewards"]["math"] == 1.0);
    CHECK(line["rewards"]["format"] == 1.0);
    CHECK(line["reward"] == 1.5);
    CHECK(line["tokenizer"] == tokenizer.fingerprint());
  }
  const DistilledBatch again = distill_batch(*model, tokenizer, data, 0, data.size(), 0, settings, pipeline, seen);
  CHECK(again.traces.empty());  // the same traces a second time are all duplicates
}

TEST_CASE("the SFT loss is the mean log-likelihood of the completion tokens only") {
  auto model = tiny_dense(5);
  const std::vector<TrainingSequence> batch{{{7, 8, 9, 10}, {11, 12, 1}, {}, 0.0, true, {}},
                                            {{7, 8, 20}, {21, 22, 23, 24, 1}, {}, 0.0, true, {}}};
  OptimSection frozen = constant_lr(0.0);
  frozen.max_grad_norm = 0.0;
  UpdateSettings update;
  update.optim = frozen;
  update.micro_batch_tokens = 1 << 20;
  PolicyOptimizer optimizer(model, update);
  const StepStats stats = optimizer.sft_step(batch);
  std::map<std::string, at::Tensor> step_grads;
  for (const auto& p : model->named_parameters()) step_grads[p.key()] = p.value().grad().clone();

  // Reference: each row through a plain forward; the log-prob of token t+1 from position t, summed
  // over completion tokens, divided by the step's completion tokens.
  for (auto& p : model->parameters()) p.mutable_grad().reset();
  at::Tensor total = at::zeros({});
  int64_t completion_tokens = 0;
  at::Tensor all_tokens_total = at::zeros({});
  int64_t all_tokens = 0;
  for (const auto& s : batch) {
    std::vector<int64_t> ids = s.prompt;
    ids.insert(ids.end(), s.completion.begin(), s.completion.end());
    const auto input = at::tensor(ids, at::kLong).unsqueeze(0);
    const auto logp = at::log_softmax(model->logits(model->forward(input, at::ones_like(input)).hidden), -1)[0];
    for (std::size_t t = 0; t + 1 < ids.size(); ++t) {
      const at::Tensor token_logp = logp[static_cast<int64_t>(t)][ids[t + 1]];
      all_tokens_total = all_tokens_total + token_logp.detach();
      ++all_tokens;
      if (t + 1 >= s.prompt.size()) {
        total = total + token_logp;
        ++completion_tokens;
      }
    }
  }
  const at::Tensor loss = -total / static_cast<double>(completion_tokens);
  loss.backward();
  CHECK(stats.tokens == completion_tokens);
  CHECK(stats.loss == Approx(loss.item<double>()).epsilon(1e-5));
  CHECK(stats.loss != Approx(-all_tokens_total.item<double>() / static_cast<double>(all_tokens)).epsilon(1e-3));
  for (const auto& p : model->named_parameters()) {
    INFO(p.key());
    CHECK(at::allclose(step_grads[p.key()], p.value().grad(), 1e-4, 1e-6));
  }
}

TEST_CASE("SFT pairs are read with their line on every error, and the teacher's tokenizer must be the student's") {
  std::filesystem::create_directories(work);
  const auto tokenizer = policy::Tokenizer::from_file(tokenizer_dir);
  datasets::SftDataSection data;
  data.max_tokens = 200;
  const auto write = [&](const std::string& text) {
    std::ofstream(work / "pairs.jsonl", std::ios::trunc) << text;
    return work / "pairs.jsonl";
  };
  const auto read = [&](const std::string& text) {
    return datasets::read_sft_pairs(write(text), data, tokenizer, 1, "student");
  };
  const nlohmann::json ok{
      {"prompt", "User: 1 + 1? Assistant:"}, {"completion", taught}, {"tokenizer", tokenizer.fingerprint()}};
  const auto pairs =
      read(ok.dump() + "\n\n" + nlohmann::json{{"prompt", "x"}, {"completion", std::string(300, 'y')}}.dump() + "\n");
  REQUIRE(pairs.pairs.size() == 1);
  CHECK(pairs.too_long == 1);
  CHECK(pairs.pairs[0].completion.back() == 1);  // the end-of-sequence token closes every completion
  CHECK(pairs.pairs[0].completion.size() == tokenizer.encode(taught).size() + 1);
  CHECK_THROWS_WITH(read(ok.dump() + "\n{not json\n"), Catch::Contains("pairs.jsonl:2: malformed JSON"));
  CHECK_THROWS_WITH(read(R"({"prompt": "p"})"
                         "\n"),
                    Catch::Contains("pairs.jsonl:1") && Catch::Contains("\"completion\""));
  nlohmann::json foreign = ok;
  foreign["tokenizer"] =
      policy::Tokenizer::from_file(source_dir() / "tests/fixtures/models/tiny_with_tokenizer").fingerprint();
  CHECK_THROWS_WITH(read(ok.dump() + "\n" + foreign.dump() + "\n"), Catch::Contains("pairs.jsonl:2") &&
                                                                        Catch::Contains("must share a tokenizer") &&
                                                                        Catch::Contains("student"));
}

TEST_CASE("an SFT run resumed from its checkpoint ends where the uninterrupted run ends") {
  const auto dir = teacher();
  std::filesystem::create_directories(work);
  {
    const auto tokenizer = policy::Tokenizer::from_file(tokenizer_dir);
    std::ofstream traces(work / "traces.jsonl", std::ios::trunc), eval(work / "eval.jsonl", std::ios::trunc);
    for (const auto& p : problems()) {
      traces << nlohmann::json{{"prompt", datasets::apply_template("r1_zero", p.question)},
                               {"completion", taught},
                               {"tokenizer", tokenizer.fingerprint()}}
                    .dump()
             << "\n";
      eval << p.fields.dump() << "\n";
    }
    policy::save_causal_lm(*tiny_dense(21), work / "student", tokenizer_dir);
  }
  const auto config = [&](const std::string& run, int steps) {
    std::ofstream(work / "sft.toml", std::ios::trunc)
        << "[model]\npath = \"" << (work / "student").string() << "\"\n[data]\ntrain = \""
        << (work / "traces.jsonl").string() << "\"\neval = \"" << (work / "eval.jsonl").string()
        << "\"\n[optim]\nlr = 1e-2\nschedule = \"constant\"\n[train]\nsteps = " << steps
        << "\nbatch_size = 2\nsave_every = 2\nthreads = 1\noutput_dir = \"" << (work / run).string()
        << "\"\n[eval]\nsamples = 2\nmax_new_tokens = 24\n[log]\nprogress = false\ntensorboard = false\n";
    return load_sft_config(work / "sft.toml");
  };
  for (const char* run : {"whole", "stopped"}) std::filesystem::remove_all(work / run);
  fine_tune(config("whole", 5), {});
  fine_tune(config("stopped", 2), {});
  CHECK_THROWS_WITH(fine_tune(config("stopped", 5), {}), Catch::Contains("already holds a run"));
  fine_tune(config("stopped", 5), SftOptions{true});

  const auto losses = [&](const std::string& run) {
    std::vector<double> out;
    std::ifstream in(work / run / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["loss"].get<double>());
    return out;
  };
  const auto whole = losses("whole"), resumed = losses("stopped");
  REQUIRE(whole.size() == 5);
  CHECK(resumed == whole);
  CHECK(whole.back() < whole.front());
  const auto a = policy::CheckpointTensors::open(work / "whole/final"),
             b = policy::CheckpointTensors::open(work / "stopped/final");
  for (const auto& name : a.names()) CHECK(at::equal(a.tensor(name), b.tensor(name)));
  for (const char* file : {"eval_base.json", "eval_final.json", "config.toml", "final/tokenizer.json"})
    CHECK(std::filesystem::exists(work / "whole" / file));

  auto foreign = config("foreign", 2);
  foreign.model.path = (source_dir() / "tests/fixtures/models/tiny_with_tokenizer").string();
  std::filesystem::remove_all(work / "foreign");
  CHECK_THROWS_WITH(fine_tune(foreign, {}),
                    Catch::Contains("traces.jsonl:1") && Catch::Contains("must share a tokenizer"));
}

TEST_CASE("the distillation demo's SFT config validates, and a typo is caught") {
  const auto c = load_sft_config(source_dir() / "configs/sft/distill-demo.toml");
  CHECK(c.train.epochs >= 1);
  CHECK(c.data.prompt_key == "prompt");
  CHECK_THROWS_WITH(
      load_sft_config(source_dir() / "configs/sft/distill-demo.toml", std::vector<std::string>{"train.epoch=3"}),
      Catch::Contains("did you mean 'epochs'?"));
  CHECK_THROWS_WITH(
      load_sft_config(source_dir() / "configs/sft/distill-demo.toml", std::vector<std::string>{"model.reference=x"}),
      Catch::Contains("reference"));
}
