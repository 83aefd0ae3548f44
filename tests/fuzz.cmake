# Fuzzing the backend's message handling (tests/fuzz). Included by tests/CMakeLists.txt.
# docs/fuzzing.md says how to run each fuzzer and what it covers.
#
# The whole handler table (tests/fuzz/serve_calls.cc): its bounded run is in the unit tests
# (tests/unit/handler_fuzz_test.cc, with every library plugin linked in) on every build, and
# with -DGVIRTUS_FUZZ=ON a libFuzzer binary is built too, bin/gvirtus_fuzz_handlers.
target_sources(gvirtus_unit_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/serve_calls.cc)
target_include_directories(gvirtus_unit_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(gvirtus_unit_tests PRIVATE
  GVIRTUS_FUZZ_CORPUS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus")
#
# The bounded run in tests/unit/serve_fuzz_test.cc goes through the same entry point,
# gvirtus::backend::serve_bytes(), on every build. With -DGVIRTUS_FUZZ=ON and clang as the C++
# compiler, a libFuzzer binary is built too: bin/gvirtus_fuzz_server, from the backend's own
# (then instrumented) objects.
if(GVIRTUS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(WARNING "GVIRTUS_FUZZ needs clang as the C++ compiler "
                    "(-DCMAKE_CXX_COMPILER=clang++); the fuzz target is not built")
  else()
    # The backend's objects, which this configuration compiles with coverage instrumentation
    # and ASan/UBSan (the top-level CMakeLists.txt adds -fsanitize=fuzzer-no-link,address,
    # undefined to all C++ when GVIRTUS_FUZZ is on). serve_bytes turns the page-locked
    # buffers off, so no CUDA call is made.
    add_executable(gvirtus_fuzz_server ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/server_fuzz.cc)
    target_link_options(gvirtus_fuzz_server PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(gvirtus_fuzz_server PRIVATE gvirtus_backend_core gvirtus_common)

    # The handler table: the backend core and every library plugin's objects, which this
    # configuration compiles with coverage instrumentation and ASan/UBSan (the top-level
    # CMakeLists.txt adds -fsanitize=fuzzer-no-link,address,undefined to all C++ when
    # GVIRTUS_FUZZ is on).
    add_executable(gvirtus_fuzz_handlers ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/handlers_fuzz.cc
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/serve_calls.cc)
    target_include_directories(gvirtus_fuzz_handlers PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_options(gvirtus_fuzz_handlers PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(gvirtus_fuzz_handlers PRIVATE gvirtus_backend_core gvirtus_common)
    foreach(lib ${GVIRTUS_LIBRARY_PLUGINS})
      if(TARGET gvirtus_backend_${lib}_obj)
        target_link_libraries(gvirtus_fuzz_handlers PRIVATE gvirtus_backend_${lib}_obj)
      endif()
    endforeach()
  endif()
endif()
