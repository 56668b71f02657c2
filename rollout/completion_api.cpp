// Parsing and writing the /v1/completions JSON.
#include "rollout/completion_api.hpp"

#include <fmt/format.h>

#include <chrono>

namespace aha::rollout {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& message) { throw ApiError(400, message); }

template <typename T>
T number(const json& body, const char* key, T fallback, T low, T high) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_number()) bad(fmt::format("\"{}\" must be a number", key));
  if constexpr (std::is_integral_v<T>) {
    if (!it->is_number_integer()) bad(fmt::format("\"{}\" must be an integer", key));
  }
  const T value = it->get<T>();
  if (value < low || value > high) bad(fmt::format("\"{}\" must be between {} and {}", key, low, high));
  return value;
}

std::vector<int64_t> token_ids(const json& list, const char* what) {
  std::vector<int64_t> ids;
  for (const auto& id : list) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0) bad(fmt::format("{}: token ids must be integers >= 0", what));
    ids.push_back(id.get<int64_t>());
  }
  if (ids.empty()) bad(fmt::format("{}: a prompt needs at least one token", what));
  return ids;
}

// Base64 of the int16 routing, little-endian.
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const std::vector<int16_t>& values) {
  std::string bytes;
  for (const int16_t v : values) {
    bytes.push_back(static_cast<char>(static_cast<uint16_t>(v) & 0xff));
    bytes.push_back(static_cast<char>(static_cast<uint16_t>(v) >> 8));
  }
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t chunk = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(alphabet[(chunk >> 18) & 63]);
    out.push_back(alphabet[(chunk >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? alphabet[(chunk >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? alphabet[chunk & 63] : '=');
  }
  return out;
}

std::vector<int16_t> from_base64(const std::string& text) {
  std::string bytes;
  uint32_t chunk = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=') break;
    const char* at = std::char_traits<char>::find(alphabet, 64, c);
    if (!at) throw std::runtime_error("routing: not base64");
    chunk = (chunk << 6) | static_cast<uint32_t>(at - alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((chunk >> bits) & 0xff));
    }
  }
  std::vector<int16_t> values;
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2)
    values.push_back(static_cast<int16_t>(static_cast<uint8_t>(bytes[i]) | (static_cast<uint8_t>(bytes[i + 1]) << 8)));
  return values;
}

}  // namespace

CompletionRequest parse_completion_request(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) bad("the body is not valid JSON");
  if (!j.is_object()) bad("the body must be a JSON object");
  CompletionRequest r;
  const auto prompt = j.find("prompt");
  if (prompt == j.end())
    bad("\"prompt\" is required: a string, a list of strings, a list of token ids or a list of them");
  if (prompt->is_string()) {
    r.prompt_texts.push_back(prompt->get<std::string>());
  } else if (prompt->is_array() && !prompt->empty() && prompt->front().is_number_integer()) {
    r.prompt_ids.push_back(token_ids(*prompt, "\"prompt\""));
  } else if (prompt->is_array() && !prompt->empty()) {
    for (const auto& p : *prompt) {
      if (p.is_string() && r.prompt_ids.empty()) r.prompt_texts.push_back(p.get<std::string>());
      else if (p.is_array() && r.prompt_texts.empty()) r.prompt_ids.push_back(token_ids(p, "\"prompt\""));
      else bad("\"prompt\": a list must hold only strings or only lists of token ids");
    }
  } else {
    bad("\"prompt\" must be a string, a list of strings, a list of token ids or a list of them");
  }
  r.n = number<int>(j, "n", 1, 1, 1024);
  r.max_tokens = number<int>(j, "max_tokens", 16, 1, 1 << 20);
  r.temperature = number<double>(j, "temperature", 1.0, 0.0, 100.0);
  if (r.temperature == 0.0) bad("\"temperature\" 0 (greedy) is not served: rollouts sample; use a small temperature");
  r.top_p = number<double>(j, "top_p", 1.0, 1e-9, 1.0);
  r.top_k = number<int>(j, "top_k", 0, -1, 1 << 24);
  if (r.top_k < 0) r.top_k = 0;  // vLLM's -1: off
  r.min_p = number<double>(j, "min_p", 0.0, 0.0, 1.0);
  if (j.contains("logprobs") && !j["logprobs"].is_null()) r.logprobs = number<int>(j, "logprobs", 0, 0, 20);
  if (const auto stop = j.find("stop"); stop != j.end() && !stop->is_null()) {
    if (stop->is_string()) r.stop.push_back(stop->get<std::string>());
    else if (stop->is_array())
      for (const auto& s : *stop) {
        if (!s.is_string()) bad("\"stop\" must be a string or a list of strings");
        r.stop.push_back(s.get<std::string>());
      }
    else bad("\"stop\" must be a string or a list of strings");
  }
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer()) bad("\"seed\" must be an integer");
    r.seed = j["seed"].get<uint64_t>();
  }
  if (j.contains("weight_version") && !j["weight_version"].is_null())
    r.weight_version = number<int64_t>(j, "weight_version", 0, 0, std::numeric_limits<int64_t>::max());
  if (const auto routing = j.find("return_routing"); routing != j.end()) {
    if (!routing->is_boolean()) bad("\"return_routing\" must be true or false");
    r.return_routing = routing->get<bool>();
  }
  return r;
}

