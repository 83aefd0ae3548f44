# CUDA test programs for arrays, textures, surfaces, 3D copies, pointer/PCI/IPC queries (included by tests/cuda.cmake).
# list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS name YES) for a plain program in tests/cuda/name.cu.
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS
  arrays          YES)
list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS
  textures        YES
  pointer_queries YES
  ipc             YES)
