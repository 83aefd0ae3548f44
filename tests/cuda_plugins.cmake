# Library plugins on every machine (no GPU needed): a cuBLAS program compared natively and
# through GVirtuS (the worker loads the cuBLAS plugin on the first call), and the clear refusal
# when the backend cannot load a plugin.
if(TARGET CUDA::cublas AND TARGET gvirtus-cublas)
  add_executable(cuda_test_library_plugins ${CMAKE_CURRENT_SOURCE_DIR}/cuda/libs/library_plugins.cu)
  set_target_properties(cuda_test_library_plugins PROPERTIES
    CUDA_RUNTIME_LIBRARY Shared
    OUTPUT_NAME library_plugins
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_link_libraries(cuda_test_library_plugins PRIVATE CUDA::cublas)
  set(GVIRTUS_CUDA_COMPARE_OPTIONS_library_plugins --expect-lib libcublas.so.13)
  gvirtus_cuda_compare(library_plugins cuda_test_library_plugins NO)
  add_dependencies(cuda_test_library_plugins gvirtus-backend-cublas)

  # A backend that cannot load the plugin: every cuBLAS call answers CUBLAS_STATUS_NOT_INITIALIZED
  # and the program's stderr says what is missing, once.
  add_test(NAME plugins.missing
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/gpu/missing_plugin.py
                   $<TARGET_FILE:gvirtus> $<TARGET_FILE:cuda_test_library_plugins>)
  set_tests_properties(plugins.missing PROPERTIES LABELS unit TIMEOUT 120)
endif()

# cuDNN (where the toolkit has it): versions, error strings, descriptors and the backend API's
# attributes compared natively and through GVirtuS, no GPU needed.
if(TARGET gvirtus-cudnn AND TARGET gvirtus-backend-cudnn)
  add_executable(cuda_test_cudnn_plugin ${CMAKE_CURRENT_SOURCE_DIR}/cuda/libs/cudnn_plugin.cu)
  set_target_properties(cuda_test_cudnn_plugin PROPERTIES
    CUDA_RUNTIME_LIBRARY Shared
    OUTPUT_NAME cudnn_plugin
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_include_directories(cuda_test_cudnn_plugin PRIVATE ${GVIRTUS_CUDNN_INCLUDE_DIR})
  target_link_libraries(cuda_test_cudnn_plugin PRIVATE ${GVIRTUS_CUDNN_LIBRARY})
  gvirtus_cuda_compare(cudnn_plugin cuda_test_cudnn_plugin NO)
  add_dependencies(cuda_test_cudnn_plugin gvirtus-backend-cudnn)
endif()

# cuBLASLt natively and through GVirtuS: versions, status names, descriptors and attributes
# without a GPU; on a GPU machine also SGEMM/DGEMM with host and device alpha/beta.
if(TARGET CUDA::cublasLt AND TARGET gvirtus-cublasLt)
  add_executable(cuda_test_cublaslt_plugin ${CMAKE_CURRENT_SOURCE_DIR}/cuda/libs/cublaslt_plugin.cu)
  set_target_properties(cuda_test_cublaslt_plugin PROPERTIES
    CUDA_RUNTIME_LIBRARY Shared
    OUTPUT_NAME cublaslt_plugin
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_link_libraries(cuda_test_cublaslt_plugin PRIVATE CUDA::cublasLt)
  gvirtus_cuda_compare(cublaslt_plugin cuda_test_cublaslt_plugin NO)
  add_dependencies(cuda_test_cublaslt_plugin gvirtus-backend-cublasLt)
endif()
