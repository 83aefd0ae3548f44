// Host sides of graph memcpy nodes; see graph_host.h. Wire: src/backend/cudart/graph_staging.cc.
#include "frontend/cudart/graph_host.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "frontend/core/answers.h"
#include "frontend/core/deliveries.h"
#include "frontend/cudart/local.h"
#include "frontend/cudart/managed.h"

namespace gvirtus::cudart::graph_host {

namespace {

// One host end used by a graph or an executable graph, with the node it belongs to there (0 if
// not known: captured copies, clones).
struct Entry {
  uint64_t node = 0;
  EndPtr end;
};
using Entries = std::vector<Entry>;

struct Tables {
  std::mutex mu;
  std::unordered_map<uint64_t, Entries> graphs;                // by graph id
  std::unordered_map<uint64_t, Entries> execs;                 // by executable graph id
  std::unordered_map<unsigned long long, Entries> captures;    // by capture id, until it ends
  std::vector<EndPtr> pending;                                 // device-to-host, launched
};
Tables& tables() {
  static auto* t = new Tables;  // never destroyed: buffers may be dropped from static destructors
  return *t;
}
// Set once anything has a host end: until then every hook returns at once.
std::atomic<bool> g_any{false};

// The capture id cudaStreamEndCapture is ending on this thread (ending_capture -> capture_ended).
thread_local bool t_ending = false;
thread_local unsigned long long t_ending_id = 0;

constexpr uint64_t kChunk = wire::kCopyChunk;

// Sends the host bytes of a host-to-device end into its buffer.
cudaError_t fill(const HostEnd& e) {
  // An asynchronous copy still to land in these bytes lands first (deliveries.h).
  const uint64_t extent = (e.depth - 1) * e.pitch * e.ysize + (e.height - 1) * e.pitch + e.width;
  if (!client::deliveries::wait_range_to_read(e.host, static_cast<size_t>(extent)))
    return lost();
  std::vector<uint8_t> buf(static_cast<size_t>(e.bytes()));
  e.pack(buf.data());
  for (uint64_t off = 0; off < buf.size(); off += kChunk) {
    const uint64_t k = std::min<uint64_t>(kChunk, buf.size() - off);
    client::Call c(id(Call::kCall_gvStagingWrite));
    c.args().put<uint64_t>(e.staging);
    c.args().put<uint64_t>(off);
    c.attach(buf.data() + off, static_cast<size_t>(k));
    if (!c.invoke()) return lost();
    cudaError_t err = finish(c);
    if (err != cudaSuccess) return err;
  }
  return cudaSuccess;
}

// gvStagingRead modes (graph_staging.cc).
enum class Read : uint8_t { kIfDone = 0, kWait = 1, kNow = 2 };

// Reads a device-to-host end's buffer into the application's memory. kIfDone:
// cudaErrorNotReady (recorded nowhere) while its launch still runs.
cudaError_t fetch(const HostEnd& e, Read mode) {
  std::vector<uint8_t> buf(static_cast<size_t>(e.bytes()));
  for (uint64_t off = 0; off < buf.size(); off += kChunk) {
    const uint64_t k = std::min<uint64_t>(kChunk, buf.size() - off);
    client::Call c(id(Call::kCall_gvStagingRead));
    c.args().put<uint64_t>(e.staging);
    c.args().put<uint64_t>(off);
    c.args().put<uint64_t>(k);
    // Past the first piece the launch is known to be done.
    const Read m = mode == Read::kIfDone && off > 0 ? Read::kWait : mode;
    c.args().put<uint8_t>(static_cast<uint8_t>(m));
    if (!c.invoke()) return lost();
    const auto st = static_cast<cudaError_t>(c.status());
    if (st == cudaErrorNotReady && mode == Read::kIfDone && off == 0) return st;
    cudaError_t err = finish(c);
    if (err != cudaSuccess) return err;
    wire::Reader& r = c.result();
    if (r.remaining() != k) throw wire::DecodeError("gvStagingRead reply length");
    std::memcpy(buf.data() + off, r.get_bytes(static_cast<size_t>(k)), static_cast<size_t>(k));
  }
  e.unpack(buf.data());
  return cudaSuccess;
}

Entries entries_of(const std::unordered_map<uint64_t, Entries>& m, uint64_t key) {
  auto it = m.find(key);
  return it == m.end() ? Entries{} : it->second;
}

// Removes m[key] under the lock and lets the ends go after it (their buffers are freed by a call
// to the worker, never made holding the lock).
template <class Map, class Key>
void drop(Map& m, Key key) {
  Entries gone;
  {
    std::lock_guard<std::mutex> g(tables().mu);
    auto it = m.find(key);
    if (it == m.end()) return;
    gone = std::move(it->second);
    m.erase(it);
  }
}

}  // namespace

void HostEnd::pack(uint8_t* out) const {
  for (uint64_t z = 0; z < depth; ++z)
    for (uint64_t y = 0; y < height; ++y)
      std::memcpy(out + (z * height + y) * width, host + z * pitch * ysize + y * pitch,
                  static_cast<size_t>(width));
}

void HostEnd::unpack(const uint8_t* in) const {
  for (uint64_t z = 0; z < depth; ++z)
    for (uint64_t y = 0; y < height; ++y)
      std::memcpy(host + z * pitch * ysize + y * pitch, in + (z * height + y) * width,
                  static_cast<size_t>(width));
}

HostEnd::~HostEnd() {
  if (staging == 0 || client::session_lost()) return;
  try {
    client::Call c(id(Call::kCall_gvStagingFree));
    c.args().put<uint64_t>(staging);
    c.invoke();
  } catch (...) {
  }
}

cudaError_t add_memcpy_node(cudaGraphNode_t* out, cudaGraph_t graph, const cudaGraphNode_t* deps,
                            size_t n, const DeviceEnd& dev, EndPtr host) {
  constexpr size_t kMaxNodeList = 1u << 20;
  if (!out || n > kMaxNodeList || (n && !deps) || !host->host)
    return argument_error(cudaErrorInvalidValue);
  if (host->width == 0 || host->height == 0 || host->depth == 0)
    return argument_error(cudaErrorInvalidValue);
  if ((host->height > 1 || host->depth > 1) && host->pitch < host->width)
    return argument_error(cudaErrorInvalidPitchValue);
  client::Call a(id(Call::kCall_gvStagingAlloc));
  a.args().put<uint64_t>(host->bytes());
  if (!a.invoke()) return lost();
  cudaError_t e = finish(a);
  if (e != cudaSuccess) return e;
  host->staging = a.result().get<uint64_t>();
  a.result().expect_end();
  // From here the end owns the buffer: any failure frees it with the end.
  client::Call c(id(Call::kCall_gvGraphAddStagedMemcpyNode));
  wire::Writer& w = c.args();
  w.put<uint64_t>(to_wire(graph));
  w.put<uint32_t>(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) w.put<uint64_t>(to_wire(deps[i]));
  w.put<uint8_t>(host->to_device ? 0 : 1);
  w.put<uint64_t>(host->staging);
  w.put<uint64_t>(0);
  w.put<uint64_t>(dev.ptr);
  w.put<uint64_t>(dev.pitch);
  w.put<uint64_t>(dev.ysize);
  w.put<cudaPos>(dev.pos);
  w.put<uint64_t>(host->width);
  w.put<uint64_t>(host->height);
  w.put<uint64_t>(host->depth);
  if (!c.invoke()) return lost();
  e = finish(c);
  if (e != cudaSuccess) return e;
  const uint64_t node = c.result().get<uint64_t>();
  c.result().expect_end();
  g_any.store(true, std::memory_order_release);
  managed::ensure_hooks();
  {
    std::lock_guard<std::mutex> g(tables().mu);
    tables().graphs[to_wire(graph)].push_back(Entry{node, std::move(host)});
  }
  *out = from_wire<cudaGraphNode_t>(node);
  return cudaSuccess;
}

std::optional<cudaError_t> capture_copy(uint64_t stream, bool to_device, uint64_t dev,
                                        uint64_t dpitch, const uint8_t* host, uint64_t hpitch,
                                        uint64_t width, uint64_t height) {
  client::Call c(id(Call::kCall_gvCaptureStagedCopy));
  wire::Writer& w = c.args();
  w.put<uint64_t>(stream);
  w.put<uint8_t>(to_device ? 0 : 1);
  w.put<uint64_t>(dev);
  w.put<uint64_t>(height > 1 ? dpitch : width);
  w.put<uint64_t>(width);
  w.put<uint64_t>(height);
  if (!c.invoke()) return lost();
  cudaError_t e = finish(c);
  if (e != cudaSuccess) return e;
  wire::Reader& r = c.result();
  if (r.get<uint8_t>() == 0) {
    r.expect_end();
    return std::nullopt;
  }
  auto end = std::make_shared<HostEnd>();
  end->staging = r.get<uint64_t>();
  const unsigned long long capture = r.get<uint64_t>();
  r.expect_end();
  end->to_device = to_device;
  end->host = const_cast<uint8_t*>(host);
  end->width = width;
  end->height = height;
  end->pitch = height > 1 ? hpitch : width;
  end->ysize = height;
  g_any.store(true, std::memory_order_release);
  managed::ensure_hooks();
  std::lock_guard<std::mutex> g(tables().mu);
  tables().captures[capture].push_back(Entry{0, std::move(end)});
  return cudaSuccess;
}

void graph_destroyed(cudaGraph_t g) {
  if (g_any.load(std::memory_order_acquire)) drop(tables().graphs, to_wire(g));
}

void graph_cloned(cudaGraph_t clone, cudaGraph_t original) {
  if (!g_any.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> g(tables().mu);
  Entries e = entries_of(tables().graphs, to_wire(original));
  if (e.empty()) return;
  for (Entry& x : e) x.node = 0;  // the clone's nodes are other nodes
  tables().graphs[to_wire(clone)] = std::move(e);
}

void child_added(cudaGraph_t parent, cudaGraphNode_t node, cudaGraph_t child) {
  if (!g_any.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> g(tables().mu);
  Entries e = entries_of(tables().graphs, to_wire(child));
  if (e.empty()) return;
  Entries& p = tables().graphs[to_wire(parent)];
  for (Entry& x : e) p.push_back(Entry{to_wire(node), std::move(x.end)});
}

void node_destroyed(cudaGraphNode_t node) {
  if (!g_any.load(std::memory_order_acquire) || !node) return;
  const uint64_t n = to_wire(node);
  Entries gone;
  std::lock_guard<std::mutex> g(tables().mu);
  for (auto& [graph, entries] : tables().graphs) {
    auto it = std::stable_partition(entries.begin(), entries.end(),
                                    [n](const Entry& x) { return x.node != n; });
    for (auto j = it; j != entries.end(); ++j) gone.push_back(std::move(*j));
    entries.erase(it, entries.end());
  }
  // `gone` holds the only references to buffers that no graph uses now; executable graphs keep
  // theirs. Dropped after the lock (declared before the guard: destroyed after it).
}

void instantiated(cudaGraphExec_t exec, cudaGraph_t graph) {
  if (!g_any.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> g(tables().mu);
  Entries e = entries_of(tables().graphs, to_wire(graph));
  if (!e.empty()) tables().execs[to_wire(exec)] = std::move(e);
}

void exec_destroyed(cudaGraphExec_t exec) {
  if (g_any.load(std::memory_order_acquire)) drop(tables().execs, to_wire(exec));
}

void exec_updated(cudaGraphExec_t exec, cudaGraph_t graph) {
  if (!g_any.load(std::memory_order_acquire)) return;
  Entries old;
  std::lock_guard<std::mutex> g(tables().mu);
  // The executable graph's nodes now copy from and to the buffers of `graph`'s nodes.
  Entries e = entries_of(tables().graphs, to_wire(graph));
  auto it = tables().execs.find(to_wire(exec));
  if (it != tables().execs.end()) old = std::move(it->second);
  if (e.empty()) {
    if (it != tables().execs.end()) tables().execs.erase(it);
  } else {
    tables().execs[to_wire(exec)] = std::move(e);
  }
}

std::optional<cudaError_t> ending_capture(cudaStream_t stream) {
  t_ending = false;
  if (!g_any.load(std::memory_order_acquire)) return std::nullopt;
  {
    std::lock_guard<std::mutex> g(tables().mu);
    if (tables().captures.empty()) return std::nullopt;
  }
  // The capture's id (cudaStreamGetCaptureInfo: u64 stream, u8 wanted = status | id; reply i32
  // status, u64 id). The status must be asked for too: it is a required output of the runtime's
  // call, which fails without it (and the captured host copies would then never join the graph).
  client::Call c(id(Call::kCall_cudaStreamGetCaptureInfo));
  c.args().put<uint64_t>(to_wire(stream));
  c.args().put<uint8_t>(1 | 2);
  if (!c.invoke()) return lost();
  if (c.status() != cudaSuccess) return std::nullopt;  // the end call reports it
  (void)c.result().get<int32_t>();
  t_ending_id = c.result().get<uint64_t>();
  c.result().expect_end();
  t_ending = true;
  return std::nullopt;
}

void capture_ended(cudaStream_t, cudaGraph_t* graph) {
  client::note_capture_ended();
  if (!t_ending) return;
  t_ending = false;
  Entries e;
  std::lock_guard<std::mutex> g(tables().mu);
  auto it = tables().captures.find(t_ending_id);
  if (it == tables().captures.end()) return;
  e = std::move(it->second);
  tables().captures.erase(it);
  if (!graph || !*graph) return;  // nothing to keep them for: freed after the lock
  Entries& dst = tables().graphs[to_wire(*graph)];
  for (Entry& x : e) dst.push_back(std::move(x));
  e.clear();
}

void capture_end_failed(cudaGraph_t* graph, int32_t status) {
  const bool ended = status == cudaErrorStreamCaptureInvalidated ||
                     status == cudaErrorStreamCaptureUnjoined;
  if (ended) {
    if (graph) *graph = nullptr;  // the stub writes outputs only on success
    client::note_capture_ended();
  }
  if (!t_ending) return;
  t_ending = false;
  if (!ended) return;  // the capture goes on: its copies stay for the end that succeeds
  Entries e;           // freed after the lock (destroyed after the guard)
  std::lock_guard<std::mutex> g(tables().mu);
  auto it = tables().captures.find(t_ending_id);
  if (it == tables().captures.end()) return;
  e = std::move(it->second);
  tables().captures.erase(it);
}

std::optional<cudaError_t> child_params_changing(cudaGraphExec_t exec, cudaGraph_t child) {
  if (!g_any.load(std::memory_order_acquire)) return std::nullopt;
  {
    std::lock_guard<std::mutex> g(tables().mu);
    if (!tables().execs.count(to_wire(exec)) && !tables().graphs.count(to_wire(child)))
      return std::nullopt;
  }
  log::once(log::Level::kWarn, "graph-host-child-params",
            "cudaGraphExecChildGraphNodeSetParams: graphs whose memcpy nodes use host memory are "
            "not supported here by GVirtuS; instantiate the updated graph instead");
  return fail(cudaErrorNotSupported);
}

std::optional<cudaError_t> launch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!g_any.load(std::memory_order_acquire)) return std::nullopt;
  std::vector<EndPtr> ends, earlier;
  {
    std::lock_guard<std::mutex> g(tables().mu);
    auto it = tables().execs.find(to_wire(exec));
    if (it == tables().execs.end() || it->second.empty()) return std::nullopt;
    std::unordered_set<const HostEnd*> seen;
    for (const Entry& x : it->second)
      if (seen.insert(x.end.get()).second) ends.push_back(x.end);
    // A result still to deliver from an earlier launch of these buffers comes first: this
    // launch will overwrite it.
    auto& p = tables().pending;
    auto mid = std::stable_partition(p.begin(), p.end(),
                                     [&](const EndPtr& e) { return !seen.count(e.get()); });
    earlier.assign(mid, p.end());
    p.erase(mid, p.end());
  }
  managed::before_device_work();
  for (const EndPtr& e : earlier) {
    cudaError_t err = fetch(*e, Read::kWait);
    if (err != cudaSuccess) return err;
  }
  for (const EndPtr& e : ends) {
    if (!e->to_device) continue;
    cudaError_t err = fill(*e);
    if (err != cudaSuccess) return err;
  }
  // Pending before the launch is sent: a host node of this launch may run before the reply.
  std::vector<EndPtr> results;
  for (const EndPtr& e : ends)
    if (!e->to_device) results.push_back(e);
  {
    std::lock_guard<std::mutex> g(tables().mu);
    tables().pending.insert(tables().pending.end(), results.begin(), results.end());
    // Until the reply, the buffer's event may still be that of the last launch: no delivery.
    for (const EndPtr& e : results) ++e->launching;
  }
  client::Call c(id(Call::kCall_gvGraphLaunchStaged));
  c.args().put<uint64_t>(to_wire(exec));
  c.args().put<uint64_t>(to_wire(stream));
  c.args().put<uint32_t>(static_cast<uint32_t>(ends.size()));
  for (const EndPtr& e : ends) c.args().put<uint64_t>(e->staging);
  cudaError_t err = c.invoke() ? finish(c) : lost();
  std::lock_guard<std::mutex> g(tables().mu);
  for (const EndPtr& e : results) --e->launching;
  if (err != cudaSuccess) {
    auto& p = tables().pending;
    for (const EndPtr& e : results) {
      auto it = std::find(p.begin(), p.end(), e);
      if (it != p.end()) p.erase(it);
    }
  }
  return err;
}

void deliver_finished() {
  if (!g_any.load(std::memory_order_acquire)) return;
  std::vector<EndPtr> todo, keep;
  {
    std::lock_guard<std::mutex> g(tables().mu);
    for (EndPtr& e : tables().pending) (e->launching ? keep : todo).push_back(std::move(e));
    tables().pending.clear();
  }
  for (const EndPtr& e : todo) {
    cudaError_t err = cudaErrorNotReady;
    try {
      err = fetch(*e, Read::kIfDone);
    } catch (const wire::DecodeError& x) {
      client::mark_session_lost(std::string("gvStagingRead: ") + x.what());
      return;
    }
    if (err == cudaErrorNotReady) keep.push_back(e);
    // Another failure (a kernel fault) is the program's to see through its own calls.
  }
  if (keep.empty()) return;
  std::lock_guard<std::mutex> g(tables().mu);
  tables().pending.insert(tables().pending.begin(), keep.begin(), keep.end());
}

void before_callback() {
  if (!g_any.load(std::memory_order_acquire)) return;
  std::vector<EndPtr> now;
  {
    std::lock_guard<std::mutex> g(tables().mu);
    now = tables().pending;
  }
  // Still pending: the synchronisation delivers each again, as its launch left it.
  for (const EndPtr& e : now) {
    try {
      (void)fetch(*e, Read::kNow);
    } catch (const wire::DecodeError& x) {
      client::mark_session_lost(std::string("gvStagingRead: ") + x.what());
      return;
    }
  }
}

size_t ends_of_graph(cudaGraph_t g) {
  std::lock_guard<std::mutex> l(tables().mu);
  auto it = tables().graphs.find(to_wire(g));
  return it == tables().graphs.end() ? 0 : it->second.size();
}

size_t ends_of_exec(cudaGraphExec_t x) {
  std::lock_guard<std::mutex> l(tables().mu);
  auto it = tables().execs.find(to_wire(x));
  return it == tables().execs.end() ? 0 : it->second.size();
}

size_t pending() {
  std::lock_guard<std::mutex> l(tables().mu);
  return tables().pending.size();
}

}  // namespace gvirtus::cudart::graph_host
