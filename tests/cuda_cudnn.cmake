# cuDNN test programs (included by tests/cuda.cmake): each links the toolkit's libcudnn.so.9,
# runs natively and through `gvirtus run` (GVirtuS's libcudnn.so.9 in its place), and the two
# outputs are compared. On the GPU machine libcudnn.so.9 comes from LD_LIBRARY_PATH (the GPU test
# script sets it), not from an RPATH. Without cuDNN in the toolkit nothing here is built.
find_library(CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR})
if(CUDNN_LIBRARY)
  # cudnn_legacy: the descriptor API (convolutions, pooling, activations, softmax, batch norm,
  # dropout, LSTM). cudnn_graph: the backend (graph) API as cudnn-frontend drives it.
  foreach(name cudnn_legacy cudnn_graph)
    add_executable(cuda_test_${name} ${CMAKE_CURRENT_SOURCE_DIR}/cuda/libs/${name}.cu)
    set_target_properties(cuda_test_${name} PROPERTIES
      CUDA_RUNTIME_LIBRARY Shared
      OUTPUT_NAME ${name}
      RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
    target_link_libraries(cuda_test_${name} PRIVATE ${CUDNN_LIBRARY})
    set(GVIRTUS_CUDA_COMPARE_OPTIONS_${name} --native-must-pass --expect-lib libcudnn.so.9)
    gvirtus_cuda_compare(${name} cuda_test_${name} YES)
  endforeach()
endif()
