// Reading, tokenizing and ordering the SFT pairs.
#include "datasets/sft_data.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.hpp"

namespace aha::datasets {

namespace {

std::string text(const nlohmann::json& record, const std::string& key, const std::string& where) {
  const auto it = record.find(key);
  if (it == record.end())
    throw Error(
        fmt::format("{}: the record has no \"{}\" field (set data.prompt_key / data.completion_key?)", where, key));
  if (!it->is_string()) throw Error(fmt::format("{}: \"{}\" must be a string, not {}", where, key, it->type_name()));
  return it->get<std::string>();
}

}  // namespace

SftPairs read_sft_pairs(const std::filesystem::path& path, const SftDataSection& data,
                        const policy::Tokenizer& tokenizer, int64_t eos_id, const std::string& student) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot read the training pairs", path.string()));
  SftPairs out;
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path.string(), number);
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded()) throw Error(fmt::format("{}: malformed JSON", where));
    if (!record.is_object()) throw Error(fmt::format("{}: expected a JSON object per line", where));
    if (const auto teacher = record.find("tokenizer");
        teacher != record.end() && teacher->is_string() && *teacher != tokenizer.fingerprint())
      throw Error(fmt::format("{}: these traces come from a teacher whose tokenizer (fingerprint {}) is not the "
                              "student's ({}, fingerprint {}); teacher and student must share a tokenizer",
                              where, teacher->get<std::string>(), student, tokenizer.fingerprint()));
    TokenPair s;
    s.prompt = tokenizer.encode(text(record, data.prompt_key, where));
    s.completion = tokenizer.encode(text(record, data.completion_key, where));
    if (s.completion.empty()) throw Error(fmt::format("{}: the completion is empty", where));
    s.completion.push_back(eos_id);
    if (s.prompt.empty()) throw Error(fmt::format("{}: the prompt is empty", where));
    if (static_cast<int64_t>(s.prompt.size() + s.completion.size()) > data.max_tokens) {
      ++out.too_long;
      continue;
    }
    out.pairs.push_back(std::move(s));
  }
  if (out.pairs.empty())
    throw Error(fmt::format("{}: no pairs to train on ({} longer than data.max_tokens = {})", path.string(),
                            out.too_long, data.max_tokens));
  return out;
}

PairOrder::PairOrder(std::size_t pairs, bool shuffle, uint64_t seed) : pairs_(pairs), shuffle_(shuffle), seed_(seed) {
  order_epoch();
}

void PairOrder::order_epoch() {
  if (shuffle_) {
    cursor_.order = shuffled_indices(pairs_, seed_, cursor_.epoch);
  } else {
    cursor_.order.resize(pairs_);
    std::iota(cursor_.order.begin(), cursor_.order.end(), std::size_t{0});
  }
}

std::vector<std::size_t> PairOrder::next(std::size_t count) {
  std::vector<std::size_t> out;
  while (out.size() < count) {
    if (cursor_.position >= static_cast<int64_t>(pairs_)) {
      ++cursor_.epoch;
      cursor_.position = 0;
      order_epoch();
    }
    out.push_back(cursor_.order[static_cast<std::size_t>(cursor_.position++)]);
  }
  return out;
}

double PairOrder::epochs_done() const {
  return static_cast<double>(cursor_.epoch) + static_cast<double>(cursor_.position) / static_cast<double>(pairs_);
}

void PairOrder::restore(PromptCursor cursor) {
  if (cursor.order.size() != pairs_)
    throw Error(fmt::format("the saved data cursor covers {} pairs, the data has {}: was the data file changed?",
                            cursor.order.size(), pairs_));
  cursor_ = std::move(cursor);
}

}  // namespace aha::datasets
