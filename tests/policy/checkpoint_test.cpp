// Checkpoint files that are wrong in the ways real ones are: truncated or lying safetensors
// headers, missing, extra and mis-shaped tensors, unsupported configs; and sharded folders.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "policy/checkpoint.hpp"
#include "tests/test_paths.hpp"

using namespace aha::policy;

namespace {

const std::filesystem::path qwen3_moe = source_dir() / "tests/fixtures/models/qwen3_moe";

// A fresh folder holding a copy of the fixture's config.json.
std::filesystem::path scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-ckpt-" + name + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(qwen3_moe / "config.json", dir / "config.json");
  return dir;
}

std::map<std::string, at::Tensor> fixture_tensors() {
  const auto file = SafetensorsFile::open(qwen3_moe / "model.safetensors");
  std::map<std::string, at::Tensor> out;
  for (const auto& name : file.names()) out[name] = file.tensor(name).clone();
  return out;
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string header_file(const std::string& json) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return out + json;
}

}  // namespace

TEST_CASE("safetensors round-trips every supported dtype") {
  const auto dir = scratch("dtypes");
  std::map<std::string, at::Tensor> tensors{{"f32", at::randn({2, 3})},
                                            {"bf16", at::randn({4}).to(at::kBFloat16)},
                                            {"f16", at::randn({1, 2, 2}).to(at::kHalf)},
                                            {"i64", at::arange(5)},
                                            {"i32", at::arange(3).to(at::kInt)},
                                            {"u8", at::arange(7).to(at::kByte)},
                                            {"flag", at::ones({2}, at::kBool)},
                                            {"empty", at::empty({0, 4})}};
  write_safetensors(dir / "t.safetensors", tensors);
  const auto file = SafetensorsFile::open(dir / "t.safetensors");
  CHECK(file.metadata().at("format") == "pt");
  for (const auto& [name, tensor] : tensors) {
    INFO(name);
    CHECK(file.tensor(name).scalar_type() == tensor.scalar_type());
    CHECK(at::equal(file.tensor(name), tensor));
  }
  std::ifstream in(dir / "t.safetensors", std::ios::binary);
  unsigned char length[8];
  in.read(reinterpret_cast<char*>(length), 8);
  CHECK(length[0] % 8 == 0);  // the header is padded to 8 bytes
  std::filesystem::remove_all(dir);
}

