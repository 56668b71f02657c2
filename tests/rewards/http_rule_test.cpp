// rule = "http" against a real server (tests/rewards/scoring_server.py): scores and flags come back
// in order over several concurrent requests; a failed request is retried; a reply of the wrong
// length, a server past timeout_s, one that refuses the token or cannot be reached fails the
// records of that request, naming the URL and why; a URL it cannot use is a config error.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "rewards/http_rule.hpp"
#include "tests/rewards/scoring_server.hpp"

using namespace aha::rewards;

namespace {

HttpKeys keys(const std::string& url, int retries = 0, double timeout_s = 20.0) {
  HttpKeys k;
  k.url = url;
  k.retries = retries;
  k.timeout_s = timeout_s;
  k.batch_size = 3;
  k.concurrency = 2;
  return k;
}

std::vector<CompletionRecord> records(const std::vector<std::string>& completions) {
  std::vector<CompletionRecord> out;
  for (const auto& c : completions) {
    CompletionRecord r;
    r.completion = c;
    r.answer = "4";
    out.push_back(r);
  }
  return out;
}

std::string error_of(const BatchOutcome& outcome) { return std::get<std::string>(outcome); }

}  // namespace

TEST_CASE("a server scores a batch over several concurrent requests, in order, with flags") {
  const ScoringServer server;
  const HttpRule rule(keys(server.url("/score")));
  std::vector<std::string> completions;
  for (int i = 0; i < 10; ++i) completions.push_back(std::string(static_cast<std::size_t>(i + 1), 'x'));
  completions[4] = "flag";
  const auto outcomes = rule.score_batch(records(completions));
  REQUIRE(outcomes.size() == 10);
  for (std::size_t i = 0; i < 10; ++i) {
    const RuleOutcome& o = std::get<RuleOutcome>(outcomes[i]);
    if (i == 4) {
      CHECK(o.score == 1.0);
      REQUIRE(o.flags.size() == 1);
      CHECK(o.flags[0].name == "correct");
    } else {
      CHECK(o.score == static_cast<double>(i + 1));
    }
  }
}

TEST_CASE("a failed request is sent again; one that keeps failing fails its records, saying why") {
  const ScoringServer server;
  CHECK(HttpRule(keys(server.url("/flaky"), 1)).score(records({"abc"}).front()).score == 3.0);
  const auto short_reply = HttpRule(keys(server.url("/short"))).score_batch(records({"a", "b"}));
  CHECK_THAT(error_of(short_reply[0]),
             Catch::Contains("/short failed 1 time") && Catch::Contains("expected a JSON array of 2 scores"));
  const auto slow = HttpRule(keys(server.url("/slow"), 0, 0.5)).score_batch(records({"a"}));
  CHECK_THAT(error_of(slow[0]), Catch::Contains("/slow failed 1 time"));
  const auto refused = HttpRule(keys(server.url("/private"))).score_batch(records({"a"}));
  CHECK_THAT(error_of(refused[0]), Catch::Contains("status 401"));
  const auto nobody = HttpRule(keys("http://127.0.0.1:1/score", 2)).score_batch(records({"a"}));
  CHECK_THAT(error_of(nobody[0]), Catch::Contains("http://127.0.0.1:1/score failed 3 times"));
}

TEST_CASE("a bearer token from token_file reaches the server") {
  const ScoringServer server;
  const auto file = std::filesystem::temp_directory_path() / ("aha-http-token-" + std::to_string(::getpid()));
  std::ofstream(file) << "s3cret\n";
  HttpKeys k = keys(server.url("/private"));
  k.token_file = file.string();
  CHECK(HttpRule(k).score(records({"abcd"}).front()).score == 4.0);
}

TEST_CASE("a URL the http rule cannot use is a config error") {
  CHECK_THROWS_AS(HttpRule(keys("https://example.com/score")), aha::ConfigError);
  CHECK_THROWS_WITH(HttpRule(keys("localhost:8000")), Catch::Contains("expected http://host:port/path"));
}
