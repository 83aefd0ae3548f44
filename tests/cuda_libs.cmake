# CUDA test programs for the math libraries (included by tests/cuda.cmake): each links one of
# NVIDIA's libraries, which `gvirtus run` replaces with ours. They need a GPU (label `gpu`), must
# pass natively (--native-must-pass: both runs failing alike is no success), and through GVirtuS
# must have loaded our copy of the library (--expect-lib SONAME), not NVIDIA's.
#
# GVIRTUS_CUDA_LIB_TESTS: one entry per program, `name|source|link target|SONAME[|SONAME...]`
# (`|` because a CMake list cannot nest). tests/cuda/libs/<source> is built (with tests/cuda on
# the include path, for check.h) into ${GVIRTUS_CUDA_TEST_DIR}/<name> and registered as
# cuda.<name>.<tcp|unix|shm|embedded> with `--native-must-pass --expect-lib SONAME...`.
set(GVIRTUS_CUDA_LIB_TESTS)
if(TARGET CUDA::cublas AND TARGET CUDA::cublasLt)
  list(APPEND GVIRTUS_CUDA_LIB_TESTS
    "cublas|cublas.cu|CUDA::cublas|libcublas.so.13"
    "cublaslt|cublaslt.cu|CUDA::cublasLt|libcublasLt.so.13")
endif()

if(TARGET CUDA::curand)
  list(APPEND GVIRTUS_CUDA_LIB_TESTS "curand|curand.cu|CUDA::curand|libcurand.so.10")
endif()
if(TARGET CUDA::cufft)
  list(APPEND GVIRTUS_CUDA_LIB_TESTS "cufft|cufft.cu|CUDA::cufft|libcufft.so.12")
endif()
if(TARGET CUDA::cusparse)
  list(APPEND GVIRTUS_CUDA_LIB_TESTS "cusparse|cusparse.cu|CUDA::cusparse|libcusparse.so.12")
endif()
if(TARGET CUDA::cusolver AND TARGET CUDA::cusparse)
  list(APPEND GVIRTUS_CUDA_LIB_TESTS "cusolver|cusolver.cu|CUDA::cusolver|libcusolver.so.12")
endif()

# Other libraries append their entries here the same way (cuDNN keeps its own file,
# tests/cuda_cudnn.cmake, included by tests/cuda.cmake).

foreach(entry ${GVIRTUS_CUDA_LIB_TESTS})
  string(REPLACE "|" ";" parts "${entry}")
  list(POP_FRONT parts name source link)
  add_executable(cuda_test_${name} ${CMAKE_CURRENT_SOURCE_DIR}/cuda/libs/${source})
  set_target_properties(cuda_test_${name} PROPERTIES
    CUDA_RUNTIME_LIBRARY Shared
    OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_include_directories(cuda_test_${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cuda)
  target_link_libraries(cuda_test_${name} PRIVATE ${link})
  set(GVIRTUS_CUDA_COMPARE_OPTIONS_${name} --native-must-pass)
  foreach(soname ${parts})
    list(APPEND GVIRTUS_CUDA_COMPARE_OPTIONS_${name} --expect-lib ${soname})
  endforeach()
  gvirtus_cuda_compare(${name} cuda_test_${name} YES)
endforeach()

# cusolverSp takes cuSPARSE's matrix descriptors.
if(TARGET cuda_test_cusolver)
  target_link_libraries(cuda_test_cusolver PRIVATE CUDA::cusparse)
endif()
