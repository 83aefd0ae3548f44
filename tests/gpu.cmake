# Fault cases and the installed tree. They run with or without a GPU (with one, the fault cases
# also check that device memory comes back); label `cuda` so the GPU machine runs them too.
add_executable(fault_client ${CMAKE_CURRENT_SOURCE_DIR}/gpu/fault_client.cu)
set_target_properties(fault_client PROPERTIES
  CUDA_RUNTIME_LIBRARY Shared
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/gpu)

foreach(case client-killed backend-killed)
  add_test(NAME faults.${case}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gpu/faults.py ${case}
                   --gvirtus $<TARGET_FILE:gvirtus> --backend $<TARGET_FILE:gvirtus-backend>
                   --client $<TARGET_FILE:fault_client>)
  set_tests_properties(faults.${case} PROPERTIES LABELS "cuda;faults" TIMEOUT 300)
endforeach()

# scripts/gpu-tests.sh's pack-and-relocate path, run here on a copy (needs the full build tree).
add_test(NAME gpu_tests_script.relocated
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gpu/pack_test.sh ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
# Serial: it runs cuda.errors.* itself, beside the same tests of the outer run.
set_tests_properties(gpu_tests_script.relocated PROPERTIES LABELS install TIMEOUT 300 RUN_SERIAL TRUE)

# A client killed in the middle of long cuDNN work: no worker, no device memory left behind.
if(TARGET gvirtus-cudnn AND CUDNN_LIBRARY)
  add_executable(library_fault_client ${CMAKE_CURRENT_SOURCE_DIR}/gpu/library_fault_client.cu)
  set_target_properties(library_fault_client PROPERTIES
    CUDA_RUNTIME_LIBRARY Shared
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/gpu)
  target_link_libraries(library_fault_client PRIVATE ${CUDNN_LIBRARY})
  add_test(NAME faults.client-killed-in-cudnn
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gpu/faults.py client-killed
                   --gvirtus $<TARGET_FILE:gvirtus> --backend $<TARGET_FILE:gvirtus-backend>
                   --client $<TARGET_FILE:library_fault_client>)
  set_tests_properties(faults.client-killed-in-cudnn PROPERTIES LABELS "cuda;faults" TIMEOUT 300)
endif()

# Device memory cleared before a client gets it ("clear_device_memory"), and what it costs.
add_executable(clear_memory_client ${CMAKE_CURRENT_SOURCE_DIR}/gpu/clear_memory.cu)
set_target_properties(clear_memory_client PROPERTIES
  CUDA_RUNTIME_LIBRARY Shared OUTPUT_NAME clear_memory
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/gpu)
add_test(NAME isolation.clear_memory
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gpu/clear_memory.py
                 --gvirtus $<TARGET_FILE:gvirtus> --backend $<TARGET_FILE:gvirtus-backend>
                 --client $<TARGET_FILE:clear_memory_client>)
set_tests_properties(isolation.clear_memory PROPERTIES LABELS gpu TIMEOUT 600)

# The module cache: only the images the GPU can load travel, once (docs/backend.md).
add_executable(module_cache_client ${CMAKE_CURRENT_SOURCE_DIR}/gpu/module_cache.cu)
set_target_properties(module_cache_client PROPERTIES
  CUDA_RUNTIME_LIBRARY Shared OUTPUT_NAME module_cache
  CUDA_ARCHITECTURES "80-real;90-real;75-virtual"
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/gpu)
add_test(NAME module_cache.reuse
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gpu/module_cache.py
                 --gvirtus $<TARGET_FILE:gvirtus> --backend $<TARGET_FILE:gvirtus-backend>
                 --client $<TARGET_FILE:module_cache_client>)
set_tests_properties(module_cache.reuse PROPERTIES LABELS gpu TIMEOUT 300)
