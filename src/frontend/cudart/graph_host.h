// Graphs whose memcpy nodes read or write host memory (the client's part; the worker's is
// src/backend/cudart/graph_staging.cc). The host is on another machine than the GPU, so such a
// node copies between device memory and a staging buffer of the worker, and this library moves
// the host side:
//   - at cudaGraphLaunch, the host bytes of every host-to-device node are sent into its buffer
//     (the contents at launch time), then the graph is launched (gvGraphLaunchStaged);
//   - the device-to-host nodes of a launch are pending deliveries, written into the
//     application's memory by the next synchronisation that covers the launch (stream, event or
//     device synchronisation, a synchronous copy, a query that reports completion); before the
//     same buffer is launched again, its pending delivery is made first.
// Which nodes have host sides is known here: explicit memcpy nodes with a host end
// (cudaGraphAddMemcpyNode / 1D), and host copies made on a capturing stream
// (cudaMemcpyAsync / cudaMemcpy2DAsync and the copies built on them). The host ends follow the
// graph into its clones, the graphs it is a child of, its executable graphs and
// cudaGraphExecUpdate; a buffer is freed when no graph or executable graph uses it.
// Host callbacks running meanwhile (a host node behind a device-to-host node) get the buffers as
// they are then (before_callback). Limits (docs/callbacks.md): host ends that are arrays,
// cudaGraphMemcpyNodeSetParams and the exec forms stay refused.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace gvirtus::cudart::graph_host {

// The host side of one node: `depth` slices of `height` rows of `width` bytes at `host`, rows
// `pitch` bytes apart and slices `pitch * ysize`. The worker's buffer holds them packed.
struct HostEnd {
  uint64_t staging = 0;  // the worker's buffer id
  bool to_device = true;
  uint8_t* host = nullptr;
  uint64_t width = 0, height = 1, depth = 1, pitch = 0, ysize = 1;
  int launching = 0;  // launches sent and not answered yet (REQUIRES: the tables' lock)
  uint64_t bytes() const { return width * height * depth; }
  // Packs the host bytes into `out` (bytes() long) / unpacks `in` into the host memory.
  void pack(uint8_t* out) const;
  void unpack(const uint8_t* in) const;
  ~HostEnd();  // frees the worker's buffer (gvStagingFree), if the session still lives
};
using EndPtr = std::shared_ptr<HostEnd>;

// The device side of a staged memcpy node (pointer, pitch, rows per slice, position in bytes).
struct DeviceEnd {
  uint64_t ptr = 0, pitch = 0, ysize = 1;
  cudaPos pos = {0, 0, 0};
};

// Adds a memcpy node between device memory and host memory to `graph` (a new staging buffer).
// Sets the last error on failure.
cudaError_t add_memcpy_node(cudaGraphNode_t* out, cudaGraph_t graph, const cudaGraphNode_t* deps,
                            size_t n, const DeviceEnd& dev, EndPtr host);

// A host copy (2D: height rows of width bytes) between `dev` (rows dpitch apart) and host memory
// on `stream` while some capture may be active. No value: the stream is not capturing, copy as
// usual. Otherwise the copy was captured against a staging buffer (or failed: the error).
std::optional<cudaError_t> capture_copy(uint64_t stream, bool to_device, uint64_t dev,
                                        uint64_t dpitch, const uint8_t* host, uint64_t hpitch,
                                        uint64_t width, uint64_t height);

// Bookkeeping from the graph calls (generated stubs' local= / after=, graphs.cc).
void graph_destroyed(cudaGraph_t g);
void graph_cloned(cudaGraph_t clone, cudaGraph_t original);
void child_added(cudaGraph_t parent, cudaGraphNode_t node, cudaGraph_t child);
void node_destroyed(cudaGraphNode_t node);
void instantiated(cudaGraphExec_t exec, cudaGraph_t graph);
void exec_destroyed(cudaGraphExec_t exec);
void exec_updated(cudaGraphExec_t exec, cudaGraph_t graph);
// cudaStreamEndCapture: before (the capture's id, if host copies were captured), after success.
std::optional<cudaError_t> ending_capture(cudaStream_t stream);
void capture_ended(cudaStream_t stream, cudaGraph_t* graph);
// A cudaStreamEndCapture / cuStreamEndCapture that failed with `status` (its runtime or driver
// code: the numbers are the same). An invalidated or unjoined capture ended with the call, as
// natively: *graph (if given) is NULL, as the call returns natively, the client's count of
// active captures goes down (client::note_capture_ended) and the buffers of its captured host
// copies are freed. Any other failure leaves the capture on and *graph as it was.
void capture_end_failed(cudaGraph_t* graph, int32_t status);
// cudaGraphExecChildGraphNodeSetParams: refused when host ends take part (not tracked).
std::optional<cudaError_t> child_params_changing(cudaGraphExec_t exec, cudaGraph_t child);
// cudaGraphLaunch: the staged launch for an executable graph with host ends; no value for one
// without (launched as usual).
std::optional<cudaError_t> launch(cudaGraphExec_t exec, cudaStream_t stream);

// Delivers the pending device-to-host results whose launch has finished (the worker says so
// without waiting). Called after every synchronising call.
void deliver_finished();

// Before a host callback runs (callback_thread.cc): the buffers of pending device-to-host
// results are read as they are now, so a host node behind a device-to-host node of the same
// launch sees its result (the launch is not finished, so the buffer's own event cannot say).
// They stay pending: the synchronisation delivers them again once the launch is done.
void before_callback();

// For the tests: host ends of a graph / an executable graph, and pending deliveries.
size_t ends_of_graph(cudaGraph_t g);
size_t ends_of_exec(cudaGraphExec_t x);
size_t pending();

}  // namespace gvirtus::cudart::graph_host
