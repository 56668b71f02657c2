// The C++ scanner that finds the program functions a judge may call, and what it leaves out.
#include <catch2/catch.hpp>

#include "rewards/cpp_functions.hpp"

using namespace aha::rewards;

namespace {

std::vector<std::string> names(const std::string& program) {
  std::vector<std::string> out;
  for (const CppFunction& f : callable_functions(program)) out.push_back(f.name);
  return out;
}

}  // namespace

TEST_CASE("plain top-level definitions are found with their declarations") {
  const auto found =
      callable_functions("#include <vector>\nusing namespace std;\n// int commented(int x) { }\n"
                         "static const char* text = \"int quoted(int x) { }\";\n"
                         "vector<int> sorted(vector<int> v) {\n  if (v.size()) { return v; }\n  return {};\n}\n"
                         "long long\nsquare(long long x)\n{ return x * x; }\n");
  REQUIRE(found.size() == 2);
  CHECK(found[0].name == "sorted");
  CHECK(found[0].declaration == "vector<int> sorted(vector<int> v)");
  CHECK(found[1].name == "square");
  CHECK(found[1].declaration == "long long square(long long x)");
}

TEST_CASE("what cannot be declared plainly in the judge is left out") {
  CHECK(names("int main() { return 0; }\n").empty());
  CHECK(names("template <class T> T id(T x) { return x; }\n").empty());
  CHECK(names("auto twice(int x) { return 2 * x; }\n").empty());
  CHECK(names("int f(int x = g()) { return x; }\n").empty());
  CHECK(names("[[gnu::constructor]] int f(int x) { return x; }\n").empty());
  CHECK(names("__attribute__((constructor)) int f(int x) { return x; }\n").empty());
  CHECK(names("int f(int x) { return x; }\nint f(double x) { return 1; }\n").empty());
  CHECK(names("namespace n { int f(int x) { return x; } }\nstruct S { int g(int x) { return x; } };\n").empty());
  CHECK(names("int S::g(int x) { return x; }\n").empty());
  CHECK(names("auto f = [](int x) { return x; };\n").empty());
  CHECK(names("#define F(x) int x(int a) { return a; }\nF(f)\n").empty());
}
