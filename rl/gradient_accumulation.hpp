// Gradient accumulation over micro-batches, one at a time or several at once on CPU threads. With
// threads, every thread reads the one copy of the weights, autograd hands each micro-batch's
// gradient to the thread that ran it, and the gradients join the total in micro-batch order: the
// sum is the same bits whichever thread ran what, and depends on the thread count never on timing.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace aha::rl {

struct AccumulationThreads {
  int micro_batch_threads = 1;  // micro-batches run at once
  int cpu_threads = 1;          // the run's CPU threads, shared among them
};

// Calls `loss_of(m)` for each micro-batch index m in `micro_batches` and back-propagates the
// loss it returns; leaves the summed gradient on `parameters` (a parameter no loss reaches keeps
// no gradient). The first exception a micro-batch throws stops the others and is rethrown.
void accumulate_gradients(const std::vector<std::size_t>& micro_batches,
                          const std::function<at::Tensor(std::size_t)>& loss_of,
                          const std::vector<at::Tensor>& parameters, AccumulationThreads threads);

}  // namespace aha::rl
