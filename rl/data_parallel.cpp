// DataParallel over c10d's TCPStore and ProcessGroupGloo or ProcessGroupNCCL.
#include "rl/data_parallel.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef AHA_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

#include "core/error.hpp"

namespace aha::rl {

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::Backend> backend;  // Gloo for CPU tensors, NCCL for CUDA tensors
};

namespace {

c10::intrusive_ptr<c10d::Backend> make_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world,
                                               const at::Device& device, const std::string& master_addr) {
  if (device.is_cuda()) {
#ifdef AHA_WITH_NCCL
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, c10d::ProcessGroupNCCL::Options::create());
#else
    throw Error("this aha was built without NCCL (LibTorch without CUDA, or nccl.h not found), so its ranks "
                "cannot share CUDA tensors; rebuild against a CUDA LibTorch, or set model.device = \"cpu\"");
#endif
  }
  auto gloo_options = c10d::ProcessGroupGloo::Options::create();
  gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(master_addr));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, gloo_options);
}

constexpr int64_t bucket_elements = 8 << 20;  // 32 MB of float32 per all-reduce

std::string variable(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) throw Error(fmt::format("data parallel: the environment variable {} is not set", name));
  return value;
}

int integer(const char* name) {
  const std::string text = variable(name);
  try {
    return std::stoi(text);
  } catch (const std::exception&) {
    throw Error(fmt::format("data parallel: {}={} is not an integer", name, text));
  }
}

template <class Work>
void wait(int rank, const char* what, const Work& work) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw Error(fmt::format("data parallel: rank {} lost its peers during {} ({}); a process of the run died or hung: "
                            "stop the others and restart with --resume",
                            rank, what, e.what()));
  }
}

}  // namespace

std::unique_ptr<DataParallel> DataParallel::from_environment(const at::Device& device) {
  const char* world = std::getenv("WORLD_SIZE");
  if (!world || std::string(world).empty() || std::string(world) == "1") return nullptr;
  return std::make_unique<DataParallel>(integer("RANK"), integer("WORLD_SIZE"), variable("MASTER_ADDR"),
                                        integer("MASTER_PORT"), device);
}

DataParallel::DataParallel(int rank, int world, const std::string& master_addr, int master_port,
                           const at::Device& device)
    : rank_(rank), world_(world), device_(device), master_addr_(master_addr), group_(std::make_unique<Group>()) {
  if (world < 1 || rank < 0 || rank >= world)
    throw Error(fmt::format("data parallel: RANK={} must be between 0 and WORLD_SIZE-1 (WORLD_SIZE={})", rank, world));
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(master_port);
    options.isServer = rank == 0;
    options.numWorkers = world;
    options.waitWorkers = true;
    options.timeout = std::chrono::seconds(300);
    group_->store = c10::make_intrusive<c10d::TCPStore>(master_addr, options);
    group_->backend = make_backend(group_->store, rank, world, device, master_addr);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(fmt::format("data parallel: rank {} of {} could not join the group at {}:{}: {}", rank, world,
                            master_addr, master_port, e.what()));
  }
}

DataParallel::DataParallel(int rank, int world, const at::Device& device, std::string master_addr,
                           std::unique_ptr<Group> group)
    : rank_(rank), world_(world), device_(device), master_addr_(std::move(master_addr)), group_(std::move(group)) {}

DataParallel::~DataParallel() = default;

std::unique_ptr<DataParallel> DataParallel::channel(const std::string& name) const {
  auto group = std::make_unique<Group>();
  group->store = group_->store;
  group->backend =
      make_backend(c10::make_intrusive<c10d::PrefixStore>(name, group_->store), rank_, world_, device_, master_addr_);
  return std::unique_ptr<DataParallel>(new DataParallel(rank_, world_, device_, master_addr_, std::move(group)));
}

