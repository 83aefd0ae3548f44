#include "frontend/cudart/launch_config.h"

namespace gvirtus::cudart {

namespace {

// Plain data, so the thread_local needs no destructor (CUDA calls may come from other
// libraries' thread-exit handlers).
struct Slot {
  unsigned grid[3];
  unsigned block[3];
  size_t shmem;
  cudaStream_t stream;
};
struct Stack {
  Slot slots[kMaxConfigDepth];
  int depth;
};
thread_local Stack t_stack;

}  // namespace

bool push_config(const LaunchConfig& c) {
  Stack& s = t_stack;
  if (s.depth >= kMaxConfigDepth) return false;
  Slot& slot = s.slots[s.depth++];
  slot.grid[0] = c.grid.x, slot.grid[1] = c.grid.y, slot.grid[2] = c.grid.z;
  slot.block[0] = c.block.x, slot.block[1] = c.block.y, slot.block[2] = c.block.z;
  slot.shmem = c.shmem;
  slot.stream = c.stream;
  return true;
}

bool pop_config(LaunchConfig* out) {
  Stack& s = t_stack;
  if (s.depth <= 0) return false;
  const Slot& slot = s.slots[--s.depth];
  out->grid = dim3(slot.grid[0], slot.grid[1], slot.grid[2]);
  out->block = dim3(slot.block[0], slot.block[1], slot.block[2]);
  out->shmem = slot.shmem;
  out->stream = slot.stream;
  return true;
}

int config_depth() { return t_stack.depth; }

}  // namespace gvirtus::cudart
