// The parameters of a graph's host node: cudaGraphHostNodeGetParams answers the function and
// user data the node was made or last set with; cudaGraphHostNodeSetParams changes the graph's
// node (executable graphs instantiated later run the new function, earlier ones the old);
// cudaGraphExecHostNodeSetParams changes one executable graph only. The static build reaches
// the driver's cuGraphHostNodeGetParams & co.
#include "check.h"

static int g_a = 0, g_b = 0;
static void CUDART_CB add_one(void* p) { *static_cast<int*>(p) += 1; }
static void CUDART_CB add_ten(void* p) { *static_cast<int*>(p) += 10; }

static const char* fn_name(cudaHostFn_t f) {
  return f == add_one ? "add_one" : f == add_ten ? "add_ten" : "OTHER";
}
static const char* user_name(void* u) { return u == &g_a ? "a" : u == &g_b ? "b" : "OTHER"; }

static void run(cudaGraphExec_t x, cudaStream_t s, const char* what) {
  CHECK(cudaGraphLaunch(x, s));
  CHECK(cudaStreamSynchronize(s));
  std::printf("%s: a %d b %d\n", what, g_a, g_b);
}

int main() {
  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaGraph_t g;
  CHECK(cudaGraphCreate(&g, 0));
  cudaGraphNode_t h, empty;
  cudaHostNodeParams p = {add_one, &g_a};
  CHECK(cudaGraphAddHostNode(&h, g, nullptr, 0, &p));
  CHECK(cudaGraphAddEmptyNode(&empty, g, &h, 1));
  cudaHostNodeParams got = {};
  CHECK(cudaGraphHostNodeGetParams(h, &got));
  std::printf("made with: %s %s\n", fn_name(got.fn), user_name(got.userData));
  cudaGraphExec_t x;
  CHECK(cudaGraphInstantiate(&x, g, 0));
  run(x, s, "first executable graph");

  cudaHostNodeParams p2 = {add_ten, &g_b};
  CHECK(cudaGraphHostNodeSetParams(h, &p2));
  got = {};
  CHECK(cudaGraphHostNodeGetParams(h, &got));
  std::printf("after set: %s %s\n", fn_name(got.fn), user_name(got.userData));
  run(x, s, "first executable graph again");
  cudaGraphExec_t x2;
  CHECK(cudaGraphInstantiate(&x2, g, 0));
  run(x2, s, "instantiated after the set");

  cudaHostNodeParams p3 = {add_one, &g_b};
  CHECK(cudaGraphExecHostNodeSetParams(x, h, &p3));
  run(x, s, "first executable graph, its node set");
  run(x2, s, "second executable graph unchanged");
  got = {};
  CHECK(cudaGraphHostNodeGetParams(h, &got));
  std::printf("the graph's node: %s %s\n", fn_name(got.fn), user_name(got.userData));

  // Not a host node: the runtime's answer.
  REPORT(cudaGraphHostNodeGetParams(empty, &got));
  REPORT(cudaGetLastError());

  CHECK(cudaGraphExecDestroy(x2));
  CHECK(cudaGraphExecDestroy(x));
  CHECK(cudaGraphDestroy(g));
  CHECK(cudaStreamDestroy(s));
  return verdict(g_a == 2 && g_b == 10 + 1 + 10);
}
