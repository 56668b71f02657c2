// accumulate_gradients(): backward on this thread, or a pool of threads that each take the next
// micro-batch when free and fold their gradients into the total in micro-batch order.
#include "rl/gradient_accumulation.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "kernels/cpu_threads.hpp"

namespace aha::rl {

namespace {

// The running sum of the micro-batches' gradients, added in micro-batch order. Micro-batch i may
// start only once i < folded + window, so at most `window` gradients wait beside the total.
class OrderedGradientSum {
 public:
  OrderedGradientSum(const std::vector<at::Tensor>& parameters, std::size_t count, std::size_t window)
      : parameters_(parameters), total_(parameters.size()), waiting_(count), done_(count, 0), window_(window) {}

  // Blocks until micro-batch `i` may start; false when another thread failed.
  bool wait_turn(std::size_t i) {
    std::unique_lock lock(mutex_);
    folded_more_.wait(lock, [&] { return i < folded_ + window_ || failed_; });
    return !failed_;
  }

  void fold(std::size_t i, std::vector<at::Tensor> gradients) {
    const std::lock_guard lock(mutex_);
    waiting_[i] = std::move(gradients);
    done_[i] = 1;
    torch::NoGradGuard no_grad;
    for (; folded_ < done_.size() && done_[folded_]; ++folded_) {
      for (std::size_t p = 0; p < total_.size(); ++p) add(p, waiting_[folded_][p]);
      waiting_[folded_].clear();
    }
    folded_more_.notify_all();
  }

  void fail() {
    const std::lock_guard lock(mutex_);
    failed_ = true;
    folded_more_.notify_all();
  }

  // Leaves the total on the parameters' gradients.
  void assign() {
    for (std::size_t p = 0; p < parameters_.size(); ++p) parameters_[p].mutable_grad() = total_[p];
  }

 private:
  void add(std::size_t p, const at::Tensor& part) {
    if (!part.defined()) return;
    if (total_[p].defined()) {
      total_[p].add_(part);
    } else if (part.is_view() || part.strides() != parameters_[p].strides()) {
      // As backward() would leave it: the parameter's layout, a tensor of its own (the gradient
      // norm's sums then run in the same order).
      total_[p] = at::empty_like(parameters_[p]).copy_(part);
    } else {
      total_[p] = part;
    }
  }

  const std::vector<at::Tensor>& parameters_;
  std::vector<at::Tensor> total_;
  std::vector<std::vector<at::Tensor>> waiting_;  // gradients waiting for earlier ones
  std::vector<char> done_;
  std::size_t folded_ = 0;
  const std::size_t window_;
  bool failed_ = false;
  std::mutex mutex_;
  std::condition_variable folded_more_;
};

void one_at_a_time(const std::vector<std::size_t>& micro_batches, const std::function<at::Tensor(std::size_t)>& loss_of,
                   int cpu_threads) {
  const kernels::ScopedThreads all_threads(cpu_threads);  // the one micro-batch thread is this one
  for (const std::size_t m : micro_batches) loss_of(m).backward();
}

}  // namespace

void accumulate_gradients(const std::vector<std::size_t>& micro_batches,
                          const std::function<at::Tensor(std::size_t)>& loss_of,
                          const std::vector<at::Tensor>& parameters, AccumulationThreads threads) {
  const int count = static_cast<int>(
      std::min<std::size_t>(static_cast<std::size_t>(std::max(threads.micro_batch_threads, 1)), micro_batches.size()));
  if (count <= 1) return one_at_a_time(micro_batches, loss_of, threads.cpu_threads);
  const int threads_each = std::max(1, threads.cpu_threads / count);
  OrderedGradientSum sum(parameters, micro_batches.size(), static_cast<std::size_t>(count));
  std::atomic<std::size_t> next{0};  // each thread takes the next micro-batch when it is free
  std::vector<std::exception_ptr> failures(static_cast<std::size_t>(count));
  std::vector<std::thread> pool;
  for (int t = 0; t < count; ++t)
    pool.emplace_back([&, t] {
      try {
        kernels::set_threads_of_this_thread(threads_each);
        for (std::size_t i = next++; i < micro_batches.size() && sum.wait_turn(i); i = next++)
          sum.fold(i, torch::autograd::grad({loss_of(micro_batches[i])}, parameters, {}, /*retain_graph=*/false,
                                            /*create_graph=*/false, /*allow_unused=*/true));
      } catch (...) {
        failures[static_cast<std::size_t>(t)] = std::current_exception();
        next = micro_batches.size();  // the others stop after their current micro-batch
        sum.fail();
      }
    });
  for (auto& thread : pool) thread.join();
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
  sum.assign();
}

}  // namespace aha::rl