json to_json(const CompletionRequest& r) {
  // return_token_ids and include_stop_str_in_output ask vLLM for what aha workers always return.
  json j{{"n", r.n},
         {"max_tokens", r.max_tokens},
         {"temperature", r.temperature},
         {"top_p", r.top_p},
         {"top_k", r.top_k},
         {"min_p", r.min_p},
         {"stop", r.stop},
         {"return_routing", r.return_routing},
         {"return_token_ids", true},
         {"include_stop_str_in_output", true}};
  if (!r.prompt_ids.empty()) j["prompt"] = r.prompt_ids;
  else j["prompt"] = r.prompt_texts;
  if (r.logprobs) j["logprobs"] = *r.logprobs;
  if (r.seed) j["seed"] = *r.seed;
  if (r.weight_version) j["weight_version"] = *r.weight_version;
  return j;
}

json to_json(const CompletionResponse& response, const std::string& model, int64_t prompt_tokens) {
  json choices = json::array();
  int64_t completion_tokens = 0;
  for (std::size_t i = 0; i < response.choices.size(); ++i) {
    const CompletionChoice& c = response.choices[i];
    completion_tokens += static_cast<int64_t>(c.token_ids.size());
    json choice{{"index", i},
                {"text", c.text},
                {"finish_reason", c.stopped ? "stop" : "length"},
                {"token_ids", c.token_ids},
                {"logprobs", {{"token_logprobs", c.token_logprobs}}}};
    if (!c.routing_shape.empty()) choice["routing"] = {{"shape", c.routing_shape}, {"int16_base64", base64(c.routing)}};
    choices.push_back(std::move(choice));
  }
  const auto created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  return {{"id", fmt::format("cmpl-{}", created.count())},
          {"object", "text_completion"},
          {"created", created.count()},
          {"model", model},
          {"weight_version", response.weight_version.value_or(0)},
          {"choices", choices},
          {"usage",
           {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens}}}};
}

CompletionResponse parse_completion_response(const std::string& body) {
  try {
    const json j = json::parse(body);
    CompletionResponse r;
    if (j.contains("weight_version")) r.weight_version = j["weight_version"].get<int64_t>();
    for (const auto& c : j.at("choices")) {
      CompletionChoice choice;
      choice.text = c.at("text").get<std::string>();
      if (!c.contains("token_ids"))
        throw std::runtime_error("a choice has no \"token_ids\": the server must return the sampled token ids "
                                 "(vLLM: \"return_token_ids\")");
      choice.token_ids = c["token_ids"].get<std::vector<int64_t>>();
      choice.token_logprobs = c.at("logprobs").at("token_logprobs").get<std::vector<float>>();
      choice.stopped = c.at("finish_reason").get<std::string>() == "stop";
      if (c.contains("routing")) {
        choice.routing_shape = c["routing"].at("shape").get<std::vector<int64_t>>();
        choice.routing = from_base64(c["routing"].at("int16_base64").get<std::string>());
      }
      r.choices.push_back(std::move(choice));
    }
    return r;
  } catch (const json::exception& e) {
    throw std::runtime_error(fmt::format("a malformed completion response: {}", e.what()));
  }
}

}  // namespace aha::rollout
