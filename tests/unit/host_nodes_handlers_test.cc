// The host nodes' parameter handlers (src/backend/cudart/host_nodes.cc) without a GPU: forged
// graph or node ids and malformed requests end the session before any CUDA call; a NULL
// function is the runtime's invalid value, answered before the runtime is asked.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>

#include "backend/dispatch.h"
#include "backend/worker.h"
#include "expect_fault.h"

namespace gvirtus::backend::cudart {
void handle_cudaGraphHostNodeGetParams(CallContext&);
void handle_cudaGraphHostNodeSetParams(CallContext&);
void handle_cudaGraphExecHostNodeSetParams(CallContext&);
}  // namespace gvirtus::backend::cudart

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace bc = gvirtus::backend::cudart;

constexpr uint64_t kForgedNode = (uint64_t{12} << 56) | 0x77;  // HandleKind::kGraphNode
constexpr uint64_t kForgedExec = (uint64_t{11} << 56) | 0x78;  // HandleKind::kGraphExec

class HostNodeHandlers : public ::testing::Test {
 protected:
  int32_t run(be::Handler h, const wire::Writer& w, size_t* out_bytes = nullptr) {
    wire::FrameHeader hdr;
    hdr.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    hdr.length = static_cast<uint32_t>(w.size());
    be::CallContext ctx{session_, conn_, hdr, wire::Reader(w.data(), w.size()), wire::Writer()};
    h(ctx);
    if (out_bytes) *out_bytes = ctx.out.size();
    return ctx.status;
  }
  static wire::Writer set(uint64_t exec, bool with_exec, uint64_t node, uint64_t fn) {
    wire::Writer w;
    if (with_exec) w.put<uint64_t>(exec);
    w.put<uint64_t>(node);
    w.put<uint64_t>(fn);
    w.put<uint64_t>(0x5678);
    return w;
  }
  be::Session session_{be::ClientInfo{}, be::SessionOptions{false}};
  be::ConnState conn_{session_, 0};
};

TEST_F(HostNodeHandlers, ForgedIdsEndTheSession) {
  wire::Writer get;
  get.put<uint64_t>(kForgedNode);
  EXPECT_FAULT(run(bc::handle_cudaGraphHostNodeGetParams, get), "forged");
  EXPECT_FAULT(run(bc::handle_cudaGraphHostNodeSetParams, set(0, false, kForgedNode, 0x1234)),
               "forged");
  EXPECT_FAULT(run(bc::handle_cudaGraphExecHostNodeSetParams, set(kForgedExec, true, 0, 0x1234)),
               "forged");
  EXPECT_FAULT(run(bc::handle_cudaGraphExecHostNodeSetParams, set(0, true, kForgedNode, 0x1234)),
               "forged");
}

TEST_F(HostNodeHandlers, MalformedRequestsEndTheSession) {
  wire::Writer get;
  get.put<uint64_t>(0);
  get.put<uint8_t>(1);  // a trailing byte
  EXPECT_FAULT(run(bc::handle_cudaGraphHostNodeGetParams, get), "1 unexpected bytes at the end");
  wire::Writer short_set;
  short_set.put<uint64_t>(0);
  short_set.put<uint64_t>(0x1234);  // no user data
  EXPECT_FAULT(run(bc::handle_cudaGraphHostNodeSetParams, short_set), "payload too short");
  wire::Writer long_exec = set(0, true, 0, 0x1234);
  long_exec.put<uint32_t>(9);
  EXPECT_FAULT(run(bc::handle_cudaGraphExecHostNodeSetParams, long_exec),
               "4 unexpected bytes at the end");
}

TEST_F(HostNodeHandlers, ANullFunctionIsInvalidBeforeTheRuntime) {
  EXPECT_EQ(run(bc::handle_cudaGraphHostNodeSetParams, set(0, false, 0, 0)),
            cudaErrorInvalidValue);
  EXPECT_EQ(run(bc::handle_cudaGraphExecHostNodeSetParams, set(0, true, 0, 0)),
            cudaErrorInvalidValue);
  // A NULL node reaches the runtime, which refuses it (or has no device here): no parameters
  // come back.
  wire::Writer get;
  get.put<uint64_t>(0);
  size_t out = 1;
  EXPECT_NE(run(bc::handle_cudaGraphHostNodeGetParams, get, &out), cudaSuccess);
  EXPECT_EQ(out, 0u);
}

}  // namespace
}  // namespace gvirtus::testing
