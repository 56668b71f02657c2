// Wrong programs that try to earn the code reward without solving the task: each rewrites the
// judge, forges its verdict or cheats the comparison, and each must score 0. The tests run in a
// sandbox of their own; the program is reached only through plain values.
#include <catch2/catch.hpp>

#include "rewards/code_rule.hpp"
#include "tests/rewards/sandbox_test_lock.hpp"

using namespace aha::rewards;

namespace {

double score(const std::string& program, const std::string& tests, const std::string& entry_point = "") {
  const SandboxTestLock lock;
  CodeKeys keys;
  keys.timeout_s = 5;
  keys.memory_mb = 512;
  const CodeRule rule(keys);
  CompletionRecord record;
  record.completion = program;
  record.tests = tests;
  if (!entry_point.empty()) record.entry_point = entry_point;
  return rule.score(record).score;
}

const std::string add_tests = "assert add(1, 2) == 3\nassert add(2, 2) == 4\n";
const std::string check_tests = "def check(candidate):\n    assert candidate(1, 2) == 3\n";

}  // namespace

TEST_CASE("forged: the honest program scores 1, so the attacks below fail on their own") {
  CHECK(score("def add(a, b):\n    return a + b\n", add_tests) == 1.0);
  CHECK(score("def add(a, b):\n    return a + b\n", check_tests, "add") == 1.0);
}

TEST_CASE("forged: a result whose == is always true") {
  CHECK(score("class Equal:\n    def __eq__(self, other):\n        return True\n"
              "def add(a, b):\n    return Equal()\n",
              add_tests) == 0.0);
  CHECK(score("class Int(int):\n    def __eq__(self, other):\n        return True\n"
              "def add(a, b):\n    return Int(0)\n",
              check_tests, "add") == 0.0);
  CHECK(score("class Equal:\n    def __eq__(self, other):\n        return True\n"
              "def add(a, b):\n    return [Equal()]\n",
              "assert add(1, 2) == [3]\n") == 0.0);
}

TEST_CASE("forged: ast.parse replaced to empty the tests") {
  CHECK(score("import ast\nast.parse = lambda *args, **kwargs: ast.Module(body=[], type_ignores=[])\n"
              "def add(a, b):\n    return 0\n",
              add_tests) == 0.0);
}

TEST_CASE("forged: compile wrapped so that asserts vanish") {
  CHECK(score("import builtins\n_compile = builtins.compile\n"
              "builtins.compile = lambda *args, **kwargs: _compile(*args, **{**kwargs, 'optimize': 2})\n"
              "def add(a, b):\n    return 0\n",
              add_tests) == 0.0);
}

TEST_CASE("forged: the nonce read from the caller's frame, the marker printed, then exit") {
  CHECK(score("import os, sys\n"
              "for depth in range(1, 6):\n"
              "    try:\n        frame = sys._getframe(depth)\n    except ValueError:\n        break\n"
              "    nonce = frame.f_locals.get('nonce') or frame.f_globals.get('nonce')\n"
              "    if nonce:\n        print('\\n%s 2 2' % nonce, flush=True)\n        os._exit(0)\n"
              "def add(a, b):\n    return 0\n",
              add_tests) == 0.0);
}

TEST_CASE("forged: sys.stdout wrapped to rewrite the marker line") {
  CHECK(score("import sys, re\n"
              "class Rewrite:\n"
              "    def __init__(self, inner):\n        self.inner = inner\n"
              "    def write(self, text):\n"
              "        return self.inner.write(re.sub(r'(\\S+) \\d+ (\\d+)\\n', r'\\1 \\2 \\2\\n', text))\n"
              "    def flush(self):\n        self.inner.flush()\n"
              "sys.stdout = Rewrite(sys.stdout)\n"
              "def add(a, b):\n    return 0\n",
              add_tests) == 0.0);
}

TEST_CASE("forged: the tests are not there for the program to read") {
  CHECK(score("import os, sys\n"
              "def add(a, b):\n    return a + b if os.path.exists(sys.argv[1] + '/tests.py') else 0\n",
              add_tests) == 0.0);
}

TEST_CASE("forged: a program that names its own check function") {
  CHECK(score("def check(candidate):\n    return None\ndef add(a, b):\n    return 0\n", "assert True\n", "add") ==
        Approx(0.5));
}

