// cuLaunchKernel, cuLaunchCooperativeKernel, cuLaunchKernelEx (and their _ptsz forms). The
// parameter layout of a function (offsets and sizes the driver reports) is fetched from the
// worker once per function (gvDrvParamLayout) and kept here: function ids are never reused.
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/launch_attrs.h"
#include "frontend/core/lanes.h"
#include "frontend/cuda/handle_check.h"
#include "frontend/cuda/kernel_args.h"
#include "frontend/cuda/launch_pack.h"
#include "frontend/cuda/local.h"

namespace gvirtus::cuda {
namespace {

// The largest argument buffer a launch can carry (the driver's own limit is 32764 bytes).
constexpr size_t kMaxArgBytes = 32764;

struct Layouts {
  std::mutex mu;
  std::unordered_map<uint64_t, std::shared_ptr<const ParamLayout>> by_function;
};
Layouts& layouts() {
  static auto* l = new Layouts;
  return *l;
}

CUresult layout_of(uint64_t fid, std::shared_ptr<const ParamLayout>* out) {
  {
    std::lock_guard<std::mutex> g(layouts().mu);
    auto it = layouts().by_function.find(fid);
    if (it != layouts().by_function.end()) {
      *out = it->second;
      return CUDA_SUCCESS;
    }
  }
  client::Call c(id(kCall_gvDrvParamLayout));
  c.args().put<uint64_t>(fid);
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  auto l = std::make_shared<ParamLayout>();
  wire::Reader& r = c.result();
  const uint32_t n = r.get<uint32_t>();
  if (n > kMaxArgBytes) throw wire::DecodeError("parameter count out of range");
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t off = r.get<uint32_t>(), size = r.get<uint32_t>();
    if (size == 0 || size > kMaxArgBytes || off > kMaxArgBytes - size)
      throw wire::DecodeError("parameter layout out of range");
    l->offsets.push_back(off);
    l->sizes.push_back(size);
    if (off + size > l->total) l->total = off + size;
  }
  r.expect_end();
  std::lock_guard<std::mutex> g(layouts().mu);
  layouts().by_function.emplace(fid, l);
  *out = l;
  return CUDA_SUCCESS;
}

}  // namespace

CUresult put_kernel_args(wire::Writer& a, CUfunction f, void** kernelParams, void** extra) {
  std::shared_ptr<const ParamLayout> l;
  if (!extra) {
    CUresult e = layout_of(to_wire(f), &l);
    if (e != CUDA_SUCCESS) return e;
  }
  static const ParamLayout kNone;
  ArgForm form;
  std::vector<uint8_t> buf;
  CUresult e = pack_launch(l ? *l : kNone, kernelParams, extra, kMaxArgBytes, &form, &buf);
  if (e != CUDA_SUCCESS) return e;
  a.put<uint8_t>(static_cast<uint8_t>(form));
  a.put<uint32_t>(static_cast<uint32_t>(buf.size()));
  if (!buf.empty()) a.put_bytes(buf.data(), buf.size());
  return CUDA_SUCCESS;
}

