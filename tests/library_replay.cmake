# The call sequences PyTorch makes through cuBLASLt and cuDNN, replayed against a fake backend in
# the test process (tests/replay/library_replay_test.cc): how many of those calls wait for a
# reply. The client sides of both libraries are compiled into the test itself (it links no
# NVIDIA library, only their headers), so no GPU and no backend are needed.
if(TARGET gvirtus-cublasLt AND TARGET gvirtus-cudnn)
  set(gen ${CMAKE_BINARY_DIR}/gen)
  set_source_files_properties(${gen}/cublasLt_client.cc ${gen}/cudnn_client.cc
                              PROPERTIES GENERATED TRUE)
  file(GLOB replay_client_src CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/src/frontend/cublasLt/*.cc
       ${PROJECT_SOURCE_DIR}/src/frontend/cudnn/*.cc)
  add_executable(gvirtus_replay_tests ${CMAKE_CURRENT_SOURCE_DIR}/replay/library_replay_test.cc
                 ${replay_client_src} ${gen}/cublasLt_client.cc ${gen}/cudnn_client.cc)
  add_dependencies(gvirtus_replay_tests gvirtus_gen_cublasLt gvirtus_gen_cudnn)
  target_include_directories(gvirtus_replay_tests PRIVATE ${PROJECT_SOURCE_DIR}/src
                             ${CMAKE_CURRENT_SOURCE_DIR}/unit ${gen} ${CUDAToolkit_INCLUDE_DIRS}
                             ${GVIRTUS_CUDNN_INCLUDE_DIR})
  target_link_libraries(gvirtus_replay_tests PRIVATE gvirtus_frontend_core_obj gvirtus_common
                        GTest::gtest GTest::gtest_main)
  gtest_discover_tests(gvirtus_replay_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
endif()
