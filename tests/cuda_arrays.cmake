# CUDA test programs for arrays, textures, surfaces, 3D copies, pointer/PCI/IPC queries (included by tests/cuda.cmake).
# list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS name YES) for a plain program in tests/cuda/name.cu.
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS
  arrays          YES)
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS
  textures        YES
  pointer_queries YES
  ipc             YES)

# Managed and mapped memory are refused (docs/arrays.md): a program against our libcudart.so.13
# directly, no backend, no GPU; checks the results and the log line naming the reason.
add_executable(managed_refused ${CMAKE_CURRENT_SOURCE_DIR}/cuda/managed_refused.cc)
target_link_libraries(managed_refused PRIVATE gvirtus-cudart)
target_include_directories(managed_refused PRIVATE ${CUDAToolkit_INCLUDE_DIRS})
set_target_properties(managed_refused PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
add_test(NAME cuda.managed_refused COMMAND managed_refused)
set_tests_properties(cuda.managed_refused PROPERTIES LABELS "unit" TIMEOUT 60
  ENVIRONMENT "GVIRTUS_ENDPOINT=unix:/nonexistent/gvirtus.sock"
  PASS_REGULAR_EXPRESSION "cudaMallocManaged: managed memory and device pointers to host memory cannot work across the network.*PASS|PASS(.|\n)*cudaMallocManaged: managed memory and device pointers")
