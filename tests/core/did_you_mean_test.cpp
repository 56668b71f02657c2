// Edit distance and the "did you mean" suggestion.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/did_you_mean.hpp"

using aha::closest_match;
using aha::edit_distance;

TEST_CASE("edit distance counts insertions, deletions, substitutions and transpositions") {
  CHECK(edit_distance("group_size", "group_size") == 0);
  CHECK(edit_distance("grup_size", "group_size") == 1);
  CHECK(edit_distance("gorup_size", "group_size") == 1);
  CHECK(edit_distance("Group_Size", "group_size") == 0);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest match suggests near names and stays quiet for far ones") {
  const std::vector<std::string> keys{"group_size", "prompts_per_step", "temperature", "top_p", "top_k"};
  CHECK(closest_match("grup_size", keys) == "group_size");
  CHECK(closest_match("temprature", keys) == "temperature");
  CHECK(closest_match("top_q", keys).has_value());
  CHECK_FALSE(closest_match("learning_rate", keys).has_value());
  CHECK_FALSE(closest_match("x", std::vector<std::string>{}).has_value());
}
