// What the code rule runs: the program from a completion (the last fenced code block, or the
// whole completion when it has none) and the harness files that run it with its tests and print
// a completion marker with the counts of passed and total tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rewards/code_rule.hpp"
#include "rewards/sandbox.hpp"

namespace aha::rewards {

struct ExtractedProgram {
  std::string source;
  std::optional<CodeLanguage> fence_language;  // from ```python / ```cpp, when the block names one
};

ExtractedProgram extract_program(std::string_view completion);

// What the sandboxes run: the judge, which runs the tests and prints the marker with `nonce`, and
// the candidate, which runs the program in a sandbox of its own and answers the judge's calls.
struct HarnessRun {
  SandboxProgram judge;
  SandboxProgram candidate;
};

// Python: the judge runs each top-level statement of `tests` (each assert is one test), then
// check(entry_point) when given (one more test). The program's top-level functions are remote:
// a call sends its arguments to the candidate's sandbox as plain values (None, bool, int, float,
// complex, str, bytes, and lists, tuples, sets and dicts of them) and the result comes back as
// one, so the program can neither see the tests nor change how they compare.
// C++: the tests define int main() and may count tests with AHA_CHECK(condition); a failed
// assert() or a non-zero return fails them all. They are compiled (g++ -std=c++20) with every
// standard header, `using namespace std`, and a stand-in for each of the program's callable
// functions (cpp_functions.hpp) whose arguments and result cross as standard values (numbers,
// strings, and vectors, sets, maps, pairs, tuples, optionals and arrays of them).
HarnessRun make_harness(CodeLanguage language, const std::string& program, const std::string& tests,
                        const std::string& entry_point, const std::string& nonce, const CodeKeys& keys);

struct TestCounts {
  int passed = 0;
  int total = 0;
};

// The counts after the marker "<nonce> passed total" on a line of its own; none when the tests did
// not complete.
std::optional<TestCounts> read_marker(const std::string& output, const std::string& nonce);

}  // namespace aha::rewards
