// Explicit graphs without explicit kernel nodes (kernels come in through a child graph made by
// stream capture): memset, 1D and 3D device-to-device copies, host, empty, child graph, event
// record and wait nodes; dependencies; node, edge and per-node edge queries; instantiate, launch, upload,
// clone, exec update, instantiate with parameters, DOT output; memcpy nodes on host memory
// refused through GVirtuS. (tests/cuda/graphs.cu adds kernel nodes explicitly.)
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "check.h"

__global__ void add(int* p, int n, int v) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += v;
}

static int g_host_runs = 0;
static void CUDART_CB host_count(void* p) { *static_cast<int*>(p) += 1; }

static int first(const int* d) {
  int v = 0;
  CHECK(cudaMemcpy(&v, d, sizeof v, cudaMemcpyDeviceToHost));
  return v;
}

static cudaMemsetParams memset_params(int* dst, int value, int n) {
  cudaMemsetParams ms = {};
  ms.dst = dst;
  ms.value = static_cast<unsigned>(value);
  ms.elementSize = 4;
  ms.width = n;
  ms.height = 1;
  return ms;
}

int main() {
  const int n = 1024;
  const size_t bytes = n * sizeof(int);
  int *a, *b, *c, *d;
  for (int** p : {&a, &b, &c, &d}) CHECK(cudaMalloc(p, bytes));
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaEvent_t ev;
  CHECK(cudaEventCreate(&ev));

  // The child graph, captured: b += 10.
  cudaGraph_t child;
  CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  add<<<n / 256, 256, 0, s>>>(b, n, 10);
  CHECK(cudaStreamEndCapture(s, &child));

  cudaGraph_t graph;
  CHECK(cudaGraphCreate(&graph, 0));
  cudaGraphNode_t A, C, K, E, F, G, H, M2;
  cudaMemsetParams ms = memset_params(a, 3, n);
  CHECK(cudaGraphAddMemsetNode(&A, graph, nullptr, 0, &ms));
  CHECK(cudaGraphAddMemcpyNode1D(&C, graph, &A, 1, b, a, bytes, cudaMemcpyDeviceToDevice));
  CHECK(cudaGraphAddChildGraphNode(&K, graph, &C, 1, child));
  cudaHostNodeParams hp = {host_count, &g_host_runs};
  CHECK(cudaGraphAddHostNode(&E, graph, &K, 1, &hp));
  CHECK(cudaGraphAddEmptyNode(&F, graph, &E, 1));
  CHECK(cudaGraphAddEventRecordNode(&G, graph, &F, 1, ev));
  cudaMemcpy3DParms p3 = {};
  p3.srcPtr = make_cudaPitchedPtr(a, bytes, n, 1);
  p3.dstPtr = make_cudaPitchedPtr(d, bytes, n, 1);
  p3.extent = make_cudaExtent(bytes, 1, 1);
  p3.kind = cudaMemcpyDefault;
  CHECK(cudaGraphAddMemcpyNode(&H, graph, &A, 1, &p3));
  cudaMemsetParams ms2 = memset_params(c, 7, n);
  CHECK(cudaGraphAddMemsetNode(&M2, graph, nullptr, 0, &ms2));

  const cudaGraphNode_t all[] = {A, C, K, E, F, G, H, M2};
  size_t count = 0;
  CHECK(cudaGraphGetNodes(graph, nullptr, &count));
  std::vector<cudaGraphNode_t> nodes(count + 1);
  size_t cap = nodes.size();
  CHECK(cudaGraphGetNodes(graph, nodes.data(), &cap));
  bool same = true;
  for (cudaGraphNode_t x : all)
    same &= std::find(nodes.begin(), nodes.begin() + cap, x) != nodes.begin() + cap;
  std::printf("nodes: %zu, listed %zu, the added handles among them: %s, extra NULL: %s\n", count,
              cap, same ? "yes" : "no", nodes[count] == nullptr ? "yes" : "no");
  std::printf("types:");
  for (cudaGraphNode_t x : all) {
    cudaGraphNodeType t;
    CHECK(cudaGraphNodeGetType(x, &t));
    std::printf(" %d", static_cast<int>(t));
  }
  std::printf("\n");
  size_t nroots = 0;
  CHECK(cudaGraphGetRootNodes(graph, nullptr, &nroots));
  std::vector<cudaGraphNode_t> roots(nroots);
  CHECK(cudaGraphGetRootNodes(graph, roots.data(), &nroots));
  bool roots_ok = nroots == 2 && std::count(roots.begin(), roots.end(), A) == 1 &&
                  std::count(roots.begin(), roots.end(), M2) == 1;
  std::printf("roots: %zu, the two memsets: %s\n", nroots, roots_ok ? "yes" : "no");
  size_t edges = 0;
  CHECK(cudaGraphGetEdges(graph, nullptr, nullptr, nullptr, &edges));
  std::printf("edges: %zu\n", edges);
  CHECK(cudaGraphAddDependencies(graph, &H, &K, nullptr, 1));
  CHECK(cudaGraphGetEdges(graph, nullptr, nullptr, nullptr, &edges));
  std::vector<cudaGraphNode_t> from(edges), to(edges);
  CHECK(cudaGraphGetEdges(graph, from.data(), to.data(), nullptr, &edges));
  bool found = false;
  for (size_t i = 0; i < edges; ++i) found |= from[i] == H && to[i] == K;
  std::printf("edges after adding one: %zu, listed: %s\n", edges, found ? "yes" : "no");
  CHECK(cudaGraphRemoveDependencies(graph, &H, &K, nullptr, 1));
  CHECK(cudaGraphGetEdges(graph, nullptr, nullptr, nullptr, &edges));
  std::printf("edges after removing it: %zu\n", edges);

  // One node's edges: A's dependents (the 1D copy and the 3D copy), K's dependency (C), with
  // edge data, into a list longer than needed (the rest NULL), and into one too short.
  size_t ndep = 0;
  CHECK(cudaGraphNodeGetDependentNodes(A, nullptr, nullptr, &ndep));
  std::vector<cudaGraphNode_t> dep(ndep + 1, A);
  size_t cap_dep = dep.size();
  CHECK(cudaGraphNodeGetDependentNodes(A, dep.data(), nullptr, &cap_dep));
  bool dep_ok = std::count(dep.begin(), dep.end(), C) == 1 &&
                std::count(dep.begin(), dep.end(), H) == 1 && dep[ndep] == nullptr;
  std::printf("A's dependents: %zu, listed %zu, the two copies and a NULL: %s\n", ndep, cap_dep,
              dep_ok ? "yes" : "no");
  size_t nk = 0;
  CHECK(cudaGraphNodeGetDependencies(K, nullptr, nullptr, &nk));
  cudaGraphNode_t kdep[2] = {A, A};
  cudaGraphEdgeData kdata[2];
  std::fill(kdata, kdata + 2, cudaGraphEdgeData{9, 9, 9, {}});
  size_t kcap = 2;
  CHECK(cudaGraphNodeGetDependencies(K, kdep, kdata, &kcap));
  std::printf("K's dependencies: %zu, listed %zu, C first: %s, NULL after: %s, edge data %d %d %d\n",
              nk, kcap, kdep[0] == C ? "yes" : "no", kdep[1] == nullptr ? "yes" : "no",
              kdata[0].from_port, kdata[0].to_port, kdata[0].type);
  size_t one = 1;
  cudaGraphNode_t first_dep = nullptr;
  cudaError_t short_list = cudaGraphNodeGetDependentNodes(A, &first_dep, nullptr, &one);
  std::printf("A's dependents into one slot: %s, count %zu, a copy: %s\n",
              cudaGetErrorName(short_list), one, first_dep == C || first_dep == H ? "yes" : "no");
  std::printf("no count: %s; edge data without a list: %s; NULL node: %s\n",
              cudaGetErrorName(cudaGraphNodeGetDependencies(K, nullptr, nullptr, nullptr)),
              cudaGetErrorName(cudaGraphNodeGetDependencies(K, nullptr, kdata, &nk)),
              cudaGetErrorName(cudaGraphNodeGetDependentNodes(nullptr, nullptr, nullptr, &nk)));
  cudaGetLastError();

  cudaGraphExec_t exec;
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CHECK(cudaGraphUpload(exec, s));
  for (int r = 0; r < 2; ++r) {
    CHECK(cudaGraphLaunch(exec, s));
    CHECK(cudaStreamSynchronize(s));
  }
  std::printf("after 2 launches: a %d b %d c %d d %d, host runs %d, event %s\n", first(a),
              first(b), first(c), first(d), g_host_runs, cudaGetErrorName(cudaEventQuery(ev)));

  cudaGraph_t clone;
  CHECK(cudaGraphClone(&clone, graph));
  size_t clone_count = 0;
  CHECK(cudaGraphGetNodes(clone, nullptr, &clone_count));
  cudaGraphExec_t clone_exec;
  CHECK(cudaGraphInstantiateWithFlags(&clone_exec, clone, 0));
  CHECK(cudaGraphLaunch(clone_exec, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("clone: %zu nodes, host runs %d\n", clone_count, g_host_runs);

  // Node lookups and per-node state.
  cudaGraphNode_t k_in_clone = nullptr;
  CHECK(cudaGraphNodeFindInClone(&k_in_clone, K, clone));
  cudaGraph_t inner = nullptr;
  CHECK(cudaGraphChildGraphNodeGetGraph(k_in_clone, &inner));
  size_t inner_count = 0;
  CHECK(cudaGraphGetNodes(inner, nullptr, &inner_count));
  cudaEvent_t got = nullptr;
  CHECK(cudaGraphEventRecordNodeGetEvent(G, &got));
  cudaMemsetParams got_ms = {};
  CHECK(cudaGraphMemsetNodeGetParams(M2, &got_ms));
  std::printf("clone's child node found: %s, child graph nodes %zu, event node's event: %s, "
              "memset value %u\n", k_in_clone && k_in_clone != K ? "yes" : "no", inner_count,
              got == ev ? "same" : "other", got_ms.value);
  unsigned long long xflags = 99;
  CHECK(cudaGraphExecGetFlags(exec, &xflags));
  unsigned int enabled = 7;
  CHECK(cudaGraphNodeGetEnabled(exec, M2, &enabled));
  std::printf("exec flags %llu, memset node enabled %u\n", xflags, enabled);
  // Disable the memset of c in the executable graph, change it in another: c keeps 7.
  CHECK(cudaMemset(c, 0, bytes));
  CHECK(cudaGraphNodeSetEnabled(exec, M2, 0));
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("c with its memset disabled: %d\n", first(c));
  CHECK(cudaGraphNodeSetEnabled(exec, M2, 1));
  cudaMemsetParams ms5 = memset_params(c, 5, n);
  CHECK(cudaGraphExecMemsetNodeSetParams(exec, M2, &ms5));
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("c after the exec's memset changed: %d, host runs %d\n", first(c), g_host_runs);

  cudaGraphExecUpdateResultInfo info = {};
  REPORT(cudaGraphExecUpdate(exec, clone, &info));
  std::printf("update from the clone: result %d\n", static_cast<int>(info.result));
  cudaGraphNode_t extra;
  CHECK(cudaGraphAddEmptyNode(&extra, graph, &G, 1));
  info = {};
  REPORT(cudaGraphExecUpdate(exec, graph, &info));
  std::printf("update after a topology change: result %d\n", static_cast<int>(info.result));
  REPORT(cudaGetLastError());
  CHECK(cudaGraphDestroyNode(extra));
  CHECK(cudaGraphGetNodes(graph, nullptr, &count));
  std::printf("nodes after destroying the extra one: %zu\n", count);

  cudaGraphInstantiateParams ip = {};
  ip.uploadStream = s;
  cudaGraphExec_t exec2;
  REPORT(cudaGraphInstantiateWithParams(&exec2, graph, &ip));
  std::printf("instantiate result %d, error node %s\n", static_cast<int>(ip.result_out),
              ip.errNode_out ? "set" : "NULL");
  CHECK(cudaGraphLaunch(exec2, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("host runs %d\n", g_host_runs);

  // An event wait node, then a memset.
  cudaGraph_t g2;
  CHECK(cudaGraphCreate(&g2, 0));
  cudaGraphNode_t w, m;
  CHECK(cudaGraphAddEventWaitNode(&w, g2, nullptr, 0, ev));
  cudaMemsetParams ms3 = memset_params(d, 9, n);
  CHECK(cudaGraphAddMemsetNode(&m, g2, &w, 1, &ms3));
  cudaGraphNodeType wt;
  CHECK(cudaGraphNodeGetType(w, &wt));
  cudaGraphExec_t e2;
  CHECK(cudaGraphInstantiate(&e2, g2, 0));
  CHECK(cudaGraphLaunch(e2, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("wait node type %d, d %d\n", static_cast<int>(wt), first(d));

  char path[64];
  std::snprintf(path, sizeof path, "/tmp/gvirtus-graph-nodes-%d.dot", static_cast<int>(getpid()));
  CHECK(cudaGraphDebugDotPrint(graph, path, 0));
  FILE* f = std::fopen(path, "r");
  char head[8] = {};
  if (f) {
    if (std::fread(head, 1, 7, f) != 7) head[0] = 0;
    std::fclose(f);
  }
  std::remove(path);
  std::printf("dot file starts with: %s\n", head);

  int* host = nullptr;
  CHECK(cudaMallocHost(&host, bytes));
  cudaGraphNode_t hn;
  cudaError_t e = cudaGraphAddMemcpyNode1D(&hn, g2, nullptr, 0, a, host, bytes,
                                           cudaMemcpyHostToDevice);
  bool expected = e == cudaSuccess;
  std::printf("memcpy node from host memory: %s\n", expected ? "as documented" : "UNEXPECTED");
  cudaGetLastError();
  CHECK(cudaFreeHost(host));

  for (cudaGraphExec_t x : {e2, exec2, clone_exec, exec}) CHECK(cudaGraphExecDestroy(x));
  for (cudaGraph_t g : {g2, clone, graph, child}) CHECK(cudaGraphDestroy(g));
  CHECK(cudaEventDestroy(ev));
  CHECK(cudaStreamDestroy(s));
  for (int* p : {a, b, c, d}) CHECK(cudaFree(p));
  return verdict(same && roots_ok && found && expected);
}