TEST_CASE("remote calls carry plain values both ways, exactly") {
  CHECK(score("def echo(x):\n    return x\n"
              "def nan():\n    return float('nan')\n"
              "def fail(kind):\n    raise {'value': ValueError, 'key': KeyError}[kind]('no')\n",
              "import math\n"
              "value = {1: (2, 0.1, {3}), 'a': [b'x', None, 1j, 10**5000, frozenset({True})]}\n"
              "assert echo(value) == value\n"
              "assert type(echo((1,))) is tuple and type(echo([1])) is list\n"
              "assert math.isnan(nan())\n"
              "try:\n    fail('value')\nexcept ValueError:\n    raised = 'value'\n"
              "assert raised == 'value'\n"
              "try:\n    fail('key')\nexcept KeyError:\n    raised = 'key'\n"
              "assert raised == 'key'\n") == 1.0);
}

TEST_CASE("forged C++: AHA_CHECK redefined to count every check as passed") {
  CHECK(score("```cpp\n#undef AHA_CHECK\n#define AHA_CHECK(c) (void)0\nint add(int a, int b) { return 0; }\n```",
              "int main() { AHA_CHECK(add(1, 2) == 3); return 0; }\n") == 0.0);
}

TEST_CASE("forged C++: the nonce read in a static initializer, the marker printed at exit") {
  CHECK(score("```cpp\n#include <cstdio>\n#include <cstdlib>\n#include <cstring>\n"
              "static char nonce[80];\n"
              "static void forge() { std::printf(\"\\n%s 1 1\\n\", nonce); std::fflush(stdout); }\n"
              "static int grab = [] { if (std::fgets(nonce, sizeof nonce, stdin)) "
              "{ nonce[std::strcspn(nonce, \"\\n\")] = 0; std::atexit(forge); } return 0; }();\n"
              "int add(int a, int b) { return 0; }\n```",
              "int main() { AHA_CHECK(add(1, 2) == 3); return 0; }\n") == 0.0);
}

TEST_CASE("forged C++: the pass counter raised from the program") {
  CHECK(score("```cpp\nint add(int a, int b) { aha_checks_passed += 1; return 0; }\n```",
              "int main() { AHA_CHECK(add(1, 2) == 3); return 0; }\n") == 0.0);
  CHECK(score("```cpp\nextern int aha_checks_passed;\nint add(int a, int b) { aha_checks_passed += 5; return 0; }\n```",
              "int main() { AHA_CHECK(add(1, 2) == 3); return 0; }\n") == 0.0);
}

TEST_CASE("forged C++: a result type whose == is always true") {
  CHECK(score("```cpp\nstruct Any { template <class T> bool operator==(const T&) const { return true; } };\n"
              "Any add(int a, int b) { return {}; }\n```",
              "int main() { AHA_CHECK(add(1, 2) == 3); return 0; }\n") == 0.0);
}

TEST_CASE("C++ remote calls carry standard values both ways") {
  CHECK(
      score("```cpp\n#include <map>\n#include <string>\n#include <vector>\nusing namespace std;\n"
            "vector<string> split(const string& s, char sep) {\n"
            "  vector<string> out(1);\n  for (char c : s) { if (c == sep) out.emplace_back(); else out.back() += c; }\n"
            "  return out;\n}\n"
            "map<string, pair<int, double>> stats(vector<int> v) { return {{\"n\", {int(v.size()), v.empty() ? 0.0 : "
            "v[0] / 3.0}}}; }\n"
            "void nothing() {}\n"
            "int fail(int x) { if (x) throw 1; return 0; }\n```",
            "#include <cassert>\nint main() {\n"
            "  AHA_CHECK((split(\"a b\\nc\", ' ') == vector<string>{\"a\", \"b\\nc\"}));\n"
            "  AHA_CHECK(stats({1, 2}).at(\"n\").second == 1 / 3.0);\n"
            "  nothing();\n"
            "  AHA_CHECK(fail(0) == 0);\n"
            "  bool threw = false;\n  try { fail(1); } catch (const std::exception&) { threw = true; }\n"
            "  AHA_CHECK(threw);\n  return 0;\n}\n") == 1.0);
}
