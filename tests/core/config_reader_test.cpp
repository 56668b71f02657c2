// The config mechanism on a small schema of its own: types, ranges, required keys, unknown keys,
// selector cases, arrays of tables, overrides, the writer's round trip and the docs.
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include "core/config_docs.hpp"
#include "core/config_reader.hpp"
#include "core/config_writer.hpp"
#include "core/error.hpp"

using namespace aha::config;

namespace {

enum class Mode { fast, careful };
constexpr std::array<std::pair<Mode, std::string_view>, 2> mode_names{
    {{Mode::fast, "fast"}, {Mode::careful, "careful"}}};

struct Run {
  std::string name;
  int count = 0;
  double rate = 0;
  bool verbose = false;
  Mode mode = Mode::fast;
  std::vector<std::string> tags;
};

struct Circle {
  double radius = 1;
};
struct Square {
  int side = 1;
};
enum class Shape { circle, square };
constexpr std::array<std::pair<Shape, std::string_view>, 2> shape_names{
    {{Shape::circle, "circle"}, {Shape::square, "square"}}};
struct Item {
  Shape shape = Shape::circle;
  std::variant<Circle, Square> keys;
};

struct Doc {
  Run run;
  std::vector<Item> items;
};

void bind(Binder& b, Run& r) {
  b.text({"name", "the run's name"}, r.name, std::nullopt);
  b.integer({"count", "how many"}, r.count, 4, {1, 10});
  b.number({"rate", "a rate"}, r.rate, 0.5, {0.0, 1.0, true, false});
  b.boolean({"verbose", "talk more"}, r.verbose, false);
  b.choice({"mode", "how"}, r.mode, Mode::fast, mode_names);
  b.texts({"tags", "labels"}, r.tags, {"a"});
}

void bind(Binder& b, Item& item) {
  const std::string shape = b.choice({"shape", "which shape"}, item.shape, std::nullopt, shape_names);
  const std::array cases{
      Case{"circle", "round",
           [&](Binder& c) {
             c.number({"radius", "r"}, ensure_alternative<Circle>(item.keys).radius, 1.0, {0.0, 10.0});
           }},
      Case{"square", "square",
           [&](Binder& c) {
             c.integer({"side", "s"}, ensure_alternative<Square>(item.keys).side, 1, {1, 10});
           }},
  };
  b.cases("shape", shape, cases);
}

template <class Walker>
void walk(Walker& w, Doc& d) {
  w.section("run", "the run", [&](Binder& b) { bind(b, d.run); });
  w.template table_array<Item>("item", "the items", d.items, [](Binder& b, Item& i) { bind(b, i); });
}

Doc parse(const std::string& text, std::vector<std::string> overrides = {}) {
  auto reader = ConfigReader::from_string(text, "test.toml");
  for (const auto& o : overrides) reader.apply_override(o);
  Doc doc;
  walk(reader, doc);
  reader.finish();
  return doc;
}

std::string error_of(const std::string& text, std::vector<std::string> overrides = {}) {
  try {
    parse(text, overrides);
  } catch (const aha::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("reader fills defaults and reads every type") {
  const Doc doc = parse(R"(
[run]
name = "x"
rate = 1
mode = "careful"
tags = ["p", "q"]
[[item]]
shape = "square"
side = 3
[[item]]
shape = "circle"
)");
  CHECK(doc.run.name == "x");
  CHECK(doc.run.count == 4);
  CHECK(doc.run.rate == 1.0);
  CHECK(doc.run.mode == Mode::careful);
  CHECK(doc.run.tags == std::vector<std::string>{"p", "q"});
  REQUIRE(doc.items.size() == 2);
  CHECK(std::get<Square>(doc.items[0].keys).side == 3);
  CHECK(std::get<Circle>(doc.items[1].keys).radius == 1.0);
}

TEST_CASE("reader reports each problem with file, line and column") {
  const std::string text = "[run]\nname = \"x\"\ncount = \"4\"\nrate = 0.0\nmode = \"carefull\"\ncolour = 1\n";
  const std::string message = error_of(text);
  CHECK_THAT(message, Catch::Contains("test.toml:3:9: run.count: expected an integer, got a string (\"4\")"));
  CHECK_THAT(message, Catch::Contains("test.toml:4:8: run.rate = 0.0 is out of range (allowed: (0.0, 1.0])"));
  CHECK_THAT(message, Catch::Contains(
                          "run.mode = \"carefull\" is not allowed (one of: fast, careful); did you mean \"careful\"?"));
  CHECK_THAT(message, Catch::Contains("test.toml:6:1: unknown key 'colour' in [run]"));
}

TEST_CASE("reader names a missing required key and a wrong array element") {
  CHECK_THAT(error_of("[run]\ncount = 2\n"), Catch::Contains("[run] is missing the required key 'name'"));
  CHECK_THAT(error_of("[run]\nname = \"x\"\ntags = [\"a\", 3]\n"),
             Catch::Contains("run.tags: expected an array of strings, but an element is, got an integer (3)"));
}

TEST_CASE("reader keys depend on the selector, and a bad selector does not cascade") {
  const std::string wrong_key = error_of("[run]\nname = \"x\"\n[[item]]\nshape = \"circle\"\nside = 2\n");
  CHECK_THAT(wrong_key, Catch::Contains("unknown key 'side' in [item[0]]"));
  const std::string bad_shape = error_of("[run]\nname = \"x\"\n[[item]]\nshape = \"triangle\"\nside = 2\n");
  CHECK_THAT(bad_shape, Catch::Contains("item[0].shape = \"triangle\" is not allowed"));
  CHECK_THAT(bad_shape, !Catch::Contains("unknown key"));
  CHECK_THAT(error_of("[run]\nname = \"x\"\n[item]\nshape = \"circle\"\n"),
             Catch::Contains("'item' must be written as [[item]] entries"));
}

TEST_CASE("reader flags unknown sections and stray top-level keys") {
  CHECK_THAT(error_of("[run]\nname = \"x\"\n[rnu]\n"), Catch::Contains("unknown section [rnu]; did you mean [run]?"));
  CHECK_THAT(error_of("count = 3\n[run]\nname = \"x\"\n"),
             Catch::Contains("key 'count' is outside any section; did you mean 'run.count'?"));
}

TEST_CASE("reader rejects non-finite numbers") {
  CHECK_THAT(error_of("[run]\nname = \"x\"\nrate = nan\n"), Catch::Contains("run.rate = nan is out of range"));
}

TEST_CASE("TOML syntax errors and duplicate tables carry their position") {
  CHECK_THROWS_WITH(ConfigReader::from_string("[run]\nname = \n", "bad.toml"), Catch::StartsWith("bad.toml:2:"));
  CHECK_THROWS_WITH(ConfigReader::from_string("[run]\n[run]\n", "dup.toml"),
                    Catch::StartsWith("dup.toml:2:") && Catch::Contains("TOML syntax error"));
}

TEST_CASE("overrides set, add and check keys, and name themselves in errors") {
  const std::string text = "[run]\nname = \"x\"\n[[item]]\nshape = \"square\"\n";
  const Doc doc = parse(text, {"run.count=7", "run.mode=careful", "run.tags=[\"z\"]", "item.0.side=9"});
  CHECK(doc.run.count == 7);
  CHECK(doc.run.mode == Mode::careful);
  CHECK(doc.run.tags == std::vector<std::string>{"z"});
  CHECK(std::get<Square>(doc.items[0].keys).side == 9);

  CHECK_THAT(error_of(text, {"run.count=abc"}),
             Catch::Contains("--set run.count=abc: run.count: expected an integer, got a string (\"abc\")"));
  CHECK_THAT(error_of(text, {"run.cout=3"}),
             Catch::Contains("--set run.cout=3: unknown key 'cout' in [run]; did you mean 'count'?"));
  CHECK_THAT(error_of(text, {"item.1.side=2"}), Catch::Contains("the config has 1 [[item]] entry"));
  auto reader = ConfigReader::from_string(text, "t.toml");
  CHECK_THROWS_AS(reader.apply_override("run.count"), aha::UsageError);
  CHECK_THROWS_AS(reader.apply_override("=3"), aha::UsageError);
  CHECK_THROWS_AS(reader.apply_override("count=3"), aha::UsageError);
  CHECK_THROWS_AS(reader.apply_override("run..count=3"), aha::UsageError);
  CHECK_THROWS_AS(reader.apply_override("item.x.side=3"), aha::UsageError);
}

TEST_CASE("writer output parses back to the same values") {
  Doc doc = parse(
      "[run]\nname = \"quote \\\" and \\\\ and\\nnewline\"\nrate = 0.1\n[[item]]\nshape = \"circle\"\nradius = 2.5\n");
  ConfigWriter writer;
  walk(writer, doc);
  const Doc again = parse(writer.text());
  CHECK(again.run.name == doc.run.name);
  CHECK(again.run.rate == doc.run.rate);
  CHECK(again.run.count == 4);
  CHECK(std::get<Circle>(again.items[0].keys).radius == 2.5);
  CHECK_THAT(writer.text(), Catch::Contains("[[item]]\nshape = \"circle\"\nradius = 2.5\n"));
}

TEST_CASE("docs list every key with its type, default and range, and every case") {
  Doc doc;
  ConfigDocs docs;
  walk(docs, doc);
  const std::string& md = docs.markdown();
  CHECK_THAT(md, Catch::Contains("## [run]"));
  CHECK_THAT(md, Catch::Contains("| `name` | string | required |  | the run's name |"));
  CHECK_THAT(md, Catch::Contains("| `count` | integer | `4` | 1 to 10 | how many |"));
  CHECK_THAT(md, Catch::Contains("| `rate` | number | `0.5` | (0.0, 1.0] | a rate |"));
  CHECK_THAT(md, Catch::Contains("## [[item]]"));
  CHECK_THAT(md, Catch::Contains("With `shape = \"square\"`: square"));
  CHECK_THAT(md, Catch::Contains("| `side` | integer | `1` | 1 to 10 | s |"));
}