void DataParallel::broadcast_parameters(policy::CausalLMImpl& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters()) {
    std::vector<at::Tensor> tensors{p.data()};
    wait(rank_, "the weight broadcast", group_->backend->broadcast(tensors));
  }
}

void DataParallel::all_reduce_gradients(const std::vector<at::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  std::vector<float> defined;
  for (const auto& p : parameters) defined.push_back(p.grad().defined() ? 1.0f : 0.0f);
  std::vector<at::Tensor> flags{at::tensor(defined, at::kFloat).to(device_)};
  wait(rank_, "the gradient all-reduce", group_->backend->allreduce(flags));
  const at::Tensor has_grad = flags[0].cpu();
  std::vector<at::Tensor> summed;  // parameters with a gradient on some rank
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (has_grad[static_cast<int64_t>(i)].item<float>() == 0.0f) continue;
    at::Tensor p = parameters[i];
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    summed.push_back(p.grad());
  }
  for (std::size_t first = 0; first < summed.size();) {
    std::size_t last = first;
    int64_t elements = 0;
    while (last < summed.size() && (last == first || elements + summed[last].numel() <= bucket_elements))
      elements += summed[last++].numel();
    std::vector<at::Tensor> flat_parts;
    for (std::size_t i = first; i < last; ++i) flat_parts.push_back(summed[i].reshape({-1}));
    std::vector<at::Tensor> bucket{at::cat(flat_parts)};
    wait(rank_, "the gradient all-reduce", group_->backend->allreduce(bucket));
    int64_t offset = 0;
    for (std::size_t i = first; i < last; ++i) {
      summed[i].copy_(bucket[0].narrow(0, offset, summed[i].numel()).view_as(summed[i]));
      offset += summed[i].numel();
    }
    first = last;
  }
}

std::vector<double> DataParallel::sum(const std::vector<double>& values) {
  std::vector<at::Tensor> t{at::tensor(values, at::kDouble).to(device_)};
  wait(rank_, "a statistics all-reduce", group_->backend->allreduce(t));
  const at::Tensor summed = t[0].cpu();
  return {summed.data_ptr<double>(), summed.data_ptr<double>() + summed.numel()};
}

double DataParallel::max(double value) {
  std::vector<at::Tensor> t{at::tensor({value}, at::kDouble).to(device_)};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  wait(rank_, "a statistics all-reduce", group_->backend->allreduce(t, options));
  return t[0].item<double>();
}

std::vector<std::string> DataParallel::all_gather(const std::string& bytes) {
  const auto on_device = at::TensorOptions().device(device_);
  std::vector<at::Tensor> size{at::tensor({static_cast<int64_t>(bytes.size())}, at::kLong).to(device_)};
  std::vector<std::vector<at::Tensor>> sizes(1);
  for (int r = 0; r < world_; ++r) sizes[0].push_back(at::empty({1}, on_device.dtype(at::kLong)));
  wait(rank_, "a gather", group_->backend->allgather(sizes, size));
  int64_t longest = 0;
  for (const auto& s : sizes[0]) longest = std::max(longest, s.item<int64_t>());
  at::Tensor mine = at::zeros({std::max<int64_t>(longest, 1)}, at::kByte);
  std::memcpy(mine.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  std::vector<at::Tensor> input{mine.to(device_)};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int r = 0; r < world_; ++r) output[0].push_back(at::empty_like(input[0]));
  wait(rank_, "a gather", group_->backend->allgather(output, input));
  std::vector<std::string> out;
  for (int r = 0; r < world_; ++r) {
    const at::Tensor gathered = output[0][static_cast<std::size_t>(r)].cpu();
    out.emplace_back(reinterpret_cast<const char*>(gathered.data_ptr<uint8_t>()),
                     static_cast<std::size_t>(sizes[0][static_cast<std::size_t>(r)].item<int64_t>()));
  }
  return out;
}

void DataParallel::barrier() { wait(rank_, "a barrier", group_->backend->barrier()); }

}  // namespace aha::rl
