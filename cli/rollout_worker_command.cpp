// `aha rollout-worker --listen HOST:PORT --token-file F --model DIR`: serves generation over HTTP
// for trainers whose [rollout] endpoints name it (and for anything that speaks OpenAI's
// /v1/completions). Binds 127.0.0.1 unless told otherwise; every request needs the token.
// Runs until SIGINT or SIGTERM.
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/http_client.hpp"
#include "policy/checkpoint.hpp"
#include "rollout/completion_engine.hpp"

namespace aha::cli {

namespace {

struct WorkerOptions {
  std::string listen = "127.0.0.1:8000", token_file, model, weights_dir;
  int threads = 0;
  double max_body_mb = 16, read_timeout_s = 30;
  int64_t max_request_tokens = int64_t{1} << 20;
};

int run_worker(const WorkerOptions& o) {
  if (o.threads > 0) at::set_num_threads(o.threads);
  const auto [host, port] = parse_endpoint(o.listen);
  rollout::HttpServerSettings settings;
  settings.host = host;
  settings.port = static_cast<uint16_t>(std::stoi(port));
  settings.token = read_bearer_token(o.token_file);
  settings.max_body_bytes = static_cast<std::size_t>(o.max_body_mb * (1 << 20));
  settings.read_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.read_timeout_s * 1000));
  const auto scratch = std::filesystem::temp_directory_path() / fmt::format("aha-rollout-worker-{}", ::getpid());
  std::filesystem::create_directories(scratch);
  settings.upload_dir = scratch;
  rollout::EngineSettings engine_settings{scratch, std::nullopt, o.max_request_tokens};
  if (!o.weights_dir.empty()) engine_settings.weights_dir = o.weights_dir;
  rollout::CompletionEngine engine(policy::load_causal_lm(o.model), policy::Tokenizer::from_file(o.model), o.model,
                                   engine_settings);

  // The server's threads inherit a mask without these signals; this thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  rollout::HttpServer server(settings, engine.handlers());
  std::cerr << fmt::format("aha rollout-worker: serving {} on http://{}:{} ({} threads)\n", o.model, settings.host,
                           server.port(), at::get_num_threads());
  int received = 0;
  sigwait(&signals, &received);
  server.stop();
  std::filesystem::remove_all(scratch);
  std::cerr << "aha rollout-worker: stopped\n";
  return 0;
}

}  // namespace

void add_rollout_worker_command(CLI::App& app, Action& chosen) {
  auto o = std::make_shared<WorkerOptions>();
  auto* cmd = app.add_subcommand("rollout-worker", "Serve generation over HTTP (/v1/completions) for remote rollouts");
  cmd->add_option("--listen", o->listen, "HOST:PORT to bind; 0.0.0.0 to accept other machines; port 0: any free one")
      ->capture_default_str();
  cmd->add_option("--token-file", o->token_file, "file whose first line is the bearer token clients must send")
      ->required();
  cmd->add_option("--model", o->model, "Hugging Face model folder with tokenizer.json")->required();
  cmd->add_option("--threads", o->threads, "CPU threads; 0: all cores")->capture_default_str();
  cmd->add_option("--max-body-mb", o->max_body_mb, "largest /v1/completions body")->capture_default_str();
  cmd->add_option("--read-timeout-s", o->read_timeout_s, "a client must send its whole request within this")
      ->capture_default_str();
  cmd->add_option("--weights-dir", o->weights_dir,
                  "the shared folder the trainer's rollout.weights_folder names: JSON weight updates may load "
                  "checkpoints from it and nowhere else (without it, weights come in request bodies only)");
  cmd->add_option("--max-request-tokens", o->max_request_tokens,
                  "largest request, in tokens of work: n x (prompt + max_tokens), summed over its prompts")
      ->capture_default_str();
  cmd->callback([&chosen, o] { chosen = [o] { return run_worker(*o); }; });
}

}  // namespace aha::cli
