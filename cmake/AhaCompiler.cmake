# Warnings, ccache and the helper every folder uses to declare its library.

find_program(AHA_CCACHE ccache)
if(AHA_CCACHE)
  # Precompiled headers need these sloppiness settings for ccache to hit; BASEDIR lets a fresh
  # clone in another folder reuse the cache.
  set(_launcher ${CMAKE_COMMAND} -E env
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=true ${AHA_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_launcher})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${_launcher})
endif()

set(AHA_WARNINGS -Wall -Wextra -Wpedantic -Wno-unused-parameter)

# aha_library(NAME SOURCES... [DEPS targets...]): the library of one folder, includable as
# "folder/header.hpp" from the project root.
function(aha_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(aha_${name} STATIC ${ARG_SOURCES})
  target_include_directories(aha_${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  target_compile_options(aha_${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${AHA_WARNINGS}>)
  target_link_libraries(aha_${name} PUBLIC ${ARG_DEPS})
endfunction()
