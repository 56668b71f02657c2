// Suggests the closest known name for a misspelt one ("grup_size" -> "group_size").
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace aha {

// Edit distance with adjacent transpositions (optimal string alignment), case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, if it is near enough to be a plausible typo.
std::optional<std::string> closest_match(std::string_view word, std::span<const std::string> candidates);

}  // namespace aha
