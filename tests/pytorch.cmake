# Stock PyTorch through GVirtuS: tests/gpu/pytorch_compare.py runs tests/gpu/pytorch_workloads.py
# (matmuls, cuBLASLt linear, convolutions, batch norm, small GPT and ResNet training steps with
# and without autocast, an LSTM, the GPU's random generator) natively and through `gvirtus run`,
# and compares the results bitwise (mixed-precision workloads within a relative 1e-3).
# One test per transport: pytorch.<tcp|unix|shm|embedded>, labels gpu and pytorch (GPU machine only:
# `ctest -L pytorch`). The test fails, it does not skip, when the Python it runs under cannot
# import torch or sees no GPU. It runs through its `#!/usr/bin/env python3` line, as the CUDA
# tests do, so the GPU machine's own python3 (the one with torch) is used wherever it lives.
if(Python3_Interpreter_FOUND)
  foreach(mode tcp unix shm embedded)
    add_test(NAME pytorch.${mode}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gpu/pytorch_compare.py
                     --gvirtus $<TARGET_FILE:gvirtus> --backend $<TARGET_FILE:gvirtus-backend>
                     --mode ${mode} --timeout 900)
    # Two runs of up to 15 minutes each, and the backend's start and stop.
    set_tests_properties(pytorch.${mode} PROPERTIES LABELS "gpu;pytorch" TIMEOUT 1900)
  endforeach()
endif()
# The round trips a training step repeats (tests/gpu/pytorch_round_trips.py): the cuBLASLt
# heuristic and the cuDNN variant packs must not wait once the first steps ran.
if(Python3_Interpreter_FOUND)
  add_test(NAME pytorch.round_trips
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/gpu/pytorch_round_trips.py
                   $<TARGET_FILE:gvirtus> ${PROJECT_SOURCE_DIR}/bench/pytorch_bench.py)
  set_tests_properties(pytorch.round_trips PROPERTIES LABELS "gpu;pytorch" TIMEOUT 1900)
endif()
