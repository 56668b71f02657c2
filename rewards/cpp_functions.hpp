// The functions of a C++ program that its tests may call across the judge's channel: top-level
// definitions with a plain declaration (a return type, a name, and parameters that are types and
// names only). The declaration is copied into the judge, so nothing else of the program is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aha::rewards {

struct CppFunction {
  std::string name;         // "add"
  std::string declaration;  // "int add(int a, int b)"
};

// Definitions with default arguments, attributes, templates, deduced return types, qualified or
// overloaded names, or any character outside a type's spelling are left out; so are main and
// everything inside a namespace, class or extern block.
std::vector<CppFunction> callable_functions(std::string_view program);

}  // namespace aha::rewards