TEST_CASE("malformed safetensors files are refused with the file and tensor named") {
  const auto dir = scratch("bad");
  write_bytes(dir / "short.safetensors", "abc");
  CHECK_THROWS_WITH(SafetensorsFile::open(dir / "short.safetensors"),
                    Catch::Contains("shorter than the 8-byte header"));
  write_bytes(dir / "huge.safetensors", header_file("{}").replace(0, 8, std::string(7, '\xff') + '\x7f'));
  CHECK_THROWS_WITH(SafetensorsFile::open(dir / "huge.safetensors"), Catch::Contains("does not fit in the file"));
  write_bytes(dir / "json.safetensors", header_file("{not json"));
  CHECK_THROWS_WITH(SafetensorsFile::open(dir / "json.safetensors"), Catch::Contains("malformed JSON header"));
  write_bytes(dir / "range.safetensors",
              header_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})") + std::string(8, '\0'));
  CHECK_THROWS_WITH(SafetensorsFile::open(dir / "range.safetensors"),
                    Catch::Contains("tensor \"w\": data_offsets [0, 16]"));
  write_bytes(dir / "dtype.safetensors",
              header_file(R"({"w":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}})") + "x");
  CHECK_THROWS_WITH(SafetensorsFile::open(dir / "dtype.safetensors"),
                    Catch::Contains("dtype \"F8_E9\" is not supported"));
  write_bytes(
      dir / "overlap.safetensors",
      header_file(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})") +
          std::string(12, '\0'));
  CHECK_THROWS_WITH(SafetensorsFile::open(dir / "overlap.safetensors"), Catch::Contains("share bytes"));
  CHECK_THROWS_WITH(SafetensorsFile::open(dir / "absent.safetensors"), Catch::Contains("cannot open"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("loading names each missing, extra and mis-shaped tensor") {
  auto tensors = fixture_tensors();
  tensors.erase("model.layers.1.mlp.experts.3.up_proj.weight");
  tensors["model.layers.0.self_attn.q_proj.weight"] = at::zeros({3, 3});
  tensors["model.extra.weight"] = at::zeros({1});
  const auto dir = scratch("wrong");
  write_safetensors(dir / "model.safetensors", tensors);
  try {
    load_causal_lm(dir);
    FAIL("loading should have failed");
  } catch (const aha::Error& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Catch::Contains("missing from the checkpoint: model.layers.1.mlp.experts.3.up_proj.weight"));
    CHECK_THAT(message, Catch::Contains("in the checkpoint but not in the model: model.extra.weight"));
    CHECK_THAT(message,
               Catch::Contains("shape mismatch: model.layers.0.self_attn.q_proj.weight (checkpoint 3x3, model 64x64)"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("config.json problems are errors that name the key") {
  nlohmann::json config = nlohmann::json::parse(std::ifstream(qwen3_moe / "config.json"));
  config["model_type"] = "gpt_neox";
  CHECK_THROWS_WITH(parse_model_config(config, "c.json"),
                    Catch::Contains("c.json: model_type \"gpt_neox\" is not supported"));
  config["model_type"] = "qwen3_moe";
  config.erase("hidden_size");
  CHECK_THROWS_WITH(parse_model_config(config, "c.json"),
                    Catch::Contains("the required key \"hidden_size\" is missing"));
  config["hidden_size"] = "wide";
  CHECK_THROWS_WITH(parse_model_config(config, "c.json"), Catch::Contains("\"hidden_size\" has the wrong type"));
  CHECK_THROWS_WITH(read_model_config(source_dir() / "tests"), Catch::Contains("cannot read config.json"));
}

TEST_CASE("a sharded checkpoint loads like the single file") {
  const auto tensors = fixture_tensors();
  const auto dir = scratch("sharded");
  std::map<std::string, at::Tensor> first, second;
  nlohmann::json index{{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  for (const auto& [name, tensor] : tensors) {
    const bool early = name < "model.layers.2";
    (early ? first : second)[name] = tensor;
    index["weight_map"][name] = early ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  write_safetensors(dir / "model-00001-of-00002.safetensors", first);
  write_safetensors(dir / "model-00002-of-00002.safetensors", second);
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  CausalLM sharded = load_causal_lm(dir), single = load_causal_lm(qwen3_moe);
  torch::NoGradGuard no_grad;
  const at::Tensor ids = at::tensor({3, 9, 27, 81}, at::kLong).unsqueeze(0), mask = at::ones({1, 4}, at::kLong);
  CHECK(at::equal(sharded->forward(ids, mask).hidden, single->forward(ids, mask).hidden));

  index["weight_map"]["model.norm.weight"] = "model-00003-of-00002.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  CHECK_THROWS_WITH(CheckpointTensors::open(dir), Catch::Contains("cannot open"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("router statistics count the routed slots of real tokens per layer") {
  CausalLM model = load_causal_lm(qwen3_moe);
  torch::NoGradGuard no_grad;
  const at::Tensor ids = at::tensor({3, 9, 27, 81, 0, 0, 5, 6}, at::kLong).view({2, 4});
  const at::Tensor mask = at::tensor({1, 1, 1, 1, 0, 0, 1, 1}, at::kLong).view({2, 4});
  const auto out = model->forward(ids, mask);
  const at::Tensor counts = tokens_per_expert(out.routers, mask.reshape({-1}), model->config().num_experts);
  CHECK(counts.sizes() == at::IntArrayRef({2, 4}));
  CHECK((counts.sum(1) == 6 * model->config().num_experts_per_tok).all().item<bool>());
}

TEST_CASE("a shard outside the model folder, a size out of range or one the weights lack is refused first") {
  const auto dir = scratch("escape");
  write_safetensors(dir / "model.safetensors", fixture_tensors());
  nlohmann::json index{{"weight_map", {{"model.norm.weight", "../outside.safetensors"}}}};
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  CHECK_THROWS_WITH(CheckpointTensors::open(dir), Catch::Contains("is not a file of the model folder"));
  std::filesystem::create_symlink("/etc/hostname", dir / "linked.safetensors");
  index["weight_map"]["model.norm.weight"] = "linked.safetensors";
  std::ofstream(dir / "model.safetensors.index.json", std::ios::trunc) << index.dump();
  CHECK_THROWS_WITH(CheckpointTensors::open(dir), Catch::Contains("is not a file of the model folder"));
  std::filesystem::remove(dir / "model.safetensors.index.json");

  nlohmann::json config = nlohmann::json::parse(std::ifstream(qwen3_moe / "config.json"));
  config["vocab_size"] = 1e12;
  CHECK_THROWS_WITH(parse_model_config(config, "c.json"),
                    Catch::Contains("\"vocab_size\" = 1000000000000.0 is out of range"));
  config["vocab_size"] = 1 << 30;
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
  CHECK_THROWS_WITH(load_causal_lm(dir), Catch::Contains("config.json says vocab_size 1073741824"));
  config = nlohmann::json::parse(std::ifstream(qwen3_moe / "config.json"));
  config["num_hidden_layers"] = 100000;
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
  CHECK_THROWS_WITH(load_causal_lm(dir), Catch::Contains("num_hidden_layers 100000, which the weights do not hold"));
  std::filesystem::remove_all(dir);
}
