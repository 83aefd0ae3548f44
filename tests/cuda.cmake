# CUDA programs run natively and through `gvirtus run`; each test diffs stdout and exit status
# (tests/cuda/compare.py). One test per program and transport: cuda.<program>.<tcp|unix|shm|embedded>.
#
# Labels: every test here has `cuda`. Those that need a GPU to mean anything also have `gpu`;
# CI (no GPU) runs `ctest -LE gpu`, the GPU machine runs `ctest -L 'cuda|gpu'`
# (scripts/gpu-tests.sh). Without a GPU the remaining ones still must match: the device count
# error, error names and strings, versions, the last-error state.

# The CLI's unit tests (tests/unit/cli_test.cc) need the CLI's code.
target_link_libraries(gvirtus_unit_tests PRIVATE gvirtus_cli_core)

set(GVIRTUS_CUDA_TEST_PROGRAMS
  # name          needs a GPU
  errors          NO
  last_error      NO
  device          NO
  kernels         YES
  launch_errors   YES
  sticky_error    YES
  streams_events  YES
  async_copies    YES
  async_delivery  YES
  memory          YES
  threads         YES
  thread_order    YES
  lanes           YES
  occupancy       YES
  thrust          YES
  symbols         YES
  cooperative     YES
  device_printf   YES
  launch_ex       YES
  managed         YES
  mapped_host     YES
  zero_copy       YES
  managed_vars    YES
  multi_device    YES
  device_assert   YES)

set(GVIRTUS_CUDA_TEST_DIR ${CMAKE_BINARY_DIR}/tests/cuda)
# Extra compare.py options for one program: GVIRTUS_CUDA_COMPARE_OPTIONS_<name>.
# A device assert's message must reach the application's stderr (the file:line and the failed
# expression; the block and thread of the first failure may differ between runs).
set(GVIRTUS_CUDA_COMPARE_OPTIONS_device_assert --stderr-match "Assertion .* failed")
# Page-locked memory shared with the worker over shm: (docs/zero-copy.md): a native failure is
# no pass.
set(GVIRTUS_CUDA_COMPARE_OPTIONS_zero_copy --native-must-pass)
set(GVIRTUS_COMPARE ${CMAKE_CURRENT_SOURCE_DIR}/cuda/compare.py)

# gvirtus_cuda_compare(NAME PROGRAM_TARGET NEEDS_GPU [ARGS...])
# A test that needs a GPU runs with --native-must-pass: on the GPU machine a native run that
# fails (and GVirtuS failing alike) is a failure, never a match.
function(gvirtus_cuda_compare name target needs_gpu)
  set(labels cuda)
  set(options ${GVIRTUS_CUDA_COMPARE_OPTIONS_${name}})
  if(needs_gpu)
    list(APPEND labels gpu)
    if(NOT "--native-must-pass" IN_LIST options)
      list(APPEND options --native-must-pass)
    endif()
  endif()
  foreach(mode tcp unix shm embedded)
    add_test(NAME cuda.${name}.${mode}
             COMMAND ${GVIRTUS_COMPARE} --gvirtus $<TARGET_FILE:gvirtus>
                     --backend $<TARGET_FILE:gvirtus-backend> --mode ${mode}
                     ${options}
                     -- $<TARGET_FILE:${target}> ${ARGN})
    set_tests_properties(cuda.${name}.${mode} PROPERTIES LABELS "${labels}" TIMEOUT 300)
  endforeach()
endfunction()

# Each area of the API keeps its programs in its own file: they append to the list above (name,
# needs a GPU) and may add programs of their own (other link flags) with gvirtus_cuda_compare.
include(${CMAKE_CURRENT_SOURCE_DIR}/cuda_driver.cmake)   # driver API, NVRTC
include(${CMAKE_CURRENT_SOURCE_DIR}/cuda_graphs.cmake)   # graphs, capture, callbacks, pools
include(${CMAKE_CURRENT_SOURCE_DIR}/cuda_arrays.cmake)   # arrays, textures, surfaces, queries, IPC
include(${CMAKE_CURRENT_SOURCE_DIR}/cuda_build.cmake)    # -rdc, dynamic parallelism, dlopen, OpenMP
include(${CMAKE_CURRENT_SOURCE_DIR}/cuda_plugins.cmake)  # library plugins without a GPU
include(${CMAKE_CURRENT_SOURCE_DIR}/cuda_cudnn.cmake)    # cuDNN: descriptor and graph APIs
include(${CMAKE_CURRENT_SOURCE_DIR}/cuda_libs.cmake)     # cuBLAS, cuBLASLt

list(LENGTH GVIRTUS_CUDA_TEST_PROGRAMS n)
math(EXPR last "${n} - 1")
foreach(i RANGE 0 ${last} 2)
  math(EXPR j "${i} + 1")
  list(GET GVIRTUS_CUDA_TEST_PROGRAMS ${i} name)
  list(GET GVIRTUS_CUDA_TEST_PROGRAMS ${j} needs_gpu)
  # Compiled once; linked with the shared runtime here and with the static one in
  # tests/cuda_static.cmake.
  add_library(cuda_test_obj_${name} OBJECT ${CMAKE_CURRENT_SOURCE_DIR}/cuda/${name}.cu)
  add_executable(cuda_test_${name} $<TARGET_OBJECTS:cuda_test_obj_${name}>)
  set_target_properties(cuda_test_${name} PROPERTIES
    LINKER_LANGUAGE CUDA
    CUDA_RUNTIME_LIBRARY Shared
    OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_link_libraries(cuda_test_${name} PRIVATE Threads::Threads)
  gvirtus_cuda_compare(${name} cuda_test_${name} ${needs_gpu})
endforeach()

# The same programs with NVIDIA's runtime linked in (nvcc's and CMake's default).
include(${CMAKE_CURRENT_SOURCE_DIR}/cuda_static.cmake)

# The examples are tests too.
gvirtus_cuda_compare(device_query device_query NO)
gvirtus_cuda_compare(vector_add vector_add YES)
gvirtus_cuda_compare(vector_add_small vector_add YES 1000)

# The installed tree, moved after installing, still runs programs (needs cmake at test time, so
# it is not among the tests that travel to the GPU machine).
set(GVIRTUS_INSTALLED_ALSO)
if(TARGET cuda_test_library_plugins)
  set(GVIRTUS_INSTALLED_ALSO --also $<TARGET_FILE:cuda_test_library_plugins>)
endif()
add_test(NAME install.relocated
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cuda/installed.sh ${CMAKE_BINARY_DIR}
                 ${GVIRTUS_INSTALLED_ALSO} $<TARGET_FILE:device_query>)
set_tests_properties(install.relocated PROPERTIES LABELS install TIMEOUT 300)
