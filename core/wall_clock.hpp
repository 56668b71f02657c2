// Wall-clock seconds since the Unix epoch, as metrics.jsonl and TensorBoard stamp their records
// and as the trainers time their phases.
#pragma once

#include <chrono>

namespace aha {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace aha
