# CUDA test programs for graphs, stream capture, host callbacks, stream-ordered memory (included by tests/cuda.cmake).
# list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS name YES) for a plain program in tests/cuda/name.cu.
