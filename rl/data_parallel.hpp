// Data parallelism on PyTorch's c10d: processes started by torchrun (or `aha train --nproc N`)
// find each other through a TCPStore at MASTER_ADDR:MASTER_PORT and talk through
// ProcessGroupGloo (CPU ranks) or ProcessGroupNCCL (GPU ranks, each on cuda:LOCAL_RANK). Rank 0's initial weights are
// broadcast; gradients are all-reduced (summed) in flattened buckets; statistics are summed; byte strings are gathered.
// A collective that fails because a peer died becomes an aha::Error naming the rank and what to do.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/transformer.hpp"

namespace aha::rl {

class DataParallel {
 public:
  // From RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; none when WORLD_SIZE is unset or 1.
  // Throws aha::Error naming a variable that is missing or malformed.
  static std::unique_ptr<DataParallel> from_environment(const at::Device& device);
  DataParallel(int rank, int world, const std::string& master_addr, int master_port,
               const at::Device& device = at::kCPU);
  ~DataParallel();

  int rank() const { return rank_; }
  int world() const { return world_; }
  // Whether this process handles the item with index `item` of a list every rank walks in the same
  // order: rank r owns items r, r + world, r + 2 world, ...; without data parallelism (null), all.
  static bool owns(const DataParallel* data_parallel, std::size_t item) {
    return !data_parallel ||
           static_cast<int>(item % static_cast<std::size_t>(data_parallel->world_)) == data_parallel->rank_;
  }

  // Every rank gets rank 0's parameter values.
  void broadcast_parameters(policy::CausalLMImpl& model);
  // Sums the gradients of `parameters` over the ranks. A parameter without a gradient on every
  // rank keeps none (as one process would leave it); one with a gradient somewhere gets the sum.
  void all_reduce_gradients(const std::vector<at::Tensor>& parameters);
  // Element-wise sum over the ranks.
  std::vector<double> sum(const std::vector<double>& values);
  double max(double value);
  // Every rank's `bytes`, in rank order.
  std::vector<std::string> all_gather(const std::string& bytes);
  void barrier();
  // A second group over the same processes, for the collectives of another thread (sampling
  // ahead), which then never interleave with this group's. Every rank must ask for it, in the
  // same order.
  std::unique_ptr<DataParallel> channel(const std::string& name) const;

  struct Group;

 private:
  DataParallel(int rank, int world, const at::Device& device, std::string master_addr, std::unique_ptr<Group> group);

  int rank_, world_;
  at::Device device_;  // where the collectives' tensors live
  std::string master_addr_;
  std::unique_ptr<Group> group_;
};

}  // namespace aha::rl
