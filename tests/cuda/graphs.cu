// Explicit graphs: every node kind we forward (memset, kernel, 1D and 3D device-to-device copy,
// host, empty, child graph, event record and wait), dependencies added and removed, node and
// edge queries, instantiate / launch / upload, clone, kernel parameter updates on the graph and
// on the executable graph, exec update (accepted and refused), DOT output; and the refusal of
// memcpy nodes on host memory through GVirtuS.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "check.h"

__global__ void fill(int* p, int n, int v) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] = v;
}
__global__ void add(int* p, int n, int v) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += v;
}

static int g_host_runs = 0;
static void CUDART_CB host_count(void* p) { *static_cast<int*>(p) += 1; }

static cudaKernelNodeParams kparams(void* func, void** args, int n) {
  cudaKernelNodeParams p = {};
  p.func = func;
  p.gridDim = dim3((n + 255) / 256);
  p.blockDim = dim3(256);
  p.kernelParams = args;
  return p;
}

static int first(const int* d) {
  int v = 0;
  CHECK(cudaMemcpy(&v, d, sizeof v, cudaMemcpyDeviceToHost));
  return v;
}

int main() {
  const int n = 1024;
  const size_t bytes = n * sizeof(int);
  int *a, *b, *c, *d;
  CHECK(cudaMalloc(&a, bytes));
  CHECK(cudaMalloc(&b, bytes));
  CHECK(cudaMalloc(&c, bytes));
  CHECK(cudaMalloc(&d, bytes));
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  cudaEvent_t ev;
  CHECK(cudaEventCreate(&ev));

  cudaGraph_t graph;
  CHECK(cudaGraphCreate(&graph, 0));
  // A: memset a = 0
  cudaMemsetParams ms = {};
  ms.dst = a;
  ms.value = 0;
  ms.elementSize = 4;
  ms.width = n;
  ms.height = 1;
  cudaGraphNode_t A, B, C, D, E, F, G, H, child_node;
  CHECK(cudaGraphAddMemsetNode(&A, graph, nullptr, 0, &ms));
  // B: fill a with 3
  int nn = n, three = 3;
  void* fill_args[] = {&a, &nn, &three};
  cudaKernelNodeParams kb = kparams(reinterpret_cast<void*>(fill), fill_args, n);
  CHECK(cudaGraphAddKernelNode(&B, graph, &A, 1, &kb));
  // C: b <- a (1D, device to device)
  CHECK(cudaGraphAddMemcpyNode1D(&C, graph, &B, 1, b, a, bytes, cudaMemcpyDeviceToDevice));
  // D: b += 10
  int ten = 10;
  void* add_b[] = {&b, &nn, &ten};
  cudaKernelNodeParams kd = kparams(reinterpret_cast<void*>(add), add_b, n);
  CHECK(cudaGraphAddKernelNode(&D, graph, &C, 1, &kd));
  // E: host function
  cudaHostNodeParams hp = {host_count, &g_host_runs};
  CHECK(cudaGraphAddHostNode(&E, graph, &D, 1, &hp));
  // F: empty
  CHECK(cudaGraphAddEmptyNode(&F, graph, &E, 1));
  // Child graph: c = b + 1 (copy then add)
  cudaGraph_t child;
  CHECK(cudaGraphCreate(&child, 0));
  cudaGraphNode_t c1, c2;
  CHECK(cudaGraphAddMemcpyNode1D(&c1, child, nullptr, 0, c, b, bytes, cudaMemcpyDefault));
  int one = 1;
  void* add_c[] = {&c, &nn, &one};
  cudaKernelNodeParams kc = kparams(reinterpret_cast<void*>(add), add_c, n);
  CHECK(cudaGraphAddKernelNode(&c2, child, &c1, 1, &kc));
  CHECK(cudaGraphAddChildGraphNode(&child_node, graph, &F, 1, child));
  // G: event record after the child
  CHECK(cudaGraphAddEventRecordNode(&G, graph, &child_node, 1, ev));
  // H: 3D copy d <- a (one row), after B
  cudaMemcpy3DParms p3 = {};
  p3.srcPtr = make_cudaPitchedPtr(a, bytes, n, 1);
  p3.dstPtr = make_cudaPitchedPtr(d, bytes, n, 1);
  p3.extent = make_cudaExtent(bytes, 1, 1);
  p3.kind = cudaMemcpyDeviceToDevice;
  CHECK(cudaGraphAddMemcpyNode(&H, graph, &B, 1, &p3));

  // Queries.
  size_t count = 0;
  CHECK(cudaGraphGetNodes(graph, nullptr, &count));
  std::printf("nodes: %zu\n", count);
  std::vector<cudaGraphNode_t> nodes(count + 2);
  size_t cap = nodes.size();
  CHECK(cudaGraphGetNodes(graph, nodes.data(), &cap));
  bool same = true;
  for (cudaGraphNode_t x : {A, B, C, D, E, F, G, H, child_node})
    same &= std::find(nodes.begin(), nodes.begin() + cap, x) != nodes.begin() + cap;
  std::printf("nodes listed: %zu, the added handles among them: %s, extra entries NULL: %s\n", cap,
              same ? "yes" : "no", nodes[count] == nullptr && nodes[count + 1] == nullptr ? "yes" : "no");
  for (cudaGraphNode_t x : {A, B, C, D, E, F, G, H, child_node}) {
    cudaGraphNodeType t;
    CHECK(cudaGraphNodeGetType(x, &t));
    std::printf(" %d", static_cast<int>(t));
  }
  std::printf(" (node types)\n");
  size_t roots = 0;
  CHECK(cudaGraphGetRootNodes(graph, nullptr, &roots));
  cudaGraphNode_t root = nullptr;
  size_t one_root = 1;
  CHECK(cudaGraphGetRootNodes(graph, &root, &one_root));
  std::printf("roots: %zu, the memset: %s\n", roots, root == A ? "yes" : "no");
  size_t edges = 0;
  CHECK(cudaGraphGetEdges(graph, nullptr, nullptr, nullptr, &edges));
  std::printf("edges: %zu\n", edges);
  CHECK(cudaGraphAddDependencies(graph, &H, &D, nullptr, 1));
  CHECK(cudaGraphGetEdges(graph, nullptr, nullptr, nullptr, &edges));
  std::vector<cudaGraphNode_t> from(edges), to(edges);
  CHECK(cudaGraphGetEdges(graph, from.data(), to.data(), nullptr, &edges));
  bool found = false;
  for (size_t i = 0; i < edges; ++i) found |= from[i] == H && to[i] == D;
  std::printf("edges after adding H->D: %zu, listed: %s\n", edges, found ? "yes" : "no");
  CHECK(cudaGraphRemoveDependencies(graph, &H, &D, nullptr, 1));
  CHECK(cudaGraphGetEdges(graph, nullptr, nullptr, nullptr, &edges));
  std::printf("edges after removing it: %zu\n", edges);
  REPORT(cudaGraphRemoveDependencies(graph, &H, &D, nullptr, 1));  // not there any more

  // Instantiate and launch twice.
  cudaGraphExec_t exec;
  CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CHECK(cudaGraphUpload(exec, s));
  for (int r = 0; r < 2; ++r) {
    CHECK(cudaGraphLaunch(exec, s));
    CHECK(cudaStreamSynchronize(s));
  }
  CHECK(cudaEventSynchronize(ev));
  std::printf("after 2 launches: a %d b %d c %d d %d, host runs %d\n", first(a), first(b),
              first(c), first(d), g_host_runs);

  // Clone.
  cudaGraph_t clone;
  CHECK(cudaGraphClone(&clone, graph));
  size_t clone_count = 0;
  CHECK(cudaGraphGetNodes(clone, nullptr, &clone_count));
  cudaGraphExec_t clone_exec;
  CHECK(cudaGraphInstantiateWithFlags(&clone_exec, clone, 0));
  CHECK(cudaGraphLaunch(clone_exec, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("clone: %zu nodes, host runs %d\n", clone_count, g_host_runs);

  // Kernel parameters: change the graph's node and update the executable graph.
  int five = 5;
  void* fill5[] = {&a, &nn, &five};
  cudaKernelNodeParams kb5 = kparams(reinterpret_cast<void*>(fill), fill5, n);
  CHECK(cudaGraphKernelNodeSetParams(B, &kb5));
  cudaGraphExecUpdateResultInfo info = {};
  REPORT(cudaGraphExecUpdate(exec, graph, &info));
  std::printf("update result %d\n", static_cast<int>(info.result));
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("after update: b %d c %d\n", first(b), first(c));
  // Only the executable graph.
  int twenty = 20;
  void* add20[] = {&b, &nn, &twenty};
  cudaKernelNodeParams kd20 = kparams(reinterpret_cast<void*>(add), add20, n);
  CHECK(cudaGraphExecKernelNodeSetParams(exec, D, &kd20));
  CHECK(cudaGraphLaunch(exec, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("after exec set params: b %d c %d\n", first(b), first(c));
  // A topology change cannot be applied to an executable graph.
  cudaGraphNode_t extra;
  CHECK(cudaGraphAddEmptyNode(&extra, graph, &G, 1));
  info = {};
  REPORT(cudaGraphExecUpdate(exec, graph, &info));
  std::printf("update result %d\n", static_cast<int>(info.result));
  REPORT(cudaGetLastError());

  // Instantiate with parameters (upload on s).
  cudaGraphInstantiateParams ip = {};
  ip.uploadStream = s;
  cudaGraphExec_t exec2;
  REPORT(cudaGraphInstantiateWithParams(&exec2, graph, &ip));
  std::printf("instantiate result %d, error node %s\n", static_cast<int>(ip.result_out),
              ip.errNode_out ? "set" : "NULL");
  CHECK(cudaGraphLaunch(exec2, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("host runs %d\n", g_host_runs);

  // An event wait node in a second graph.
  cudaGraph_t g2;
  CHECK(cudaGraphCreate(&g2, 0));
  cudaGraphNode_t w, k2;
  CHECK(cudaGraphAddEventWaitNode(&w, g2, nullptr, 0, ev));
  void* add_d[] = {&d, &nn, &one};
  cudaKernelNodeParams kk = kparams(reinterpret_cast<void*>(add), add_d, n);
  CHECK(cudaGraphAddKernelNode(&k2, g2, &w, 1, &kk));
  cudaGraphNodeType wt;
  CHECK(cudaGraphNodeGetType(w, &wt));
  cudaGraphExec_t e2;
  CHECK(cudaGraphInstantiate(&e2, g2, 0));
  CHECK(cudaGraphLaunch(e2, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("wait node type %d, d %d\n", static_cast<int>(wt), first(d));

  // DOT output lands at the application's path.
  char path[64];
  std::snprintf(path, sizeof path, "/tmp/gvirtus-graphs-test-%d.dot", static_cast<int>(getpid()));
  CHECK(cudaGraphDebugDotPrint(graph, path, cudaGraphDebugDotFlagsVerbose));
  FILE* f = std::fopen(path, "r");
  char head[8] = {};
  if (f) {
    if (std::fread(head, 1, 7, f) != 7) head[0] = 0;
    std::fclose(f);
  }
  std::remove(path);
  std::printf("dot file starts with: %s\n", head);

  // Memcpy nodes on host memory: fine (through GVirtuS a worker staging buffer stands for the
  // host side, docs/callbacks.md).
  int* host = nullptr;
  CHECK(cudaMallocHost(&host, bytes));
  cudaGraphNode_t hn;
  cudaError_t e = cudaGraphAddMemcpyNode1D(&hn, g2, nullptr, 0, host, a, bytes,
                                           cudaMemcpyDeviceToHost);
  bool expected = e == cudaSuccess;
  std::printf("memcpy node to host memory: %s\n", expected ? "as documented" : "UNEXPECTED");
  cudaGetLastError();
  CHECK(cudaFreeHost(host));

  CHECK(cudaGraphExecDestroy(e2));
  CHECK(cudaGraphExecDestroy(exec2));
  CHECK(cudaGraphExecDestroy(clone_exec));
  CHECK(cudaGraphExecDestroy(exec));
  CHECK(cudaGraphDestroy(g2));
  CHECK(cudaGraphDestroy(clone));
  CHECK(cudaGraphDestroy(child));
  CHECK(cudaGraphDestroy(graph));
  CHECK(cudaEventDestroy(ev));
  CHECK(cudaStreamDestroy(s));
  for (int* p : {a, b, c, d}) CHECK(cudaFree(p));
  return verdict(same && found && expected);
}
