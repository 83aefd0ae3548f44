// Hand-written graph, capture, pool and callback handlers without a GPU: every request an honest
// client never sends ends the session (SessionFault / DecodeError) before any CUDA call.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include "backend/dispatch.h"
#include "backend/worker.h"
#include "expect_fault.h"

namespace gvirtus::backend::cudart {
void handle_cudaGraphAddEmptyNode(CallContext&);
void handle_cudaGraphAddKernelNode(CallContext&);
void handle_cudaGraphGetNodes(CallContext&);
void handle_cudaGraphGetEdges(CallContext&);
void handle_cudaGraphNodeGetDependencies(CallContext&);
void handle_cudaGraphNodeGetDependentNodes(CallContext&);
void handle_cudaGraphAddDependencies(CallContext&);
void handle_cudaStreamGetCaptureInfo(CallContext&);
void handle_cudaMemPoolSetAttribute(CallContext&);
void handle_cudaMemPoolGetAttribute(CallContext&);
void handle_gvCallbackWait(CallContext&);
}  // namespace gvirtus::backend::cudart

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace bc = gvirtus::backend::cudart;

class GraphHandlers : public ::testing::Test {
 protected:
  int32_t run(be::Handler h, const wire::Writer& w) {
    wire::FrameHeader hdr;
    hdr.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    hdr.length = static_cast<uint32_t>(w.size());
    be::CallContext ctx{session_, conn_, hdr, wire::Reader(w.data(), w.size()), wire::Writer()};
    h(ctx);
    return ctx.status;
  }
  be::Session session_{be::ClientInfo{}, be::SessionOptions{false}};
  be::ConnState conn_{session_, 0};
};

TEST_F(GraphHandlers, ForgedGraphAndNodeIdsEndTheSession) {
  wire::Writer w;
  w.put<uint64_t>(0x0a00000000000077ull);  // a graph id never issued
  w.put<uint32_t>(0);
  EXPECT_FAULT(run(bc::handle_cudaGraphAddEmptyNode, w), "forged graph handle 0xa00000000000077");
  wire::Writer n;
  n.put<uint64_t>(0);  // NULL graph: passes through to the runtime
  n.put<uint32_t>(1);
  n.put<uint64_t>(0x0c00000000000001ull);  // a node id never issued
  EXPECT_FAULT(run(bc::handle_cudaGraphAddEmptyNode, n),
               "forged graph node handle 0xc00000000000001");
}

TEST_F(GraphHandlers, ListsAreBounded) {
  wire::Writer w;
  w.put<uint64_t>(0);
  w.put<uint32_t>((1u << 20) + 1);  // dependencies
  EXPECT_FAULT(run(bc::handle_cudaGraphAddEmptyNode, w), "dependencies: 1048577 nodes");
  wire::Writer g;
  g.put<uint64_t>(0);
  g.put<uint8_t>(1);
  g.put<uint64_t>(uint64_t{1} << 40);  // node list capacity
  EXPECT_FAULT(run(bc::handle_cudaGraphGetNodes, g), "node list of 1099511627776");
  wire::Writer e;
  e.put<uint64_t>(0);
  e.put<uint8_t>(1);
  e.put<uint64_t>(uint64_t{1} << 40);
  e.put<uint8_t>(0);
  EXPECT_FAULT(run(bc::handle_cudaGraphGetEdges, e), "edge list of 1099511627776");
  for (be::Handler h : {bc::handle_cudaGraphNodeGetDependencies,
                        bc::handle_cudaGraphNodeGetDependentNodes}) {
    wire::Writer q;
    q.put<uint64_t>(0);  // NULL node: checked by the runtime, after the bound
    q.put<uint8_t>(1);
    q.put<uint64_t>((1u << 20) + 1);
    q.put<uint8_t>(1);
    EXPECT_FAULT(run(h, q), "node list of 1048577");
    wire::Writer forged;
    forged.put<uint64_t>(0x0c00000000000005ull);  // a node id never issued
    forged.put<uint8_t>(0);
    forged.put<uint64_t>(0);
    forged.put<uint8_t>(0);
    EXPECT_FAULT(run(h, forged), "forged graph node handle 0xc00000000000005");
    wire::Writer longer = forged;
    longer.put<uint8_t>(0);  // a byte past the request
    EXPECT_FAULT(run(h, longer), "1 unexpected bytes at the end");
  }
  wire::Writer d;
  d.put<uint64_t>(0);
  d.put<uint32_t>(2);  // two edges announced, one carried
  d.put<uint64_t>(0);
  d.put<uint64_t>(0);
  EXPECT_FAULT(run(bc::handle_cudaGraphAddDependencies, d),
               "payload too short: wanted 8 bytes, 0 left");
}

TEST_F(GraphHandlers, KernelNodeArgumentsMustFitTheKernel) {
  wire::Writer w;
  w.put<uint64_t>(0);
  w.put<uint32_t>(0);
  w.put<uint64_t>(0x0400000000000009ull);  // kernel id never issued
  w.put<uint32_t>(1);
  w.put<uint32_t>(1);
  w.put<uint32_t>(1);  // grid
  w.put<uint32_t>(1);
  w.put<uint32_t>(1);
  w.put<uint32_t>(1);  // block
  w.put<uint32_t>(0);  // shared memory
  w.put<uint32_t>(8);
  w.put<uint64_t>(0);
  EXPECT_FAULT(run(bc::handle_cudaGraphAddKernelNode, w), "forged kernel handle 0x400000000000009");
  wire::Writer shorter = w;
  shorter.buffer().resize(shorter.size() - 4);  // announces 8 argument bytes, carries 4
  EXPECT_FAULT(run(bc::handle_cudaGraphAddKernelNode, shorter),
               "payload too short: wanted 8 bytes, 4 left");
}

TEST_F(GraphHandlers, UnknownCaptureInfoOutputsAndPoolAttributesEndTheSession) {
  wire::Writer w;
  w.put<uint64_t>(0);
  w.put<uint8_t>(64);
  EXPECT_FAULT(run(bc::handle_cudaStreamGetCaptureInfo, w),
               "unknown cudaStreamGetCaptureInfo outputs");
  wire::Writer s;
  s.put<uint64_t>(0);
  s.put<int32_t>(0x7777);
  s.put<uint64_t>(0);
  EXPECT_FAULT(run(bc::handle_cudaMemPoolSetAttribute, s), "memory pool attribute 30583");
  wire::Writer g;
  g.put<uint64_t>(0);
  g.put<int32_t>(0x7777);
  EXPECT_FAULT(run(bc::handle_cudaMemPoolGetAttribute, g), "memory pool attribute 30583");
  // An int attribute carries 4 bytes, not 8.
  wire::Writer i;
  i.put<uint64_t>(0);
  i.put<int32_t>(cudaMemPoolReuseAllowOpportunistic);
  i.put<uint64_t>(1);
  EXPECT_FAULT(run(bc::handle_cudaMemPoolSetAttribute, i),
               "4 unexpected bytes at the end of the payload");
}

TEST_F(GraphHandlers, CallbackWaitWithoutAttachEndsTheSession) {
  wire::Writer w;
  w.put<uint64_t>(0);
  EXPECT_FAULT(run(bc::handle_gvCallbackWait, w),
               "gvCallbackWait on connection 0, which is not the session's callback connection");
}

}  // namespace
}  // namespace gvirtus::testing
