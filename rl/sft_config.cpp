// Keys of the SFT config and the walk that reads, writes and documents them.
#include "rl/sft_config.hpp"

#include "core/config_docs.hpp"
#include "core/config_reader.hpp"
#include "core/config_writer.hpp"

namespace aha::rl {

namespace {

using config::Binder;
constexpr int unbounded = 1 << 30;

void bind(Binder& b, SftTrainSection& s) {
  b.integer({"epochs", "passes over the pairs, when steps = 0"}, s.epochs, 1, {1, unbounded});
  b.integer({"steps", "optimizer steps; 0: epochs * pairs / batch_size, rounded up"}, s.steps, 0, {0, unbounded});
  b.integer({"batch_size", "pairs per optimizer step; the loss is the mean over all their completion tokens"},
            s.batch_size, 32, {1, unbounded});
  b.integer({"micro_batch_tokens", "token budget of one forward/backward; a step accumulates micro-batches"},
            s.micro_batch_tokens, 8192, {1, unbounded});
  b.integer({"seed", "seeds the order of the pairs and evaluation sampling"}, s.seed, std::int64_t{0},
            {0, std::numeric_limits<std::int64_t>::max()});
  b.text({"output_dir", "folder for checkpoints, metrics.jsonl, TensorBoard files and final/"}, s.output_dir,
         "runs/sft");
  b.integer({"save_every", "checkpoint every this many steps; 0: only at the end"}, s.save_every, 50, {0, unbounded});
  b.integer({"eval_every", "evaluate on data.eval every this many steps; 0: only at the start and the end"},
            s.eval_every, 0, {0, unbounded});
  bind_compute_keys(b, s.threads, s.micro_batch_threads, s.activation_checkpointing);
}

template <class Walker>
void walk(Walker& w, SftConfig& c) {
  w.section("model", "The student: a Hugging Face model folder, dense or MoE, sharing the teacher's tokenizer.",
            [&](Binder& b) { policy::bind_without_reference(b, c.model); });
  w.section("data", "The prompt/completion pairs, and the held-out problems evaluation samples.",
            [&](Binder& b) { bind(b, c.data); });
  w.section("optim", optim_section_doc, [&](Binder& b) { bind(b, c.optim); });
  w.section("train", "The run: its length, batch, seed and checkpoints.", [&](Binder& b) { bind(b, c.train); });
  w.section("eval", eval_section_doc, [&](Binder& b) { bind(b, c.eval); });
  w.section("log", records::log_section_doc, [&](Binder& b) { bind(b, c.log); });
}

}  // namespace

SftConfig load_sft_config(const std::filesystem::path& file, std::span<const std::string> overrides) {
  auto reader = config::ConfigReader::from_file(file);
  reader.set_aliases({{"num_train_epochs", "train.epochs"},
                      {"max_steps", "train.steps"},
                      {"per_device_train_batch_size", "train.batch_size"},
                      {"learning_rate", "optim.lr"},
                      {"max_length", "data.max_tokens"},
                      {"model_name_or_path", "model.path"}});
  for (const auto& assignment : overrides) reader.apply_override(assignment);
  SftConfig c;
  walk(reader, c);
  reader.finish();
  return c;
}

std::string to_toml(const SftConfig& config) {
  SftConfig copy = config;
  config::ConfigWriter writer;
  walk(writer, copy);
  return writer.text();
}

std::string sft_config_reference() {
  SftConfig example;
  config::ConfigDocs docs;
  walk(docs, example);
  return docs.markdown();
}

}  // namespace aha::rl
