// Prompt files and the prompt order: line-numbered errors, dedupe, the R1-Zero template,
// seeded epochs, curricula, and resuming from a saved cursor.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "datasets/prompt_source.hpp"
#include "tests/test_paths.hpp"

using namespace aha::datasets;

namespace {

std::filesystem::path write_jsonl(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path;
}

std::string numbered(int count) {
  std::string text;
  for (int i = 0; i < count; ++i)
    text += R"({"question": "q)" + std::to_string(i) + R"(", "answer": ")" + std::to_string(i) +
            "\", \"level\": " + std::to_string((i * 7) % 10) + "}\n";
  return text;
}

}  // namespace

TEST_CASE("a malformed line or a missing question is an error naming file:line") {
  const DataSection data;
  const auto bad_json = write_jsonl("bad.jsonl", "{\"question\": \"a\"}\n{oops\n");
  CHECK_THROWS_WITH(read_prompt_records(bad_json, data), Catch::Contains(bad_json.string() + ":2: malformed JSON"));
  const auto no_question = write_jsonl("noq.jsonl", "\n{\"prompt\": \"a\"}\n");
  CHECK_THROWS_WITH(read_prompt_records(no_question, data),
                    Catch::Contains(":2: the record has no \"question\" field"));
  const auto not_object = write_jsonl("arr.jsonl", "[1, 2]\n");
  CHECK_THROWS_WITH(read_prompt_records(not_object, data), Catch::Contains(":1: expected a JSON object per line"));
  CHECK_THROWS_WITH(read_prompt_records("no/such.jsonl", data), Catch::Contains("no/such.jsonl: cannot read"));
}

TEST_CASE("duplicates are dropped and counted; numbers are accepted as answers") {
  const auto path =
      write_jsonl("dup.jsonl", "{\"question\": \"a\", \"answer\": 4}\n{\"question\": \"a\"}\n{\"question\": \"b\"}\n");
  std::size_t dropped = 0;
  const auto records = read_prompt_records(path, DataSection{}, &dropped);
  CHECK(records.size() == 2);
  CHECK(dropped == 1);
  CHECK(records[0].answer == "4");
  CHECK(records[1].line == 3);
}

TEST_CASE("GSM8K reads with its own keys") {
  const auto path = data_dir() / "gsm8k/test.jsonl";
  if (!std::filesystem::exists(path)) {
    WARN("skipped: " << path << " is missing (set AHA_DATA_DIR)");
    return;
  }
  const auto records = read_prompt_records(path, DataSection{});
  CHECK(records.size() == 1319);
  CHECK_THAT(records[0].answer, Catch::Contains("#### 18"));
}

TEST_CASE("the R1-Zero template and user templates") {
  CHECK_THAT(apply_template("r1_zero", "What is 2+3?"),
             Catch::StartsWith("A conversation between User and Assistant.") &&
                 Catch::EndsWith("User: What is 2+3?. Assistant:"));
  CHECK(apply_template("Q: {question}\nA: {question}", "x") == "Q: x\nA: x");
}

TEST_CASE("the order is seeded, covers each epoch once, and resumes exactly") {
  const auto records = read_prompt_records(write_jsonl("n.jsonl", numbered(10)), DataSection{});
  PromptSource a(records, DataSection{}, 42), b(records, DataSection{}, 42), c(records, DataSection{}, 43);
  const auto first = a.next(10);
  CHECK(first == b.next(10));
  CHECK(first != c.next(10));
  std::vector<std::size_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  a.next(3);
  PromptSource resumed(records, DataSection{}, 42);
  resumed.restore(a.cursor());
  CHECK(resumed.next(15) == a.next(15));
  PromptSource other(read_prompt_records(write_jsonl("m.jsonl", numbered(4)), DataSection{}), DataSection{}, 42);
  CHECK_THROWS_AS(other.restore(a.cursor()), aha::Error);
}

TEST_CASE("curricula: by a difficulty field, and by measured pass rate") {
  DataSection data;
  data.curriculum = Curriculum::field;
  data.difficulty_key = "level";
  const auto records = read_prompt_records(write_jsonl("c.jsonl", numbered(10)), data);
  PromptSource by_field(records, data, 1);
  double last = -1;
  for (const auto i : by_field.next(10)) {
    CHECK(records[i].difficulty >= last);
    last = records[i].difficulty;
  }
  data.curriculum = Curriculum::pass_rate;
  PromptSource by_rate(records, data, 1);
  by_rate.next(10);
  by_rate.record_pass_rate(7, 0.9);
  by_rate.record_pass_rate(2, 0.8);
  const auto next_epoch = by_rate.next(2);
  CHECK(next_epoch == std::vector<std::size_t>{7, 2});
}
