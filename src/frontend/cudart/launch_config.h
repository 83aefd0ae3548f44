// The per-thread stack behind __cudaPushCallConfiguration / __cudaPopCallConfiguration: nvcc's
// code for `k<<<g, b, s, st>>>(args)` pushes the configuration, evaluates the arguments (which
// may launch kernels themselves, hence a stack), then the stub pops it and launches.
// Purely local; nothing goes to the backend.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

namespace gvirtus::cudart {

struct LaunchConfig {
  dim3 grid;
  dim3 block;
  size_t shmem = 0;
  cudaStream_t stream = nullptr;
};

// Deepest nesting of <<<>>> inside kernel arguments we keep.
constexpr int kMaxConfigDepth = 64;

// False if the stack is full (the matching pop then fails and the launch is skipped).
bool push_config(const LaunchConfig& c);
// False if the stack is empty.
bool pop_config(LaunchConfig* out);
int config_depth();

}  // namespace gvirtus::cudart
