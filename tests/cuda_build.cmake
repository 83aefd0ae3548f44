# CUDA test programs built in other ways than one plain translation unit (included by
# tests/cuda.cmake): separate compilation with device linking and dynamic parallelism, several
# translation units, kernels in a library loaded with dlopen, OpenMP threads with the legacy and
# the per-thread default stream.
set(build_src ${CMAKE_CURRENT_SOURCE_DIR}/cuda/build)

function(gvirtus_build_test name)
  set_target_properties(${name} PROPERTIES
    CUDA_RUNTIME_LIBRARY Shared
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR}
    LIBRARY_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
endfunction()

# -rdc=true across two units, a device-side launch (libcudadevrt; CMake links it itself for
# separable compilation). Built twice: with the GPU machine's architecture in the device-linked
# image, and for sm_75 only, whose linked image the H100 cannot run: the runtime then JIT-links
# the per-object fatbins (their PTX and libcudadevrt), on the worker here.
foreach(variant rdc:native rdc_jit:75)
  string(REPLACE ":" ";" parts ${variant})
  list(GET parts 0 name)
  list(GET parts 1 archs)
  add_executable(cuda_test_${name} ${build_src}/rdc_main.cu ${build_src}/rdc_lib.cu)
  gvirtus_build_test(cuda_test_${name})
  set_target_properties(cuda_test_${name} PROPERTIES OUTPUT_NAME ${name}
    CUDA_SEPARABLE_COMPILATION ON CUDA_RESOLVE_DEVICE_SYMBOLS ON)
  if(NOT archs STREQUAL "native")
    set_target_properties(cuda_test_${name} PROPERTIES CUDA_ARCHITECTURES ${archs})
  endif()
  gvirtus_cuda_compare(${name} cuda_test_${name} YES)
endforeach()

# Two units, each with its own fatbinary and same-named internal kernels and variables.
add_executable(cuda_test_multi_tu ${build_src}/multi_tu_a.cu ${build_src}/multi_tu_b.cu)
gvirtus_build_test(cuda_test_multi_tu)
set_target_properties(cuda_test_multi_tu PROPERTIES OUTPUT_NAME multi_tu)
gvirtus_cuda_compare(multi_tu cuda_test_multi_tu YES)

# Kernels in a shared library loaded with dlopen, unloaded and loaded again.
add_library(cuda_test_dlopen_kernels MODULE ${build_src}/dlopen_lib.cu)
gvirtus_build_test(cuda_test_dlopen_kernels)
set_target_properties(cuda_test_dlopen_kernels PROPERTIES OUTPUT_NAME dlopen_kernels)
add_executable(cuda_test_dlopen ${build_src}/dlopen_main.cu)
gvirtus_build_test(cuda_test_dlopen)
set_target_properties(cuda_test_dlopen PROPERTIES OUTPUT_NAME dlopen)
target_link_libraries(cuda_test_dlopen PRIVATE ${CMAKE_DL_LIBS})
add_dependencies(cuda_test_dlopen cuda_test_dlopen_kernels)
gvirtus_cuda_compare(dlopen cuda_test_dlopen YES)

# OpenMP threads, each with a stream; built with the legacy and the per-thread default stream.
find_package(OpenMP REQUIRED COMPONENTS CXX)
foreach(variant legacy per_thread)
  add_executable(cuda_test_openmp_${variant} ${build_src}/openmp_streams.cu)
  gvirtus_build_test(cuda_test_openmp_${variant})
  set_target_properties(cuda_test_openmp_${variant} PROPERTIES OUTPUT_NAME openmp_${variant})
  target_compile_options(cuda_test_openmp_${variant} PRIVATE -Xcompiler=-fopenmp)
  target_link_libraries(cuda_test_openmp_${variant} PRIVATE OpenMP::OpenMP_CXX)
  if(variant STREQUAL per_thread)
    target_compile_options(cuda_test_openmp_${variant} PRIVATE --default-stream per-thread)
  endif()
  gvirtus_cuda_compare(openmp_${variant} cuda_test_openmp_${variant} YES)
endforeach()
