// The keys of [log].
#include "records/log_section.hpp"

namespace aha::records {

namespace {

constexpr int unbounded = 1 << 30;

}  // namespace

void bind(config::Binder& b, LogSection& s) {
  b.integer({"every", "log metrics every this many steps"}, s.every, 1, {1, unbounded});
  b.boolean({"progress", "show a progress bar with ETA on the console"}, s.progress, true);
  b.boolean({"jsonl", "write metrics.jsonl, one JSON object per step"}, s.jsonl, true);
  b.boolean({"tensorboard", "write TensorBoard event files"}, s.tensorboard, true);
  b.integer({"samples_every", "write sample completions every this many steps; 0: never"}, s.samples_every, 10,
            {0, unbounded});
}

}  // namespace aha::records
