// Program extraction and the Python and C++ test harnesses.
#include "rewards/code_program.hpp"

#include <cctype>
#include <cstdio>

namespace aha::rewards {

namespace {

constexpr std::string_view python_harness = R"PY(import ast
import sys


def _aha_run():
    nonce = sys.stdin.readline().strip()
    sys.stdin.close()
    task = sys.argv[1]
    entry_point = sys.argv[2] if len(sys.argv) > 2 else ""
    with open(task + "/program.py") as f:
        program = f.read()
    with open(task + "/tests.py") as f:
        tests = f.read()
    namespace = {"__name__": "__aha_program__"}
    exec(compile(program, "program.py", "exec"), namespace)
    passed = total = 0
    for node in ast.parse(tests, "tests.py").body:
        code = compile(ast.Module(body=[node], type_ignores=[]), "tests.py", "exec")
        if isinstance(node, ast.Assert):
            total += 1
            try:
                exec(code, namespace)
                passed += 1
            except Exception:
                pass
        else:
            exec(code, namespace)
    if entry_point:
        total += 1
        try:
            namespace["check"](namespace[entry_point])
            passed += 1
        except Exception:
            pass
    if total == 0:
        passed = total = 1
    sys.stdout.flush()
    sys.stderr.flush()
    sys.stdout.write("\n%s %d %d\n" % (nonce, passed, total))
    sys.stdout.flush()


_aha_run()
)PY";

constexpr std::string_view cpp_prelude = R"CPP(#include <cstdio>
#include <cstring>
static int aha_checks_total = 0, aha_checks_passed = 0;
#define AHA_CHECK(condition) \
  (++aha_checks_total, (condition) ? (void)++aha_checks_passed : (void)std::fprintf(stderr, "failed: %s\n", #condition))
#define main aha_program_main
#line 1 "program.cpp"
)CPP";

constexpr std::string_view cpp_between = "\n#undef main\n#define main aha_tests_main\n#line 1 \"tests.cpp\"\n";

constexpr std::string_view cpp_epilogue = R"CPP(
#undef main
int main() {
  char nonce[80] = {0};
  if (!std::fgets(nonce, sizeof nonce, stdin)) return 3;
  nonce[std::strcspn(nonce, "\n")] = 0;
  std::fclose(stdin);
  const int status = aha_tests_main();
  if (status != 0) return status;
  if (aha_checks_total == 0) aha_checks_total = aha_checks_passed = 1;
  std::fflush(stdout);
  std::printf("\n%s %d %d\n", nonce, aha_checks_passed, aha_checks_total);
  return 0;
}
)CPP";

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
                        const std::string& entry_point, const CodeRule& keys) {
  const std::string task = sandbox_task_dir();
  if (language == CodeLanguage::python) {
    HarnessRun run{{keys.python, "-I", task + "/harness.py", task},
                   {{"harness.py", std::string(python_harness)}, {"program.py", program}, {"tests.py", tests}}};
    if (!entry_point.empty()) run.argv.push_back(entry_point);
    return run;
  }
  std::string source =
      std::string(cpp_prelude) + program + std::string(cpp_between) + tests + std::string(cpp_epilogue);
  const std::string script = "'" + keys.compiler + "' -std=c++20 -O1 -o program '" + task +
                             "/program.cpp' 2>&1 && exec ./program";
  return {{"/bin/sh", "-c", script}, {{"program.cpp", std::move(source)}}};
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