namespace {

// The protocol minor from which the driver's launches carry event attributes.
constexpr uint16_t kEventAttributesMinor = 7;

struct Geometry {
  uint32_t grid[3];
  uint32_t block[3];
  uint32_t shmem;
  CUstream stream;
};

CUresult launch(uint32_t call, CUfunction f, const Geometry& g, const CUlaunchAttribute* attrs,
                unsigned nattrs, void** kernelParams, void** extra) {
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  if (auto r = local_function_handle(f)) return *r;
  if (nattrs > 0 && !attrs) return CUDA_ERROR_INVALID_VALUE;
  if (nattrs > kMaxLaunchAttributes) return CUDA_ERROR_INVALID_VALUE;
  // Event attributes travel as bytes with the client's event handle in the value's first field
  // (an id the worker swaps for its event), to a worker of protocol 3.7 or later (an older one
  // would end the session); graph nodes are refused.
  for (unsigned i = 0; i < nattrs; ++i) {
    const auto aid = static_cast<cudaLaunchAttributeID>(attrs[i].id);
    if (plain_launch_attribute(aid)) continue;
    if (event_launch_attribute(aid) && client::server_minor() >= kEventAttributesMinor) continue;
    return refuse("cuLaunchKernelEx", "launch attribute " + std::to_string(attrs[i].id) +
                                          (event_launch_attribute(aid)
                                               ? " (an event) with a backend older than 3.7"
                                               : " (it holds a graph node)"));
  }
  const uint64_t fid = to_wire(f);
  std::shared_ptr<const ParamLayout> l;
  if (!extra) {
    CUresult e = layout_of(fid, &l);
    if (e != CUDA_SUCCESS) return e;
  }
  static const ParamLayout kNone;
  ArgForm form;
  std::vector<uint8_t> buf;
  CUresult e = pack_launch(l ? *l : kNone, kernelParams, extra, kMaxArgBytes, &form, &buf);
  if (e != CUDA_SUCCESS) return e;
  client::Call c(call);
  wire::Writer& a = c.args();
  a.put<uint64_t>(fid);
  for (uint32_t v : g.grid) a.put<uint32_t>(v);
  for (uint32_t v : g.block) a.put<uint32_t>(v);
  a.put<uint32_t>(g.shmem);
  a.put<uint64_t>(to_wire(g.stream));
  if (call == id(kCall_cuLaunchKernelEx)) {
    a.put<uint32_t>(nattrs);
    if (nattrs) a.put_bytes(attrs, nattrs * sizeof(CUlaunchAttribute));
  }
  a.put<uint8_t>(static_cast<uint8_t>(form));
  a.put<uint32_t>(static_cast<uint32_t>(buf.size()));
  if (!buf.empty()) a.put_bytes(buf.data(), buf.size());
  // A launch whose attributes record an event is ordered with that event's other uses: it stays
  // global, as the runtime's (docs/protocol.md, "Lanes"); the others may take a lane.
  bool records_event = false;
  for (unsigned i = 0; i < nattrs; ++i)
    records_event |= event_launch_attribute(static_cast<cudaLaunchAttributeID>(attrs[i].id));
  if ((call == id(kCall_cuLaunchKernel) || call == id(kCall_cuLaunchKernelEx)) && !records_event)
    c.set_lane(client::launch_lane(to_wire(g.stream)));
  if (!c.invoke()) return lost();
  return finish(c);
}

// The stream a _ptsz entry point means: the per-thread default stream for 0.
CUstream per_thread(CUstream s) { return s ? s : CU_STREAM_PER_THREAD; }

CUresult plain(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
               unsigned bz, unsigned shmem, CUstream s, void** params, void** extra) {
  Geometry g{{gx, gy, gz}, {bx, by, bz}, shmem, s};
  return launch(id(kCall_cuLaunchKernel), f, g, nullptr, 0, params, extra);
}

CUresult cooperative(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                     unsigned by, unsigned bz, unsigned shmem, CUstream s, void** params) {
  Geometry g{{gx, gy, gz}, {bx, by, bz}, shmem, s};
  return launch(id(kCall_cuLaunchCooperativeKernel), f, g, nullptr, 0, params, nullptr);
}

CUresult extended(const CUlaunchConfig* cfg, CUfunction f, void** params, void** extra,
                  bool ptsz) {
  if (!cfg) return CUDA_ERROR_INVALID_VALUE;
  Geometry g{{cfg->gridDimX, cfg->gridDimY, cfg->gridDimZ},
             {cfg->blockDimX, cfg->blockDimY, cfg->blockDimZ},
             cfg->sharedMemBytes,
             ptsz ? per_thread(cfg->hStream) : cfg->hStream};
  return launch(id(kCall_cuLaunchKernelEx), f, g, cfg->attrs, cfg->numAttrs, params, extra);
}

}  // namespace
}  // namespace gvirtus::cuda

using namespace gvirtus::cuda;

extern "C" CUresult cuLaunchKernel_ptsz(CUfunction, unsigned, unsigned, unsigned, unsigned,
                                        unsigned, unsigned, unsigned, CUstream, void**, void**);
extern "C" CUresult cuLaunchCooperativeKernel_ptsz(CUfunction, unsigned, unsigned, unsigned,
                                                   unsigned, unsigned, unsigned, unsigned,
                                                   CUstream, void**);
