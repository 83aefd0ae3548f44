# The load test (bench/load/load_test.py, docs/deploy.md "Load test"): many clients at once
# through one backend, some killed at random. Its client program is built here, into bin/, so
# that scripts/gpu-tests.sh --pack carries it to the GPU machine.
set(load_src ${PROJECT_SOURCE_DIR}/bench/load)
if(TARGET CUDA::cublas AND TARGET CUDA::cufft AND TARGET CUDA::curand)
  add_executable(gvirtus-load-client ${load_src}/load_client.cu)
  set_target_properties(gvirtus-load-client PROPERTIES CUDA_RUNTIME_LIBRARY Shared)
  target_link_libraries(gvirtus-load-client PRIVATE CUDA::cublas CUDA::cufft CUDA::curand
                        Threads::Threads)
  # What the test runs it with: the CLI, the backend, and the frontend libraries it loads (the
# CLI preloads every library of the build, so all of them).
add_dependencies(gvirtus-load-client gvirtus gvirtus-backend gvirtus-cudart gvirtus-cuda)
foreach(lib ${GVIRTUS_LIBRARY_PLUGINS})
  if(TARGET gvirtus-${lib})
    add_dependencies(gvirtus-load-client gvirtus-${lib})
  endif()
endforeach()

  # Without a GPU: 6 clients x 2 threads for 8 s, 40% killed; every survivor must finish
  # without an error and no worker may be left.
  add_test(NAME load.cpu
           COMMAND Python3::Interpreter ${load_src}/load_test.py --build ${CMAKE_BINARY_DIR}
                   --mode cpu --clients 6 --threads 2 --duration 8 --life 1:4
                   --kill-fraction 0.4 --endpoint unix)
  set_tests_properties(load.cpu PROPERTIES LABELS load TIMEOUT 240)
  # The driver itself: a client that reports an error (and is not killed) must fail the run.
  add_test(NAME load.detects_errors
           COMMAND Python3::Interpreter ${load_src}/load_test.py --build ${CMAKE_BINARY_DIR}
                   --mode cpu --clients 2 --threads 1 --duration 2 --life 1:1 --kill-fraction 0
                   --client ${CMAKE_CURRENT_SOURCE_DIR}/load/failing_client.sh
                   --out ${CMAKE_CURRENT_BINARY_DIR}/load-detects-errors)
  set_tests_properties(load.detects_errors PROPERTIES LABELS load TIMEOUT 120
    PASS_REGULAR_EXPRESSION "load: FAILED\n  - [0-9]+ errors among [0-9]+ clients not killed")
  # On the GPU machine: the short mix (8 clients x 2 threads, 20 s) over TCP. The full run
  # (64 x 4 for 5 minutes) is scripts/load-test.sh.
  # (The script itself, by its #! line: the GPU machine has no interpreter at the build
  # machine's path.)
  add_test(NAME load.gpu_short
           COMMAND ${load_src}/load_test.py --build ${CMAKE_BINARY_DIR}
                   --mode gpu --short --endpoint tcp)
  # Serial: it compares the GPU memory used before and after.
  set_tests_properties(load.gpu_short PROPERTIES LABELS "gpu;load" TIMEOUT 400 RUN_SERIAL TRUE)
endif()
