// The requests that put the application's host functions on the GPU's timeline
// (frontend/cudart/host_calls.h), which libcudart.so.13 and libcuda.so.1 (cuLaunchHostFunc,
// cuStreamAddCallback, cuGraphAddHostNode, a statically linked runtime's callbacks) both send:
// the bytes of each, the callback thread attached once for the process (whichever library asks
// first: client::callback_thread_slot), and node lists checked before anything is sent.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "cudart_calls.h"
#include "fake_backend.h"
#include "frontend/core/callback_slot.h"
#include "frontend/core/client.h"
#include "frontend/core/session.h"
#include "frontend/cudart/host_calls.h"

namespace gvirtus::testing {
namespace {

namespace cr = gvirtus::cudart;
namespace hc = gvirtus::cudart::host_calls;

struct Seen {
  uint32_t call;
  std::vector<uint8_t> payload;
};

TEST(HostCalls, BytesOfEachRequestAndOneCallbackThread) {
  std::mutex mu;
  std::vector<Seen> seen;
  FakeBackend be([&](Stream& s, const wire::Hello&) {
    for (;;) {
      wire::FrameHeader f;
      std::vector<uint8_t> p;
      if (!read_frame(s, &f, &p)) return;
      {
        std::lock_guard<std::mutex> g(mu);
        seen.push_back({f.call_id, p});
      }
      if (f.flags & wire::kFlagNoReply) continue;
      if (f.call_id == cr::kCall_gvCallbackWait) {
        // No callback will come: the thread stops (it stays the process's thread).
        if (!send_reply(s, f, 1, 0)) return;
        continue;
      }
      std::vector<uint8_t> out;
      if (f.call_id == cr::kCall_cudaGraphAddHostNode) {
        wire::Writer w;
        w.put<uint64_t>(0x0600000000000042ull);
        out.assign(w.data(), w.data() + w.size());
      }
      if (f.call_id == cr::kCall_cudaGraphHostNodeGetParams) {
        wire::Writer w;
        w.put<uint64_t>(0xabc);
        w.put<uint64_t>(0xdef);
        out.assign(w.data(), w.data() + w.size());
      }
      if (!send_reply(s, f, 0, 0, out)) return;
    }
  });
  // The callback thread is detached and may still be finishing its last wait when the test
  // ends: the session it uses must outlive it (left to the process, as an application's is).
  auto* session = new client::Session(test_session_options(be.connector()));
  SessionOverride use(session);
  // The process's callback thread (a repeated run in one process finds it started already).
  const bool first_thread = client::callback_thread_slot().state == 0;

  EXPECT_EQ(hc::launch_host_func(0x0100000000000003ull, 0x1234, 0x5678), cudaSuccess);
  EXPECT_EQ(hc::add_stream_callback(0x0100000000000004ull, 0x1111, 0x2222, 3), cudaSuccess);
  const cudaGraphNode_t deps[2] = {reinterpret_cast<cudaGraphNode_t>(0x0600000000000001ull),
                                   reinterpret_cast<cudaGraphNode_t>(0x0600000000000002ull)};
  cudaGraphNode_t node = nullptr;
  EXPECT_EQ(hc::add_host_node(&node, reinterpret_cast<cudaGraph_t>(0x0500000000000007ull), deps,
                              2, 0x3333, 0x4444),
            cudaSuccess);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(node), 0x0600000000000042ull);
  // Node lists an honest worker would refuse are refused here, before anything is sent.
  EXPECT_EQ(hc::add_host_node(&node, nullptr, nullptr, 1, 0x3333, 0), cudaErrorInvalidValue);
  EXPECT_EQ(hc::add_host_node(&node, nullptr, deps, hc::kMaxNodeList + 1, 0x3333, 0),
            cudaErrorInvalidValue);
  EXPECT_EQ(hc::add_host_node(nullptr, nullptr, deps, 1, 0x3333, 0), cudaErrorInvalidValue);
  EXPECT_EQ(client::callback_thread_slot().state, 2);  // ready: the thread attached
  // A host node's parameters: read, set in the graph and in an executable graph.
  uint64_t fn = 0, user = 0;
  EXPECT_EQ(hc::get_host_node(node, &fn, &user), cudaSuccess);
  EXPECT_EQ(fn, 0xabcu);
  EXPECT_EQ(user, 0xdefu);
  EXPECT_EQ(hc::set_host_node(nullptr, node, 0x5555, 0x6666), cudaSuccess);
  EXPECT_EQ(hc::set_host_node(reinterpret_cast<cudaGraphExec_t>(0x0b00000000000003ull), node,
                              0x7777, 0x8888),
            cudaSuccess);

