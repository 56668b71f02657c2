# LibTorch from the PyPI torch wheel. The Python interpreter of the virtual environment that
# scripts/setup.sh makes (or AHA_PYTHON, or any python3 with torch) tells where its CMake package is.
# Defines aha::torch and aha_use_torch(target), which links it and reuses one precompiled header.

if(NOT Torch_DIR)
  if(DEFINED ENV{AHA_VENV})
    set(_venv $ENV{AHA_VENV})
  else()
    set(_venv $ENV{HOME}/.cache/aha/venv)
  endif()
  if(EXISTS ${_venv}/bin/python)
    set(_python ${_venv}/bin/python)
  else()
    set(_python python3)
  endif()
  set(AHA_PYTHON ${_python} CACHE FILEPATH "Python interpreter whose torch package provides LibTorch")
  execute_process(
    COMMAND ${AHA_PYTHON} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_VARIABLE _torch_error RESULT_VARIABLE _torch_rc)
  if(NOT _torch_rc EQUAL 0)
    message(FATAL_ERROR "LibTorch not found: '${AHA_PYTHON}' cannot import torch.\n"
                        "Run ./scripts/setup.sh, or pass -DAHA_PYTHON=/path/to/python with torch installed, "
                        "or -DTorch_DIR=<libtorch>/share/cmake/Torch.\n${_torch_error}")
  endif()
  list(APPEND CMAKE_PREFIX_PATH ${_torch_prefix})
endif()

# Torch's CUDA helper otherwise adds nvcc flags for a dozen architectures.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(ENV{TORCH_CUDA_ARCH_LIST} "9.0")
endif()
find_package(Torch REQUIRED)

add_library(aha_torch INTERFACE)
add_library(aha::torch ALIAS aha_torch)
target_link_libraries(aha_torch INTERFACE ${TORCH_LIBRARIES})

# ATen's parallel_for is a header template whose threads come from `#pragma omp parallel`: a file
# compiled without OpenMP runs every such loop on one thread. So aha's own loops compile with
# OpenMP and link the runtime LibTorch itself loads (the wheel ships its libgomp), one pool for all.
find_library(AHA_TORCH_OPENMP NAMES libgomp.so.1 gomp PATHS ${TORCH_INSTALL_PREFIX}/lib NO_DEFAULT_PATH)
if(AHA_TORCH_OPENMP)
  target_compile_options(aha_torch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fopenmp>)
  target_link_libraries(aha_torch INTERFACE ${AHA_TORCH_OPENMP})
else()
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  target_link_libraries(aha_torch INTERFACE OpenMP::OpenMP_CXX)
endif()

# The wheel's CUDA libraries live beside torch under nvidia/*/lib; the linker must resolve
# libtorch_cuda's dependencies there rather than in an older system CUDA.
get_filename_component(_torch_site ${TORCH_INSTALL_PREFIX} DIRECTORY)
file(GLOB _wheel_cuda_libs LIST_DIRECTORIES true ${_torch_site}/nvidia/*/lib)
foreach(_dir IN LISTS _wheel_cuda_libs)
  target_link_options(aha_torch INTERFACE "LINKER:-rpath-link,${_dir}")
endforeach()

set(AHA_TORCH_CUDA_BUILD OFF)
if(CAFFE2_USE_CUDA OR TARGET torch::cudart)
  set(AHA_TORCH_CUDA_BUILD ON)
endif()

# One precompiled <torch/torch.h>, built once and reused by every target that uses LibTorch.
file(WRITE ${CMAKE_BINARY_DIR}/generated/torch_pch.cpp "// Anchors the precompiled LibTorch header.\n")
add_library(aha_torch_pch STATIC ${CMAKE_BINARY_DIR}/generated/torch_pch.cpp)
target_link_libraries(aha_torch_pch PUBLIC aha::torch)
target_compile_options(aha_torch_pch PRIVATE ${AHA_WARNINGS})
target_precompile_headers(aha_torch_pch PRIVATE <torch/torch.h>)

function(aha_use_torch target)
  target_link_libraries(${target} PUBLIC aha::torch)
  target_precompile_headers(${target} REUSE_FROM aha_torch_pch)
endfunction()
