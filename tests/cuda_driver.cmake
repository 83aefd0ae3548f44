# CUDA test programs for the driver API (libcuda.so.1) and NVRTC (included by tests/cuda.cmake).
# list(APPEND GVIRTUS_CUDA_TEST_PROGRAMS name YES) for a plain program in tests/cuda/name.cu.
# CUDA programs run natively and through `gvirtus run`; each test diffs stdout and exit status
# (tests/cuda/compare.py). One test per program and transport: cuda.<program>.<tcp|unix|shm|embedded>.
#
# Driver programs link the toolkit's stub libcuda.so (CUDA::cuda_driver): natively they get the
# real driver, under `gvirtus run` ours. Without a driver they cannot even start, so they all
# need a GPU.

set(GVIRTUS_DRIVER_IMAGE_DIR ${CMAKE_BINARY_DIR}/tests/cuda/driver_images)
set(GVIRTUS_DRIVER_KERNELS ${CMAKE_CURRENT_SOURCE_DIR}/cuda/driver/kernels.cu)
# Module images made at build time from driver/kernels.cu: a cubin for the GPU machine (sm_90),
# a fatbin (sm_75 and sm_90 code, compute_90 PTX) and PTX alone, each turned into a header
# (bin2c, NUL-padded) that driver_modules.cu includes: the program carries its
# images wherever it is copied.
set(img ${GVIRTUS_DRIVER_IMAGE_DIR}/kernels)
find_program(GVIRTUS_BIN2C bin2c HINTS ${CUDAToolkit_BIN_DIR} REQUIRED)
set(bin2c "${GVIRTUS_BIN2C} --padd 0")
add_custom_command(
  OUTPUT ${img}_cubin.h ${img}_fatbin.h ${img}_ptx.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${GVIRTUS_DRIVER_IMAGE_DIR}
  COMMAND ${CMAKE_CUDA_COMPILER} -cubin -arch=sm_90 -o ${img}.cubin ${GVIRTUS_DRIVER_KERNELS}
  COMMAND ${CMAKE_CUDA_COMPILER} -fatbin -gencode arch=compute_75,code=sm_75
          -gencode arch=compute_90,code=[sm_90,compute_90] -o ${img}.fatbin
          ${GVIRTUS_DRIVER_KERNELS}
  COMMAND ${CMAKE_CUDA_COMPILER} -ptx -arch=compute_90 -o ${img}.ptx ${GVIRTUS_DRIVER_KERNELS}
  COMMAND sh -c "${bin2c} --name kCubin ${img}.cubin > ${img}_cubin.h"
  COMMAND sh -c "${bin2c} --name kFatbin ${img}.fatbin > ${img}_fatbin.h"
  COMMAND sh -c "${bin2c} --name kPtx ${img}.ptx > ${img}_ptx.h"
  DEPENDS ${GVIRTUS_DRIVER_KERNELS}
  COMMENT "Building the driver tests' module images"
  VERBATIM)
add_custom_target(gvirtus_driver_images DEPENDS ${img}_cubin.h ${img}_fatbin.h ${img}_ptx.h)

