# Host memory shared with the worker over shm: (docs/zero-copy.md), on a GPU: through
# `gvirtus run`, whose private backend listens on shm:. Not compared with a native run: it
# checks what only the remote run has (the worker maps the application's page-locked memory
# and unmaps it on cudaFreeHost), and timings that show async copies only enqueue.
add_executable(shared_host_client ${CMAKE_CURRENT_SOURCE_DIR}/gpu/shared_host.cu)
set_target_properties(shared_host_client PROPERTIES
  CUDA_RUNTIME_LIBRARY Shared OUTPUT_NAME shared_host
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/gpu)
add_test(NAME gpu.shared_host
         COMMAND $<TARGET_FILE:gvirtus> run -- $<TARGET_FILE:shared_host_client>)
set_tests_properties(gpu.shared_host PROPERTIES LABELS "gpu;cuda" TIMEOUT 300
                     FAIL_REGULAR_EXPRESSION "FAILED")
