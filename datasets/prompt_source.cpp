// JSONL reading, templating and the seeded, resumable prompt order.
#include "datasets/prompt_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>
#include <unordered_set>

#include "core/error.hpp"

namespace aha::datasets {

const char* const r1_zero_template =
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
    "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: {question}. "
    "Assistant:";

namespace {

std::string text_field(const nlohmann::json& record, const std::string& key, const std::string& where, bool required) {
  const auto it = record.find(key);
  if (it == record.end()) {
    if (required) throw Error(fmt::format("{}: the record has no \"{}\" field (set data.question_key?)", where, key));
    return "";
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  throw Error(fmt::format("{}: \"{}\" must be a string or a number, not {}", where, key, it->type_name()));
}

}  // namespace

std::vector<PromptRecord> read_prompt_records(const std::filesystem::path& path, const DataSection& data,
                                              std::size_t* duplicates_dropped) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot read the prompt file", path.string()));
  std::vector<PromptRecord> records;
  std::unordered_set<std::string> seen;
  std::size_t duplicates = 0, number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path.string(), number);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(fmt::format("{}: malformed JSON: {}", where, e.what()));
    }
    if (!record.is_object()) throw Error(fmt::format("{}: expected a JSON object per line", where));
    PromptRecord r;
    r.question = text_field(record, data.question_key, where, true);
    r.answer = text_field(record, data.answer_key, where, false);
    if (data.curriculum == Curriculum::field) {
      const auto it = record.find(data.difficulty_key);
      if (it == record.end() || !it->is_number())
        throw Error(fmt::format("{}: curriculum = \"field\" needs a number in \"{}\"", where, data.difficulty_key));
      r.difficulty = it->get<double>();
    }
    r.fields = std::move(record);
    r.line = number;
    if (data.dedupe && !seen.insert(r.question).second) {
      ++duplicates;
      continue;
    }
    records.push_back(std::move(r));
  }
  if (records.empty()) throw Error(fmt::format("{}: no prompts in the file", path.string()));
  if (duplicates_dropped) *duplicates_dropped = duplicates;
  return records;
}

void check_fields_for_rules(const std::vector<PromptRecord>& records, const std::filesystem::path& path,
                            const DataSection& data, const std::vector<rewards::RewardSpec>& rules) {
  if (records.empty()) return;
  const PromptRecord& first = records.front();
  std::string fields;
  for (const auto& [key, value] : first.fields.items()) fields += (fields.empty() ? "" : ", ") + key;
  for (const auto& rule : rules) {
    if (std::holds_alternative<rewards::MathKeys>(rule.keys) && !first.fields.contains(data.answer_key))
      throw Error(fmt::format("{}:{}: the record has no \"{}\" field, which the math rule \"{}\" compares against "
                              "(data.answer_key); its fields: {}",
                              path.string(), first.line, data.answer_key, rule.name, fields));
    if (std::holds_alternative<rewards::CodeKeys>(rule.keys) && !first.fields.contains("tests") &&
        !first.fields.contains("entry_point"))
      throw Error(fmt::format("{}:{}: the record has neither \"tests\" nor \"entry_point\", which the code rule "
                              "\"{}\" runs; its fields: {}",
                              path.string(), first.line, rule.name, fields));
  }
}

std::string apply_template(const std::string& prompt_template, const std::string& question) {
  const std::string& text = prompt_template == "r1_zero" ? std::string(r1_zero_template) : prompt_template;
  std::string out;
  const std::string marker = "{question}";
  std::size_t from = 0;
  for (std::size_t at; (at = text.find(marker, from)) != std::string::npos; from = at + marker.size())
    out.append(text, from, at - from).append(question);
  return out.append(text, from);
}

std::vector<std::size_t> shuffled_indices(std::size_t count, uint64_t seed, int64_t epoch) {
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(seed + static_cast<uint64_t>(epoch) * 0x9e3779b97f4a7c15ull);
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

PromptSource::PromptSource(std::vector<PromptRecord> records, DataSection data, uint64_t seed)
    : records_(std::move(records)), data_(std::move(data)), seed_(seed) {
  cursor_.pass_rates.assign(records_.size(), 0.5);
  order_epoch();
}

void PromptSource::order_epoch() {
  auto& order = cursor_.order;
  const auto& rates = cursor_.pass_rates;
  order.resize(records_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (data_.curriculum == Curriculum::field) {
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return records_[a].difficulty < records_[b].difficulty; });
  } else if (data_.curriculum == Curriculum::pass_rate) {  // most often solved first
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rates[a] > rates[b]; });
  } else if (data_.shuffle) {
    order = shuffled_indices(records_.size(), seed_, cursor_.epoch);
  }
}

std::vector<std::size_t> PromptSource::next(std::size_t count) {
  std::vector<std::size_t> out;
  while (out.size() < count) {
    if (cursor_.position >= static_cast<int64_t>(cursor_.order.size())) {
      ++cursor_.epoch;
      cursor_.position = 0;
      order_epoch();
    }
    out.push_back(cursor_.order[static_cast<std::size_t>(cursor_.position++)]);
  }
  return out;
}

std::string detect_question_key(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot open the problems file", path.string()));
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto record = nlohmann::json::parse(line, nullptr, false);
    return record.is_object() && record.contains("problem") && !record.contains("question") ? "problem" : "question";
  }
  return "question";
}

std::string PromptSource::prompt_text(std::size_t index) const {
  return apply_template(data_.prompt_template, records_.at(index).question);
}

void PromptSource::record_pass_rate(std::size_t index, double pass_rate) { cursor_.pass_rates.at(index) = pass_rate; }

void PromptSource::restore(PromptCursor cursor) {
  const bool fits =
      cursor.pass_rates.size() == records_.size() && cursor.order.size() == records_.size() &&
      std::all_of(cursor.order.begin(), cursor.order.end(), [&](std::size_t i) { return i < records_.size(); });
  if (!fits)
    throw Error(fmt::format("the saved data cursor covers {} prompts, the data has {}: was the data file changed?",
                            cursor.order.size(), records_.size()));
  cursor_ = std::move(cursor);
}

}  // namespace aha::datasets
