# The libraries aha builds against: Debian's packages (scripts/setup.sh installs them), or, with
# AHA_DEPS_PREFIX, a folder where those packages were unpacked without installing them
# (benchmarks/gpu.sh does this on machines with no package registry): then toml++ is used
# header-only and PCRE2 is linked statically, so nothing from the folder is needed at run time.
set(AHA_DEPS_PREFIX "" CACHE PATH "A folder holding unpacked dependency packages (usr/ inside), instead of the system's")

if(AHA_DEPS_PREFIX)
  list(APPEND CMAKE_PREFIX_PATH ${AHA_DEPS_PREFIX})
  include_directories(SYSTEM ${AHA_DEPS_PREFIX}/include)
  add_library(tomlplusplus::tomlplusplus INTERFACE IMPORTED)
  target_compile_definitions(tomlplusplus::tomlplusplus INTERFACE TOML_HEADER_ONLY=1)
  find_library(AHA_PCRE2_LIBRARY NAMES libpcre2-8.a
               PATHS ${AHA_DEPS_PREFIX}/lib ${AHA_DEPS_PREFIX}/lib/x86_64-linux-gnu NO_DEFAULT_PATH REQUIRED)
  add_library(PkgConfig::PCRE2 STATIC IMPORTED)
  set_target_properties(PkgConfig::PCRE2 PROPERTIES IMPORTED_LOCATION ${AHA_PCRE2_LIBRARY})
  set(Boost_INCLUDE_DIR ${AHA_DEPS_PREFIX}/include)
  list(APPEND CMAKE_MODULE_PATH ${AHA_DEPS_PREFIX}/lib/cmake/Catch2)
else()
  find_package(tomlplusplus REQUIRED)
  find_package(fmt REQUIRED)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
endif()
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(Threads REQUIRED)
# LibTorch's headers carry their own fmt (a newer major version, not exported by its libraries), so
# fmt is used header-only: targets that see LibTorch's include path get its fmt, the others Debian's.
add_compile_definitions(FMT_HEADER_ONLY)