extern "C" CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig*, CUfunction, void**, void**);

GV_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                                  unsigned bx, unsigned by, unsigned bz, unsigned shmem,
                                  CUstream s, void** params, void** extra) {
  return guarded("cuLaunchKernel",
                 [&] { return plain(f, gx, gy, gz, bx, by, bz, shmem, s, params, extra); });
}
GV_EXPORT CUresult cuLaunchKernel_ptsz(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                                       unsigned bx, unsigned by, unsigned bz, unsigned shmem,
                                       CUstream s, void** params, void** extra) {
  return guarded("cuLaunchKernel_ptsz", [&] {
    return plain(f, gx, gy, gz, bx, by, bz, shmem, per_thread(s), params, extra);
  });
}
GV_EXPORT CUresult cuLaunchCooperativeKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                                             unsigned bx, unsigned by, unsigned bz,
                                             unsigned shmem, CUstream s, void** params) {
  return guarded("cuLaunchCooperativeKernel",
                 [&] { return cooperative(f, gx, gy, gz, bx, by, bz, shmem, s, params); });
}
GV_EXPORT CUresult cuLaunchCooperativeKernel_ptsz(CUfunction f, unsigned gx, unsigned gy,
                                                  unsigned gz, unsigned bx, unsigned by,
                                                  unsigned bz, unsigned shmem, CUstream s,
                                                  void** params) {
  return guarded("cuLaunchCooperativeKernel_ptsz", [&] {
    return cooperative(f, gx, gy, gz, bx, by, bz, shmem, per_thread(s), params);
  });
}
GV_EXPORT CUresult cuLaunchKernelEx(const CUlaunchConfig* cfg, CUfunction f, void** params,
                                    void** extra) {
  return guarded("cuLaunchKernelEx", [&] { return extended(cfg, f, params, extra, false); });
}
GV_EXPORT CUresult cuLaunchKernelEx_ptsz(const CUlaunchConfig* cfg, CUfunction f, void** params,
                                         void** extra) {
  return guarded("cuLaunchKernelEx_ptsz", [&] { return extended(cfg, f, params, extra, true); });
}

// cuOccupancyMaxPotentialBlockSize(WithFlags): without a callback the driver's answer is
// fetched. A block-size-to-dynamic-shared-memory callback is client code the GPU host cannot
// call: the search runs here, the callback asked for each block size and the worker for that
// size's occupancy (cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags), as the driver
// searches: from the largest block size (the function's and the device's limit, and the
// caller's) down in steps of the warp size, keeping the size with the most resident threads
// per multiprocessor (the larger on ties), stopping once that reaches the multiprocessor's
// thread limit; the minimum grid is that size's blocks per multiprocessor times the SM count.
namespace gvirtus::cuda {
namespace {

CUresult search_block_size(int* minGrid, int* block, CUfunction f, CUoccupancyB2DSize cb,
                           int limit, unsigned flags) {
  CUdevice dev = 0;
  CUresult e = cuCtxGetDevice(&dev);
  int dev_max = 0, warp = 0, sms = 0, sm_threads = 0, fn_max = 0;
  if (e == CUDA_SUCCESS)
    e = cuDeviceGetAttribute(&dev_max, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, dev);
  if (e == CUDA_SUCCESS) e = cuDeviceGetAttribute(&warp, CU_DEVICE_ATTRIBUTE_WARP_SIZE, dev);
  if (e == CUDA_SUCCESS)
    e = cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
  if (e == CUDA_SUCCESS)
    e = cuDeviceGetAttribute(&sm_threads, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR,
                             dev);
  if (e == CUDA_SUCCESS)
    e = cuFuncGetAttribute(&fn_max, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f);
  if (e != CUDA_SUCCESS) return e;
  if (warp <= 0) return CUDA_ERROR_UNKNOWN;
  int lim = std::min(dev_max, fn_max);
  if (limit > 0) lim = std::min(lim, limit);
  int best_block = 0, best_blocks = 0, best_threads = 0;
  const int aligned = (lim + warp - 1) / warp * warp;
  for (int b = aligned; b > 0; b -= warp) {
    const int size = std::min(b, lim);
    int blocks = 0;
    e = cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&blocks, f, size, cb(size), flags);
    if (e != CUDA_SUCCESS) return e;
    if (blocks * size > best_threads) {
      best_block = size;
      best_blocks = blocks;
      best_threads = blocks * size;
    }
    if (best_threads == sm_threads) break;
  }
  *minGrid = best_blocks * sms;
  *block = best_block;
  return CUDA_SUCCESS;
}

CUresult potential_block_size(uint32_t call, int* minGrid, int* block, CUfunction f,
                              CUoccupancyB2DSize cb, size_t smem, int limit, unsigned flags) {
  if (!minGrid || !block) return CUDA_ERROR_INVALID_VALUE;
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  if (auto r = local_function_handle(f)) return *r;
  if (cb) return search_block_size(minGrid, block, f, cb, limit, flags);
  client::Call c(call);
  c.args().put<uint64_t>(to_wire(f));
  c.args().put<uint64_t>(smem);
  c.args().put<int32_t>(limit);
  c.args().put<uint32_t>(flags);
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e == CUDA_SUCCESS) {
    *minGrid = c.result().get<int32_t>();
    *block = c.result().get<int32_t>();
    c.result().expect_end();
  }
  return e;
}

}  // namespace
}  // namespace gvirtus::cuda

