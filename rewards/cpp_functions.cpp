// A scanner for the top-level function definitions of a C++ program: comments, literals and
// preprocessor lines are blanked, braces are counted, and each "(...) {" at depth 0 is read back
// to the end of the previous declaration.
#include "rewards/cpp_functions.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>

namespace aha::rewards {

namespace {

// The program with comments, string and character literals and preprocessor lines turned into
// spaces, and each preprocessor line's end marked with ';' so that it ends a declaration.
std::string blank_non_code(std::string_view program) {
  std::string code(program);
  std::size_t i = 0;
  bool line_start = true;
  while (i < code.size()) {
    const char c = code[i];
    if (line_start && c == '#') {
      while (i < code.size() && !(code[i] == '\n' && program[i - 1] != '\\')) code[i++] = ' ';
      if (i > 0) code[i - 1] = ';';
      continue;
    }
    if (c == '\n') line_start = true;
    else if (!std::isspace(static_cast<unsigned char>(c))) line_start = false;
    if (c == '/' && i + 1 < code.size() && code[i + 1] == '/') {
      while (i < code.size() && code[i] != '\n') code[i++] = ' ';
    } else if (c == '/' && i + 1 < code.size() && code[i + 1] == '*') {
      const std::size_t end = code.find("*/", i + 2);
      const std::size_t stop = end == std::string::npos ? code.size() : end + 2;
      for (; i < stop; ++i)
        if (code[i] != '\n') code[i] = ' ';
    } else if (c == '"' || c == '\'') {
      code[i++] = ' ';
      while (i < code.size() && code[i] != c && code[i] != '\n') {
        if (code[i] == '\\' && i + 1 < code.size()) code[i++] = ' ';
        code[i++] = ' ';
      }
      if (i < code.size()) code[i++] = ' ';
    } else {
      ++i;
    }
  }
  return code;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  std::string out;
  for (const char c : text.substr(first, last - first + 1)) {
    const bool space = std::isspace(static_cast<unsigned char>(c));
    if (!(space && !out.empty() && out.back() == ' ')) out += space ? ' ' : c;
  }
  return out;
}

bool plain_declaration(const std::string& declaration, const std::string& name) {
  static const std::regex allowed(R"([A-Za-z0-9_ :<>,*&\[\]()]+)");
  static const std::regex refused(
      R"(\b(template|auto|operator|class|struct|union|enum|namespace|extern|typedef|using|decltype|requires|__attribute__|__declspec|asm|static_assert)\b)");
  return std::regex_match(declaration, allowed) && !std::regex_search(declaration, refused) &&
         declaration.find("[[") == std::string::npos && name != "main";
}

}  // namespace

std::vector<CppFunction> callable_functions(std::string_view program) {
  const std::string code = blank_non_code(program);
  std::vector<CppFunction> found;
  std::map<std::string, int> definitions;
  int depth = 0;
  std::size_t declaration_start = 0;
  for (std::size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c == '}') {
      depth = std::max(0, depth - 1);
      if (depth == 0) declaration_start = i + 1;
    } else if (c == ';' && depth == 0) {
      declaration_start = i + 1;
    } else if (c == '{') {
      if (depth++ != 0) continue;
      std::size_t end = i;
      while (end > declaration_start && std::isspace(static_cast<unsigned char>(code[end - 1]))) --end;
      if (end <= declaration_start || code[end - 1] != ')') continue;
      int parens = 0;
      std::size_t open = end;
      while (open > declaration_start) {
        --open;
        if (code[open] == ')') ++parens;
        if (code[open] == '(' && --parens == 0) break;
      }
      std::size_t name_end = open;
      while (name_end > declaration_start && code[name_end - 1] == ' ') --name_end;
      std::size_t name_start = name_end;
      while (name_start > declaration_start &&
             (std::isalnum(static_cast<unsigned char>(code[name_start - 1])) || code[name_start - 1] == '_'))
        --name_start;
      const std::string name = code.substr(name_start, name_end - name_start);
      if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) continue;
      if (name_start > declaration_start && code[name_start - 1] == ':') continue;
      const std::string declaration = trim(std::string_view(code).substr(declaration_start, end - declaration_start));
      ++definitions[name];
      if (plain_declaration(declaration, name)) found.push_back({name, declaration});
    }
  }
  std::erase_if(found, [&](const CppFunction& f) { return definitions[f.name] > 1; });
  return found;
}

}  // namespace aha::rewards
