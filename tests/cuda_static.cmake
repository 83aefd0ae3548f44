# Programs with NVIDIA's CUDA runtime linked in statically (libcudart_static.a: nvcc's default,
# and CMake's CUDA_RUNTIME_LIBRARY Static default), which load only libcuda.so.1 and reach
# GVirtuS through its driver API and private tables (docs/static-cudart.md). Included by
# tests/cuda.cmake after its program loop: every plain program there is linked again, from
# the same objects, as cuda.static_<name>. The runtime inside the program is NVIDIA's, so all
# of them need a GPU: even the device-count error differs without one (natively the static
# runtime finds no driver at all). One transport each: the tables are answered in the client,
# the transport is tested by the shared builds. The native run must pass, and the program must
# have loaded GVirtuS's libcuda.so.1 and no other.
#
# Not yet: programs whose runtime calls reach driver functions GVirtuS's libcuda.so.1 does not
# answer yet (measured on the H200; docs/static-cudart.md, "What does not work yet"). Take a
# program off this list once its driver functions are implemented.
set(GVIRTUS_CUDA_STATIC_PENDING)  # empty: every program passed statically on the H200 (2026-12-04)
list(LENGTH GVIRTUS_CUDA_TEST_PROGRAMS n)
math(EXPR last "${n} - 1")
foreach(i RANGE 0 ${last} 2)
  list(GET GVIRTUS_CUDA_TEST_PROGRAMS ${i} name)
  # A pending program is built and registered too, labelled gpu (CI leaves it out) and
  # static_pending (scripts/gpu-tests.sh leaves it out by default), so that
  # `GVIRTUS_GPU_TESTS_CTEST="-L static_pending"` shows which ones pass now.
  set(labels "cuda;gpu;static")
  if(name IN_LIST GVIRTUS_CUDA_STATIC_PENDING)
    set(labels "gpu;static_pending")
  endif()
  add_executable(cuda_test_static_${name} $<TARGET_OBJECTS:cuda_test_obj_${name}>)
  set_target_properties(cuda_test_static_${name} PROPERTIES
    LINKER_LANGUAGE CUDA
    CUDA_RUNTIME_LIBRARY Static
    OUTPUT_NAME static_${name}
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_link_libraries(cuda_test_static_${name} PRIVATE Threads::Threads)
  add_test(NAME cuda.static_${name}.tcp
           COMMAND ${GVIRTUS_COMPARE} --gvirtus $<TARGET_FILE:gvirtus>
                   --backend $<TARGET_FILE:gvirtus-backend> --mode tcp
                   --native-must-pass --expect-lib libcuda.so.1
                   ${GVIRTUS_CUDA_COMPARE_OPTIONS_${name}}
                   -- $<TARGET_FILE:cuda_test_static_${name}>)
  set_tests_properties(cuda.static_${name}.tcp PROPERTIES LABELS "${labels}" TIMEOUT 300)
endforeach()

# A program as CMake builds it when nothing is said about the runtime (CMake's default is
# CUDA_RUNTIME_LIBRARY Static): the vector_add example, compiled with no properties set.
add_executable(cuda_test_cmake_default ${PROJECT_SOURCE_DIR}/examples/vector_add.cu)
set_target_properties(cuda_test_cmake_default PROPERTIES
  OUTPUT_NAME cmake_default RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
add_test(NAME cuda.cmake_default.tcp
         COMMAND ${GVIRTUS_COMPARE} --gvirtus $<TARGET_FILE:gvirtus>
                 --backend $<TARGET_FILE:gvirtus-backend> --mode tcp
                 --native-must-pass --expect-lib libcuda.so.1
                 -- $<TARGET_FILE:cuda_test_cmake_default>)
set_tests_properties(cuda.cmake_default.tcp PROPERTIES LABELS "cuda;gpu;static" TIMEOUT 300)

# The driver API next to the linked-in runtime, and NVRTC (compiled in the client process, a
# library GVirtuS does not forward: its PTX reaches the worker through cuModuleLoadData).
foreach(name driver_api nvrtc_driver)
  add_executable(cuda_test_static_${name} ${CMAKE_CURRENT_SOURCE_DIR}/cuda/${name}.cu)
  set_target_properties(cuda_test_static_${name} PROPERTIES
    CUDA_RUNTIME_LIBRARY Static
    OUTPUT_NAME static_${name}
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_link_libraries(cuda_test_static_${name} PRIVATE CUDA::cuda_driver Threads::Threads)
  add_test(NAME cuda.static_${name}.tcp
           COMMAND ${GVIRTUS_COMPARE} --gvirtus $<TARGET_FILE:gvirtus>
                   --backend $<TARGET_FILE:gvirtus-backend> --mode tcp
                   --native-must-pass --expect-lib libcuda.so.1
                   -- $<TARGET_FILE:cuda_test_static_${name}>)
  set_tests_properties(cuda.static_${name}.tcp PROPERTIES LABELS "cuda;gpu;static" TIMEOUT 300)
endforeach()
target_link_libraries(cuda_test_static_nvrtc_driver PRIVATE CUDA::nvrtc)