GV_EXPORT CUresult cuOccupancyMaxPotentialBlockSize(int* minGrid, int* block, CUfunction f,
                                                    CUoccupancyB2DSize cb, size_t smem,
                                                    int limit) {
  return guarded("cuOccupancyMaxPotentialBlockSize", [&] {
    return potential_block_size(id(kCall_cuOccupancyMaxPotentialBlockSize), minGrid, block, f, cb,
                                smem, limit, 0);
  });
}

GV_EXPORT CUresult cuOccupancyMaxPotentialBlockSizeWithFlags(int* minGrid, int* block,
                                                             CUfunction f, CUoccupancyB2DSize cb,
                                                             size_t smem, int limit,
                                                             unsigned int flags) {
  return guarded("cuOccupancyMaxPotentialBlockSizeWithFlags", [&] {
    return potential_block_size(id(kCall_cuOccupancyMaxPotentialBlockSizeWithFlags), minGrid,
                                block, f, cb, smem, limit, flags);
  });
}

// cuFuncGetName / cuKernelGetName: the driver hands out a pointer into its own memory; here the
// name is fetched once per function and kept (ids are never reused, so a copy stays right).
namespace gvirtus::cuda {
namespace {

CUresult object_name(uint32_t call, uint64_t id_, const char** out) {
  static std::mutex mu;
  static auto* names = new std::unordered_map<uint64_t, std::unique_ptr<std::string>>;
  if (!out) return CUDA_ERROR_INVALID_VALUE;
  if (!id_) return CUDA_ERROR_INVALID_HANDLE;
  const uint64_t key = id_ ^ (static_cast<uint64_t>(call) << 32);
  {
    std::lock_guard<std::mutex> g(mu);
    auto it = names->find(key);
    if (it != names->end()) {
      *out = it->second->c_str();
      return CUDA_SUCCESS;
    }
  }
  client::Call c(call);
  c.args().put<uint64_t>(id_);
  if (!c.invoke()) return lost();
  CUresult e = finish(c);
  if (e != CUDA_SUCCESS) return e;
  auto name = std::make_unique<std::string>(c.result().get_string(65536));
  c.result().expect_end();
  std::lock_guard<std::mutex> g(mu);
  auto& slot = (*names)[key];
  if (!slot) slot = std::move(name);
  *out = slot->c_str();
  return CUDA_SUCCESS;
}

}  // namespace
}  // namespace gvirtus::cuda

GV_EXPORT CUresult cuFuncGetName(const char** name, CUfunction f) {
  return guarded("cuFuncGetName", [&] {
    if (auto r = local_function_handle(f)) return *r;
    return object_name(id(kCall_cuFuncGetName), to_wire(f), name);
  });
}

GV_EXPORT CUresult cuKernelGetName(const char** name, CUkernel k) {
  return guarded("cuKernelGetName", [&] {
    if (auto r = local_kernel_handle(k)) return *r;
    return object_name(id(kCall_cuKernelGetName), to_wire(k), name);
  });
}
