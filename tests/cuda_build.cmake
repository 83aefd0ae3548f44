# CUDA test programs for programs built in other ways: -rdc, dynamic parallelism, several translation units, kernels in dlopened libraries, OpenMP (included by tests/cuda.cmake).
# list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS name YES) for a plain program in tests/cuda/name.cu.
