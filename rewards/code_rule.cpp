// The code execution rule and its keys.
#include "rewards/code_rule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <thread>
#include <utility>

#include "core/error.hpp"
#include "rewards/code_program.hpp"
#include "rewards/sandbox.hpp"

namespace aha::rewards {

namespace {

constexpr std::array<std::pair<CodeLanguage, std::string_view>, 2> language_names{
    {{CodeLanguage::python, "python"}, {CodeLanguage::cpp, "cpp"}}};
constexpr std::array<std::pair<CodeScoring, std::string_view>, 2> scoring_names{
    {{CodeScoring::fraction, "fraction"}, {CodeScoring::all_or_nothing, "all_or_nothing"}}};

std::string random_nonce() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return fmt::format("AHA-TESTS-DONE-{:016x}{:016x}", engine(), engine());
}

CodeLanguage record_language(const CompletionRecord& record, const ExtractedProgram& program, CodeLanguage fallback) {
  if (record.language) {
    if (*record.language == "python") return CodeLanguage::python;
    if (*record.language == "cpp" || *record.language == "c++") return CodeLanguage::cpp;
    throw Error(
        fmt::format("rule \"code\": language \"{}\" is not supported; use \"python\" or \"cpp\"", *record.language));
  }
  return program.fence_language.value_or(fallback);
}

}  // namespace

void bind_keys(config::Binder& b, CodeKeys& keys) {
  b.choice({"language", "language of the program: the last fenced code block, or the whole completion"}, keys.language,
           CodeLanguage::python, language_names);
  b.choice({"scoring", "fraction: share of tests passed; all_or_nothing: 1 only when every test passes"}, keys.scoring,
           CodeScoring::fraction, scoring_names);
  b.number({"timeout_s", "wall-clock limit for one program and its tests, in seconds"}, keys.timeout_s, 10.0,
           {0.0, 3600.0, true, false});
  b.integer({"memory_mb", "address-space limit of the program, in MiB"}, keys.memory_mb, 1024, {16, 1 << 20});
  b.integer({"max_parallel", "programs run at once, each a judge and a candidate sandbox; 0: two per core"},
            keys.max_parallel, 0, {0, 1024});
  b.integer({"max_processes", "processes and threads the program may run at once (RLIMIT_NPROC)"}, keys.max_processes,
            64, {1, 4096});
  b.integer({"max_output_kb", "stdout and stderr kept, in KiB; a program that writes more is stopped and fails"},
            keys.max_output_kb, 1024, {1, 1 << 20});
  b.text({"python", "Python interpreter the programs run with (a path visible inside the sandbox)"}, keys.python,
         "/usr/bin/python3");
  b.text({"compiler", "C++ compiler for language = \"cpp\" (a path visible inside the sandbox)"}, keys.compiler,
         "/usr/bin/g++");
}

int code_runs_at_once(const CodeKeys& keys) {
  return keys.max_parallel > 0 ? keys.max_parallel
                               : 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

CodeRule::CodeRule(const CodeKeys& keys)
    : keys_(keys), slots_(std::make_unique<std::counting_semaphore<>>(code_runs_at_once(keys))) {}

RuleOutcome CodeRule::score(const CompletionRecord& record) const {
  if (!record.tests && !record.entry_point)
    throw Error("rule \"code\" needs tests: give the input record a \"tests\" field (and \"entry_point\" for "
                "HumanEval-style check functions)");
  const ExtractedProgram program = extract_program(record.completion);
  const CodeLanguage language = record_language(record, program, keys_.language);
  const std::string nonce = random_nonce();
  const HarnessRun run =
      make_harness(language, program.source, record.tests.value_or(""), record.entry_point.value_or(""), nonce, keys_);
  SandboxLimits limits;
  limits.wall_seconds = keys_.timeout_s;
  limits.cpu_seconds = std::max(1, static_cast<int>(std::ceil(keys_.timeout_s)));
  limits.memory_mb = keys_.memory_mb;
  limits.max_processes = keys_.max_processes;
  limits.max_output_bytes = static_cast<std::size_t>(keys_.max_output_kb) << 10;
  slots_->acquire();
  SandboxResult result;
  try {
    result = run_judged(run.judge, run.candidate, limits);
  } catch (...) {
    slots_->release();
    throw;
  }
  slots_->release();
  const auto counts = result.exit_code == 0 ? read_marker(result.output, nonce) : std::nullopt;
  const TestCounts seen = counts.value_or(TestCounts{0, 0});
  double score = 0.0;
  if (counts)
    score = keys_.scoring == CodeScoring::all_or_nothing ? (seen.passed == seen.total ? 1.0 : 0.0)
                                                         : static_cast<double>(seen.passed) / seen.total;
  return {score,
          {{"tests_passed", std::int64_t{seen.passed}},
           {"tests_total", std::int64_t{seen.total}},
           {"tests_completed", counts.has_value()},
           {"timed_out", result.timed_out}}};
}

}  // namespace aha::rewards
