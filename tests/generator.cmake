# Tests of the code generator (tools/gen) and of what it produced. Included by tests/CMakeLists.txt.

# Python unit tests: header parsing, annotation checks, emitted code (the end-to-end one compiles
# the generated code of a fake library with g++ and runs it), the command line.
foreach(t cparse annotations emit cli status_doc plugins)
  add_test(NAME generator_${t}
           COMMAND ${Python3_EXECUTABLE} -m unittest -v test_${t}
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tools/gen/tests)
  set_tests_properties(generator_${t} PROPERTIES LABELS unit TIMEOUT 300
                       ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endforeach()

# Our libcudart.so.13 exports exactly the functions of the real one, each with the version node
# libcudart.so.13.
if(TARGET gvirtus-cudart)
  find_program(GVIRTUS_OBJDUMP NAMES objdump)
  add_test(NAME export_parity
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/gen/export_parity.py
                   ${CUDAToolkit_LIBRARY_DIR}/libcudart.so.13 $<TARGET_FILE:gvirtus-cudart>
                   --objdump ${GVIRTUS_OBJDUMP})
  set_tests_properties(export_parity PROPERTIES LABELS unit TIMEOUT 60)
endif()

# The same for every library plugin's frontend (libcublas.so.13, ...).
# (NVML's library ships with the driver, not the toolkit: tests/nvml.cmake compares it.)
foreach(lib ${GVIRTUS_LIBRARY_PLUGINS})
  if(TARGET gvirtus-${lib} AND NOT lib STREQUAL "nvml")
    add_test(NAME export_parity_${lib}
             COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/gen/export_parity.py
                     ${CUDAToolkit_LIBRARY_DIR}/$<TARGET_FILE_NAME:gvirtus-${lib}>
                     $<TARGET_FILE:gvirtus-${lib}> --objdump ${GVIRTUS_OBJDUMP})
    set_tests_properties(export_parity_${lib} PROPERTIES LABELS unit TIMEOUT 60)
  endif()
endforeach()
