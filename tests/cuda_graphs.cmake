# CUDA test programs for graphs, stream capture, host callbacks, stream-ordered memory (included by tests/cuda.cmake).
# list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS name YES) for a plain program in tests/cuda/name.cu.
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS callbacks YES)

# A client killed while its host callback runs leaves no worker behind (tests/gpu/callback_fault.py).
add_executable(callback_fault_client ${CMAKE_CURRENT_SOURCE_DIR}/gpu/callback_fault_client.cu)
set_target_properties(callback_fault_client PROPERTIES
  CUDA_RUNTIME_LIBRARY Shared
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/gpu)
add_test(NAME faults.callback-killed
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gpu/callback_fault.py
                 --gvirtus $<TARGET_FILE:gvirtus> --backend $<TARGET_FILE:gvirtus-backend>
                 --client $<TARGET_FILE:callback_fault_client>)
set_tests_properties(faults.callback-killed PROPERTIES LABELS "cuda;faults" TIMEOUT 300)
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS stream_capture YES)
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS mem_pools YES)
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS graphs YES)
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS launch_events YES)
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS graph_nodes YES)
# Host nodes' parameters read and set, in the graph and in an executable graph.
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS host_node_params YES)
# Host callbacks reading and writing managed memory around kernels (frontend managed.h).
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS callback_managed YES)
set(GVIRTUS_CUDA_COMPARE_OPTIONS_callback_managed --native-must-pass)
# Graph memcpy nodes with host memory, captured or explicit (frontend graph_host.h).
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS graph_host_copies YES)
set(GVIRTUS_CUDA_COMPARE_OPTIONS_graph_host_copies --native-must-pass)