foreach(name driver_api driver_modules nvrtc_driver driver_legacy)
  add_executable(cuda_test_${name} ${CMAKE_CURRENT_SOURCE_DIR}/cuda/${name}.cu)
  set_target_properties(cuda_test_${name} PROPERTIES
    CUDA_RUNTIME_LIBRARY Shared
    OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_link_libraries(cuda_test_${name} PRIVATE CUDA::cuda_driver Threads::Threads)
endforeach()
target_link_libraries(cuda_test_nvrtc_driver PRIVATE CUDA::nvrtc)
add_dependencies(cuda_test_driver_modules gvirtus_driver_images)
target_include_directories(cuda_test_driver_modules PRIVATE ${GVIRTUS_DRIVER_IMAGE_DIR})
gvirtus_cuda_compare(driver_api cuda_test_driver_api YES)
gvirtus_cuda_compare(driver_modules cuda_test_driver_modules YES)
gvirtus_cuda_compare(nvrtc_driver cuda_test_nvrtc_driver YES)
gvirtus_cuda_compare(driver_legacy cuda_test_driver_legacy YES)
target_link_libraries(cuda_test_driver_legacy PRIVATE ${CMAKE_DL_LIBS})

# The driver's graphs, pools, arrays (and arrays in cuMemcpy2D/3D), texture/surface objects,
# mapped host memory and IPC, mixed with the runtime on the same objects; a module image over
# one frame; asynchronous copies with page-locked memory through the driver's calls; virtual
# memory management (reservations, physical allocations, mappings). Each must pass natively
# (--native-must-pass: both runs failing alike is no success).
foreach(name driver_objects driver_big_module driver_ipc driver_async_delivery driver_vmm)
  add_executable(cuda_test_${name} ${CMAKE_CURRENT_SOURCE_DIR}/cuda/${name}.cu)
  set_target_properties(cuda_test_${name} PROPERTIES
    CUDA_RUNTIME_LIBRARY Shared
    OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
  target_link_libraries(cuda_test_${name} PRIVATE CUDA::cuda_driver Threads::Threads)
  set(GVIRTUS_CUDA_COMPARE_OPTIONS_${name} --native-must-pass)
  gvirtus_cuda_compare(${name} cuda_test_${name} YES)
endforeach()

# Our libcuda.so.1 exports every function of the CUDA 13 driver (the toolkit's stub has the
# list), without symbol versions, as the driver.
if(TARGET gvirtus-cuda)
  find_program(GVIRTUS_OBJDUMP NAMES objdump)
  add_test(NAME export_parity_cuda
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/gen/export_parity.py
                   ${CUDAToolkit_LIBRARY_DIR}/stubs/libcuda.so $<TARGET_FILE:gvirtus-cuda>
                   --objdump ${GVIRTUS_OBJDUMP})
  set_tests_properties(export_parity_cuda PROPERTIES LABELS unit TIMEOUT 60)
endif()

# Host-side logic of libcuda.so.1 (tests/unit/cuda_driver_test.cc).
target_link_libraries(gvirtus_unit_tests PRIVATE gvirtus_cuda_logic)

# Tensor maps (TMA descriptors) encoded through the driver and read by a kernel with
# cp.async.bulk.tensor: Hopper code only.
add_executable(cuda_test_driver_tensor_maps ${CMAKE_CURRENT_SOURCE_DIR}/cuda/driver_tensor_maps.cu)
set_target_properties(cuda_test_driver_tensor_maps PROPERTIES
  CUDA_RUNTIME_LIBRARY Shared
  CUDA_ARCHITECTURES 90
  OUTPUT_NAME driver_tensor_maps
  RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
target_link_libraries(cuda_test_driver_tensor_maps PRIVATE CUDA::cuda_driver)
set(GVIRTUS_CUDA_COMPARE_OPTIONS_driver_tensor_maps --native-must-pass)
gvirtus_cuda_compare(driver_tensor_maps cuda_test_driver_tensor_maps YES)

# Cluster occupancy queries (cuOccupancyMaxActiveClusters, cuOccupancyMaxPotentialClusterSize)
# on a module's kernel.
add_executable(cuda_test_driver_clusters ${CMAKE_CURRENT_SOURCE_DIR}/cuda/driver_clusters.cu)
set_target_properties(cuda_test_driver_clusters PROPERTIES
  CUDA_RUNTIME_LIBRARY Shared
  OUTPUT_NAME driver_clusters
  RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
target_link_libraries(cuda_test_driver_clusters PRIVATE CUDA::cuda_driver Threads::Threads)
add_dependencies(cuda_test_driver_clusters gvirtus_driver_images)
target_include_directories(cuda_test_driver_clusters PRIVATE ${GVIRTUS_DRIVER_IMAGE_DIR})
set(GVIRTUS_CUDA_COMPARE_OPTIONS_driver_clusters --native-must-pass)
gvirtus_cuda_compare(driver_clusters cuda_test_driver_clusters YES)