  std::lock_guard<std::mutex> g(mu);
  size_t attaches = 0;
  std::vector<Seen> calls;
  for (const Seen& x : seen) {
    attaches += x.call == cr::kCall_gvCallbackAttach;
    if (x.call != cr::kCall_gvCallbackAttach && x.call != cr::kCall_gvCallbackWait)
      calls.push_back(x);
  }
  EXPECT_EQ(attaches, first_thread ? 1u : 0u);
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[0].call, cr::kCall_cudaLaunchHostFunc);
  wire::Reader r0(calls[0].payload.data(), calls[0].payload.size());
  EXPECT_EQ(r0.get<uint64_t>(), 0x0100000000000003ull);
  EXPECT_EQ(r0.get<uint64_t>(), 0x1234u);
  EXPECT_EQ(r0.get<uint64_t>(), 0x5678u);
  EXPECT_NO_THROW(r0.expect_end());
  EXPECT_EQ(calls[1].call, cr::kCall_cudaStreamAddCallback);
  wire::Reader r1(calls[1].payload.data(), calls[1].payload.size());
  EXPECT_EQ(r1.get<uint64_t>(), 0x0100000000000004ull);
  EXPECT_EQ(r1.get<uint64_t>(), 0x1111u);
  EXPECT_EQ(r1.get<uint64_t>(), 0x2222u);
  EXPECT_EQ(r1.get<uint32_t>(), 3u);
  EXPECT_NO_THROW(r1.expect_end());
  EXPECT_EQ(calls[2].call, cr::kCall_cudaGraphAddHostNode);
  wire::Reader r2(calls[2].payload.data(), calls[2].payload.size());
  EXPECT_EQ(r2.get<uint64_t>(), 0x0500000000000007ull);
  EXPECT_EQ(r2.get<uint32_t>(), 2u);
  EXPECT_EQ(r2.get<uint64_t>(), 0x0600000000000001ull);
  EXPECT_EQ(r2.get<uint64_t>(), 0x0600000000000002ull);
  EXPECT_EQ(r2.get<uint64_t>(), 0x3333u);
  EXPECT_EQ(r2.get<uint64_t>(), 0x4444u);
  EXPECT_NO_THROW(r2.expect_end());
  EXPECT_EQ(calls[3].call, cr::kCall_cudaGraphHostNodeGetParams);
  wire::Reader r3(calls[3].payload.data(), calls[3].payload.size());
  EXPECT_EQ(r3.get<uint64_t>(), 0x0600000000000042ull);
  EXPECT_NO_THROW(r3.expect_end());
  EXPECT_EQ(calls[4].call, cr::kCall_cudaGraphHostNodeSetParams);
  wire::Reader r4(calls[4].payload.data(), calls[4].payload.size());
  EXPECT_EQ(r4.get<uint64_t>(), 0x0600000000000042ull);
  EXPECT_EQ(r4.get<uint64_t>(), 0x5555u);
  EXPECT_EQ(r4.get<uint64_t>(), 0x6666u);
  EXPECT_NO_THROW(r4.expect_end());
  EXPECT_EQ(calls[5].call, cr::kCall_cudaGraphExecHostNodeSetParams);
  wire::Reader r5(calls[5].payload.data(), calls[5].payload.size());
  EXPECT_EQ(r5.get<uint64_t>(), 0x0b00000000000003ull);
  EXPECT_EQ(r5.get<uint64_t>(), 0x0600000000000042ull);
  EXPECT_EQ(r5.get<uint64_t>(), 0x7777u);
  EXPECT_EQ(r5.get<uint64_t>(), 0x8888u);
  EXPECT_NO_THROW(r5.expect_end());
}

}  // namespace
}  // namespace gvirtus::testing
