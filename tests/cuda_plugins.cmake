# Library plugins on every machine (no GPU needed): programs compared natively and through
# GVirtuS (the worker loads each library's plugin on its first call; without a GPU the
# libraries answer as natively), and the clear refusal when the backend cannot load a plugin.

# gvirtus_plugin_compare(NAME LIBRARY SONAME LINK...): tests/cuda/libs/NAME.cu, linked with
# LINK, compared on every transport; through GVirtuS it must load our SONAME, and the backend
# plugin of LIBRARY must be built.
function(gvirtus_plugin_compare name library soname)
  set(t cuda_test_${name})
  add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/cuda/libs/${name}.cu)
  set_target_properties(${t} PROPERTIES
    CUDA_RUNTIME_LIBRARY Shared
    OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_link_libraries(${t} PRIVATE ${ARGN})
  add_dependencies(${t} gvirtus-backend-${library})
  set(GVIRTUS_CUDA_COMPARE_OPTIONS_${name} --expect-lib ${soname})
  gvirtus_cuda_compare(${name} ${t} NO)
endfunction()

if(TARGET CUDA::cublas AND TARGET gvirtus-cublas)
  gvirtus_plugin_compare(library_plugins cublas libcublas.so.13 CUDA::cublas)
  # A backend that cannot load the plugin: every cuBLAS call answers CUBLAS_STATUS_NOT_INITIALIZED
  # and the program's stderr says what is missing, once.
  add_test(NAME plugins.missing
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/gpu/missing_plugin.py
                   $<TARGET_FILE:gvirtus> $<TARGET_FILE:cuda_test_library_plugins>)
  set_tests_properties(plugins.missing PROPERTIES LABELS unit TIMEOUT 120)
endif()

# cuDNN (where the toolkit has it): versions, error strings, descriptors and the backend API's
# attributes.
if(TARGET gvirtus-cudnn AND TARGET gvirtus-backend-cudnn)
  gvirtus_plugin_compare(cudnn_plugin cudnn libcudnn.so.9 ${GVIRTUS_CUDNN_LIBRARY})
  target_include_directories(cuda_test_cudnn_plugin PRIVATE ${GVIRTUS_CUDNN_INCLUDE_DIR})
endif()

# Client-chosen handle ids (docs/protocol.md): cuDNN and cuBLASLt descriptors created, used and
# destroyed over and over, compared with the native run; and, counted with GVIRTUS_CALL_STATS,
# only the first create of each argument list waits for the worker.
if(TARGET gvirtus-cudnn AND TARGET gvirtus-backend-cudnn AND TARGET CUDA::cublasLt
   AND TARGET gvirtus-cublasLt)
  gvirtus_plugin_compare(create_ids cudnn libcudnn.so.9 ${GVIRTUS_CUDNN_LIBRARY} CUDA::cublasLt)
  target_include_directories(cuda_test_create_ids PRIVATE ${GVIRTUS_CUDNN_INCLUDE_DIR})
  add_dependencies(cuda_test_create_ids gvirtus-backend-cublasLt)
  add_test(NAME plugins.create_round_trips
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/gpu/create_round_trips.py
                   $<TARGET_FILE:gvirtus> $<TARGET_FILE:cuda_test_create_ids>)
  set_tests_properties(plugins.create_round_trips PROPERTIES LABELS unit TIMEOUT 120)
endif()

# cuBLASLt: versions, status names, descriptors and attributes; on a GPU machine also SGEMM and
# DGEMM with host and device alpha/beta.
if(TARGET CUDA::cublasLt AND TARGET gvirtus-cublasLt)
  gvirtus_plugin_compare(cublaslt_plugin cublasLt libcublasLt.so.13 CUDA::cublasLt)
endif()

# cuRAND: versions, generator creation, host generators (no GPU needed) generating the same
# numbers; on a GPU machine also device generation and a discrete distribution.
if(TARGET CUDA::curand AND TARGET gvirtus-curand)
  gvirtus_plugin_compare(curand_plugin curand libcurand.so.10 CUDA::curand)
endif()

# cuFFT: version, plan numbers cuFFT does not know, estimates, plan creation (refused as natively
# without a GPU; on a GPU machine an 8-point C2C transform).
if(TARGET CUDA::cufft AND TARGET gvirtus-cufft)
  gvirtus_plugin_compare(cufft_plugin cufft libcufft.so.12 CUDA::cufft)
endif()

# cuSPARSE: properties, status names, handle creation (refused as natively without a GPU), NULL
# handles, matrix descriptors, generic descriptors and legacy infos created and destroyed; on a
# GPU machine also descriptor getters and a CSR SpMV.
if(TARGET CUDA::cusparse AND TARGET gvirtus-cusparse)
  gvirtus_plugin_compare(cusparse_plugin cusparse libcusparse.so.12 CUDA::cusparse)
endif()
# cuSOLVER: versions, params and info objects (made without a GPU), handles refused as natively
# without one; on a GPU machine a 3x3 Cholesky on the device and a sparse QR solve on the host.
if(TARGET CUDA::cusolver AND TARGET gvirtus-cusolver)
  gvirtus_plugin_compare(cusolver_plugin cusolver libcusolver.so.12 CUDA::cusolver CUDA::cusparse)
endif()
