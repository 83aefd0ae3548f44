# NVML (libnvidia-ml.so.1, api/nvml.api). The real library comes with the driver only, so:
#   nvml.exports               (CPU) our library exports every function nvml.h declares and the
#                              committed export list, none with a version node;
#   export_parity_nvml         (gpu) our exports against the GPU machine's libnvidia-ml.so.1,
#                              found through `ldconfig -p` (fails when there is none);
#   nvml.fake.<transport>      (CPU) tests/cuda/libs/nvml.c natively against a stand-in
#                              libnvidia-ml.so.1 (tests/nvml/fake_nvml.c) and through GVirtuS,
#                              whose worker loads the same stand-in;
#   nvml.alone                 (CPU) the same, our library loaded alone: no `gvirtus run`, no
#                              libcudart.so.13, GVIRTUS_ENDPOINT and LD_LIBRARY_PATH only;
#   cuda.nvml.<transport>      (gpu) the same program against the driver's NVML;
#   nvml.nvidia_smi            (gpu) nvidia-smi natively and through `gvirtus run`.
if(NOT TARGET gvirtus-nvml)
  return()
endif()
find_program(GVIRTUS_OBJDUMP NAMES objdump)
# tests/unit/nvml_handlers_test.cc is compiled only with the plugin (an nvml.h elsewhere on the
# include path is not enough: the handlers would be missing).
target_compile_definitions(gvirtus_unit_tests PRIVATE GVIRTUS_HAVE_NVML=1)

add_test(NAME nvml.exports
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/nvml/check_exports.py
                 --ours $<TARGET_FILE:gvirtus-nvml>
                 --header ${GVIRTUS_NVML_INCLUDE_DIR}/nvml.h
                 --list ${PROJECT_SOURCE_DIR}/api/nvml.exports --objdump ${GVIRTUS_OBJDUMP})
set_tests_properties(nvml.exports PROPERTIES LABELS unit TIMEOUT 60)

add_test(NAME export_parity_nvml
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/nvml/check_exports.py
                 --ours $<TARGET_FILE:gvirtus-nvml> --real-from-ldconfig
                 --objdump ${GVIRTUS_OBJDUMP})
set_tests_properties(export_parity_nvml PROPERTIES LABELS gpu TIMEOUT 60)

# The program: it dlopens libnvidia-ml.so.1 (as nvidia-smi does), so it links no NVML.
add_executable(cuda_test_nvml ${CMAKE_CURRENT_SOURCE_DIR}/cuda/libs/nvml.c)
target_include_directories(cuda_test_nvml PRIVATE ${GVIRTUS_NVML_INCLUDE_DIR})
target_link_libraries(cuda_test_nvml PRIVATE ${CMAKE_DL_LIBS})
set_target_properties(cuda_test_nvml PROPERTIES OUTPUT_NAME nvml
                      RUNTIME_OUTPUT_DIRECTORY ${GVIRTUS_CUDA_TEST_DIR})
add_dependencies(cuda_test_nvml gvirtus-backend-nvml gvirtus-nvml)

set(GVIRTUS_CUDA_COMPARE_OPTIONS_nvml --native-must-pass --expect-lib libnvidia-ml.so.1)
gvirtus_cuda_compare(nvml cuda_test_nvml YES)

# The stand-in, in a folder of its own: the test's LD_LIBRARY_PATH for the native run, and
# GVIRTUS_LIBRARY_PATH for the worker (`gvirtus run` puts our frontend folder first for the
# program itself).
set(fake_dir ${CMAKE_BINARY_DIR}/tests/nvml_fake)
add_library(gvirtus_test_fake_nvml SHARED ${CMAKE_CURRENT_SOURCE_DIR}/nvml/fake_nvml.c)
target_include_directories(gvirtus_test_fake_nvml PRIVATE ${GVIRTUS_NVML_INCLUDE_DIR})
set_target_properties(gvirtus_test_fake_nvml PROPERTIES OUTPUT_NAME nvidia-ml VERSION 1
                      SOVERSION 1 C_VISIBILITY_PRESET hidden LIBRARY_OUTPUT_DIRECTORY ${fake_dir})
add_dependencies(cuda_test_nvml gvirtus_test_fake_nvml)
foreach(mode tcp unix shm embedded)
  add_test(NAME nvml.fake.${mode}
           COMMAND ${GVIRTUS_COMPARE} --gvirtus $<TARGET_FILE:gvirtus>
                   --backend $<TARGET_FILE:gvirtus-backend> --mode ${mode}
                   --native-must-pass --expect-lib libnvidia-ml.so.1
                   -- $<TARGET_FILE:cuda_test_nvml>)
  # Prepended, not replaced: on the GPU machine the driver's folder stays on the path.
  set_tests_properties(nvml.fake.${mode} PROPERTIES LABELS "cuda;unit" TIMEOUT 120
                       ENVIRONMENT_MODIFICATION
                       "LD_LIBRARY_PATH=path_list_prepend:${fake_dir};GVIRTUS_LIBRARY_PATH=set:${fake_dir}")
endforeach()

# The library loaded alone (no gvirtus run, no libcudart.so.13), as nvidia-smi loads it.
add_test(NAME nvml.alone
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/nvml/alone.py
                 $<TARGET_FILE:gvirtus-backend> ${GVIRTUS_LIB_DIR} ${fake_dir}
                 $<TARGET_FILE:cuda_test_nvml>)
set_tests_properties(nvml.alone PROPERTIES LABELS "cuda;unit" TIMEOUT 120)

add_test(NAME nvml.nvidia_smi
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gpu/nvidia_smi.py
                 $<TARGET_FILE:gvirtus>)
set_tests_properties(nvml.nvidia_smi PROPERTIES LABELS gpu TIMEOUT 300)

# --devices applied to NVML (src/backend/nvml/visible.cc): tests/nvml/devices.c natively and
# through a backend that exposes some GPUs; with the stand-in (CPU) and the driver's NVML (gpu).
add_executable(gvirtus_test_nvml_devices ${CMAKE_CURRENT_SOURCE_DIR}/nvml/devices.c)
target_include_directories(gvirtus_test_nvml_devices PRIVATE ${GVIRTUS_NVML_INCLUDE_DIR})
target_link_libraries(gvirtus_test_nvml_devices PRIVATE ${CMAKE_DL_LIBS})
add_dependencies(gvirtus_test_nvml_devices gvirtus-backend-nvml gvirtus-nvml
                 gvirtus_test_fake_nvml)
add_test(NAME nvml.devices.fake
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/nvml/devices.py $<TARGET_FILE:gvirtus-backend>
                 ${GVIRTUS_LIB_DIR} $<TARGET_FILE:gvirtus_test_nvml_devices> --fake ${fake_dir})
set_tests_properties(nvml.devices.fake PROPERTIES LABELS "cuda;unit" TIMEOUT 120)
add_test(NAME nvml.devices.gpu
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/nvml/devices.py $<TARGET_FILE:gvirtus-backend>
                 ${GVIRTUS_LIB_DIR} $<TARGET_FILE:gvirtus_test_nvml_devices>)
set_tests_properties(nvml.devices.gpu PROPERTIES LABELS gpu TIMEOUT 120)
