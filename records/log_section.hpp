// The [log] section every run has: how often metrics are written, and where (the console
// progress bar, metrics.jsonl, TensorBoard event files, sample completions).
#pragma once

#include <string_view>

#include "core/config_binder.hpp"

namespace aha::records {

struct LogSection {
  int every = 1;
  bool progress = true;
  bool jsonl = true;
  bool tensorboard = true;
  int samples_every = 10;
};

inline constexpr std::string_view log_section_doc =
    "Metrics: the console progress bar, metrics.jsonl, TensorBoard event files and sample completions.";

void bind(config::Binder& b, LogSection& s);

}  // namespace aha::records
