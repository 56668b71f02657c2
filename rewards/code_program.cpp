// Program extraction and the Python and C++ test harnesses, each a judge that runs the tests and
// a candidate that runs the program, with the files of rewards/harness/ compiled in.
#include "rewards/code_program.hpp"

#include "rewards/cpp_functions.hpp"
#include "rewards/harness_sources.hpp"

#include <cctype>
#include <cstdio>

namespace aha::rewards {

namespace {

// The C++ judge: every standard header, the program's callable functions as aha::Remote stand-ins,
// AHA_CHECK, then the tests (their main renamed) and a main that prints the marker.
constexpr std::string_view cpp_judge_prelude = R"CPP(#include <bits/stdc++.h>
#include "wire.hpp"
using namespace std;
)CPP";

constexpr std::string_view cpp_judge_checks = R"CPP(static int aha_checks_total = 0, aha_checks_passed = 0;
template <class Check> void aha_check(Check check, const char* text) {
  ++aha_checks_total;
  bool passed = false;
  try {
    passed = check();
  } catch (...) {
  }
  if (passed) ++aha_checks_passed;
  else std::fprintf(stderr, "failed: %s\n", text);
}
#define AHA_CHECK(condition) aha_check([&] { return static_cast<bool>(condition); }, #condition)
#define main aha_tests_main
#line 1 "tests.cpp"
)CPP";

constexpr std::string_view cpp_judge_main = R"CPP(
#undef main
int main() {
  char nonce[80] = {0};
  if (!std::fgets(nonce, sizeof nonce, stdin)) return 3;
  nonce[std::strcspn(nonce, "\n")] = 0;
  std::fclose(stdin);
  if (!aha::program_ready()) return 4;
  const int status = aha_tests_main();
  if (status != 0) return status;
  if (aha_checks_total == 0) aha_checks_total = aha_checks_passed = 1;
  std::fflush(stdout);
  std::printf("\n%s %d %d\n", nonce, aha_checks_passed, aha_checks_total);
  return 0;
}
)CPP";

// The declarations, in a namespace of their own so that they only give the functions' types.
std::string declared(const std::vector<CppFunction>& functions) {
  std::string text = "namespace aha_declared {\n";
  for (const CppFunction& f : functions) text += f.declaration + ";\n";
  return text + "}  // namespace aha_declared\n";
}

std::string cpp_judge(const std::vector<CppFunction>& functions, const std::string& tests) {
  std::string text = std::string(cpp_judge_prelude) + declared(functions);
  for (const CppFunction& f : functions)
    text += "static const aha::Remote<decltype(&aha_declared::" + f.name + ")> " + f.name + "{\"" + f.name + "\"};\n";
  return text + std::string(cpp_judge_checks) + tests + std::string(cpp_judge_main);
}

// The candidate: the program (its main renamed), then a main that serves its functions.
std::string cpp_candidate(const std::vector<CppFunction>& functions, const std::string& program) {
  std::string text = "#define main aha_program_main\n#line 1 \"program.cpp\"\n" + program +
                     "\n#undef main\n#include \"wire.hpp\"\n" + declared(functions) +
                     "int main() {\n  aha::Server server;\n";
  for (const CppFunction& f : functions)
    text += "  server.add(\"" + f.name + "\", static_cast<decltype(&aha_declared::" + f.name + ")>(&::" + f.name +
            "));\n";
  return text + "  server.run();\n}\n";
}

std::string compile_and_run(const CodeKeys& keys, const std::string& task, const std::string& name) {
  return "'" + keys.compiler + "' -std=c++20 -O1 -I '" + task + "' -o " + name + " '" + task + "/" + name +
         ".cpp' 2>&1 && exec ./" + name;
}

std::optional<CodeLanguage> fence_language(std::string_view tag) {
  std::string lower;
  for (const char c : tag) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "python" || lower == "py" || lower == "python3") return CodeLanguage::python;
  if (lower == "cpp" || lower == "c++" || lower == "cc" || lower == "cxx") return CodeLanguage::cpp;
  return std::nullopt;
}

}  // namespace

ExtractedProgram extract_program(std::string_view completion) {
  std::optional<ExtractedProgram> last;
  for (std::size_t at = completion.find("```"); at != std::string_view::npos;) {
    const auto line_end = completion.find('\n', at);
    if (line_end == std::string_view::npos) break;
    const auto close = completion.find("```", line_end + 1);
    if (close == std::string_view::npos) break;
    std::string_view tag = completion.substr(at + 3, line_end - at - 3);
    while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.back()))) tag.remove_suffix(1);
    last = ExtractedProgram{std::string(completion.substr(line_end + 1, close - line_end - 1)), fence_language(tag)};
    at = completion.find("```", close + 3);
  }
  if (last) return *last;
  return {std::string(completion), std::nullopt};
}

HarnessRun make_harness(CodeLanguage language, const std::string& program, const std::string& tests,
                        const std::string& entry_point, const std::string& nonce, const CodeKeys& keys) {
  const std::string task = sandbox_task_dir();
  if (language == CodeLanguage::python) {
    const std::string wire(harness::wire_py);
    HarnessRun run{{{keys.python, "-I", "-S", task + "/judge.py", task},  // the judge needs no site-packages
                    {{"wire.py", wire}, {"judge.py", std::string(harness::judge_py)}, {"tests.py", tests}},
                    nonce + "\n"},
                   {{keys.python, "-I", task + "/candidate.py", task},
                    {{"wire.py", wire}, {"candidate.py", std::string(harness::candidate_py)}, {"program.py", program}},
                    ""}};
    if (!entry_point.empty()) run.judge.argv.push_back(entry_point);
    return run;
  }
  const std::vector<CppFunction> functions = callable_functions(program);
  const std::string wire(harness::wire_hpp);
  return {{{"/bin/sh", "-c", compile_and_run(keys, task, "judge")},
           {{"wire.hpp", wire}, {"judge.cpp", cpp_judge(functions, tests)}},
           nonce + "\n"},
          SandboxProgram{{"/bin/sh", "-c", compile_and_run(keys, task, "program")},
                         {{"wire.hpp", wire}, {"program.cpp", cpp_candidate(functions, program)}},
                         ""}};
}

std::optional<TestCounts> read_marker(const std::string& output, const std::string& nonce) {
  const std::string marker = "\n" + nonce + " ";
  const auto at = output.rfind(marker);
  if (at == std::string::npos) return std::nullopt;
  TestCounts counts;
  if (std::sscanf(output.c_str() + at + marker.size(), "%d %d", &counts.passed, &counts.total) != 2)
    return std::nullopt;
  if (counts.total <= 0 || counts.passed < 0 || counts.passed > counts.total) return std::nullopt;
  return counts;
}

}  // namespace aha::rewards
