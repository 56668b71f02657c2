// `aha logprobs --model DIR --text TEXT`: the log-prob of each token after the first given its
// prefix, under the checkpoint in DIR and its tokenizer, as {"ids": [...], "logprobs": [...]}.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "policy/token_logprobs.hpp"
#include "policy/tokenizer.hpp"

namespace aha::cli {

namespace {

struct LogprobsOptions {
  std::string model, text;
  double temperature = 1.0;
};

int run_logprobs(const LogprobsOptions& o) {
  const auto tokenizer = policy::Tokenizer::from_file(o.model);
  auto model = policy::load_causal_lm(o.model);
  model->limit_vocabulary(tokenizer.vocab_size());
  const std::vector<int64_t> ids = tokenizer.encode(o.text);
  if (ids.size() < 2) throw Error(fmt::format("logprobs: the text has {} token(s); it needs at least 2", ids.size()));
  torch::NoGradGuard no_grad;
  const at::Tensor input = at::tensor(ids, at::kLong).unsqueeze(0);
  const at::Tensor hidden = model->forward(input, at::ones_like(input)).hidden[0];  // [tokens, hidden]
  const auto n = static_cast<int64_t>(ids.size());
  const at::Tensor logprobs = policy::token_logprobs(hidden.narrow(0, 0, n - 1), model->output_head(),
                                                     input[0].narrow(0, 1, n - 1), o.temperature);
  const at::Tensor values = logprobs.to(at::kDouble).contiguous();
  std::vector<double> out(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
  std::cout << nlohmann::json{{"ids", ids}, {"logprobs", out}}.dump() << "\n";
  return 0;
}

}  // namespace

void add_logprobs_command(CLI::App& app, Action& chosen) {
  auto options = std::make_shared<LogprobsOptions>();
  auto* cmd = app.add_subcommand("logprobs", "Print the log-prob of each token of a text under a checkpoint");
  cmd->add_option("--model", options->model, "Hugging Face model folder with tokenizer.json")->required();
  cmd->add_option("--text", options->text, "the text")->required();
  cmd->add_option("--temperature", options->temperature, "divide the logits by this first")->check(CLI::PositiveNumber);
  cmd->callback([&chosen, options] { chosen = [options] { return run_logprobs(*options); }; });
}

}  // namespace aha::cli
