// What the code rule runs: the program from a completion (the last fenced code block, or the
// whole completion when it has none) and the harness files that run it with its tests and print
// a completion marker with the counts of passed and total tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rewards/reward_spec.hpp"
#include "rewards/sandbox.hpp"

namespace aha::rewards {

struct ExtractedProgram {
  std::string source;
  std::optional<CodeLanguage> fence_language;  // from ```python / ```cpp, when the block names one
};

ExtractedProgram extract_program(std::string_view completion);

struct HarnessRun {
  std::vector<std::string> argv;
  std::vector<SandboxFile> files;
};

// Python: the program runs in one namespace, then each top-level statement of `tests` (each
// assert is one test), then check(entry_point) when given (one more test).
// C++: program and tests are one translation unit, compiled with g++ -std=c++20 in the sandbox;
// the tests define int main() and may count tests with AHA_CHECK(condition); a failed assert()
// or a non-zero return fails them all.
HarnessRun make_harness(CodeLanguage language, const std::string& program, const std::string& tests,
                        const std::string& entry_point, const CodeRule& keys);

struct TestCounts {
  int passed = 0;
  int total = 0;
};

// The counts after the marker "<nonce> passed total" on a line of its own; none when the tests did
// not complete.
std::optional<TestCounts> read_marker(const std::string& output, const std::string& nonce);

}  // namespace aha::rewards
