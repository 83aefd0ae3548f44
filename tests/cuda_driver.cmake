# CUDA test programs for the driver API (libcuda.so.1) and NVRTC (included by tests/cuda.cmake).
# list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS name YES) for a plain program in tests/cuda/name.cu.
