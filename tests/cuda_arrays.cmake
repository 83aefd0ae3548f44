# CUDA test programs for arrays, textures, surfaces, 3D copies, pointer/PCI/IPC queries (included by tests/cuda.cmake).
# list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS name YES) for a plain program in tests/cuda/name.cu.
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS
  arrays          YES)
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS
  textures        YES
  pointer_queries YES
  ipc             YES)
# cudaMemcpyBatchAsync / cudaMemcpy3DBatchAsync (frontend/cudart/batch_copy.h).
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS
  memcpy_batch    YES)
set(GVIRTUS_CUDA_COMPARE_OPTIONS_memcpy_batch --native-must-pass)
