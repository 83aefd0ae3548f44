// HandleTable and the cudart handle helpers built on it.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "backend/cudart/support.h"
#include "backend/dispatch.h"
#include "backend/worker.h"
#include "expect_fault.h"

namespace gvirtus::backend {
namespace {

int objs[4];

TEST(HandleTable, IdsCarryKindAndAreNeverReused) {
  HandleTable t;
  std::set<uint64_t> seen;
  for (int i = 0; i < 100; ++i) {
    uint64_t s = t.add(HandleKind::kStream, &objs[0]);
    uint64_t e = t.add(HandleKind::kEvent, &objs[1]);
    EXPECT_NE(s, 0u);
    EXPECT_EQ(handle_kind_of(s), HandleKind::kStream);
    EXPECT_EQ(handle_kind_of(e), HandleKind::kEvent);
    EXPECT_TRUE(seen.insert(s).second);
    EXPECT_TRUE(seen.insert(e).second);
    EXPECT_TRUE(t.remove(HandleKind::kStream, s, nullptr));  // released ids stay unused
    EXPECT_TRUE(t.remove(HandleKind::kEvent, e, nullptr));
  }
}

TEST(HandleTable, ALiveObjectKeepsItsId) {
  HandleTable t;
  uint64_t a = t.add(HandleKind::kContext, &objs[0]);
  EXPECT_EQ(t.add(HandleKind::kContext, &objs[0]), a);  // the same context handed out twice
  uint64_t other_kind = t.add(HandleKind::kModule, &objs[0]);
  EXPECT_NE(other_kind, a);
  EXPECT_EQ(handle_kind_of(other_kind), HandleKind::kModule);
  EXPECT_NE(t.add(HandleKind::kContext, &objs[1]), a);
  EXPECT_TRUE(t.remove(HandleKind::kContext, a, nullptr));
  uint64_t again = t.add(HandleKind::kContext, &objs[0]);  // after release: a new id
  EXPECT_NE(again, a);
  void* p = nullptr;
  EXPECT_FALSE(t.lookup(HandleKind::kContext, a, &p));
  EXPECT_TRUE(t.lookup(HandleKind::kContext, again, &p));
  EXPECT_EQ(p, &objs[0]);
}

// An object that died with another (a module's function at the module's unload) is forgotten:
// its id counts as released, and a new object at the same address gets a new id.
TEST(HandleTable, AForgottenObjectsAddressGetsANewId) {
  HandleTable t;
  int f = 0, other = 0;
  const uint64_t id = t.add(HandleKind::kFunction, &f);
  const uint64_t kept = t.add(HandleKind::kFunction, &other);
  t.forget(HandleKind::kFunction, &f);
  void* p = nullptr;
  EXPECT_EQ(t.find(HandleKind::kFunction, id, &p), HandleTable::Found::kReleased);
  const uint64_t again = t.add(HandleKind::kFunction, &f);
  EXPECT_NE(again, id);
  EXPECT_EQ(t.find(HandleKind::kFunction, kept, &p), HandleTable::Found::kLive);
  EXPECT_EQ(p, &other);
  // Another kind's entry for the same address, and an unknown object, are left alone.
  const uint64_t module = t.add(HandleKind::kModule, &f);
  t.forget(HandleKind::kFunction, &other);
  t.forget(HandleKind::kKernel, &f);
  EXPECT_EQ(t.find(HandleKind::kModule, module, &p), HandleTable::Found::kLive);
  EXPECT_EQ(t.find(HandleKind::kFunction, kept, &p), HandleTable::Found::kReleased);
}

TEST(HandleTable, LiveReleasedAndNever) {
  HandleTable t;
  uint64_t id = t.add(HandleKind::kStream, &objs[2]);
  void* p = nullptr;
  EXPECT_EQ(t.find(HandleKind::kStream, id, &p), HandleTable::Found::kLive);
  EXPECT_EQ(p, &objs[2]);
  EXPECT_TRUE(t.lookup(HandleKind::kStream, id, &p));

  // The right serial under another kind was never issued as that kind.
  EXPECT_EQ(t.find(HandleKind::kEvent, id, &p), HandleTable::Found::kNever);
  EXPECT_FAULT(t.lookup(HandleKind::kEvent, id, &p), "forged event handle 0x100000000000001");
  EXPECT_FALSE(t.remove(HandleKind::kEvent, id, &p));
  EXPECT_EQ(t.find(HandleKind::kStream, id, &p), HandleTable::Found::kLive);

  p = nullptr;
  EXPECT_TRUE(t.remove(HandleKind::kStream, id, &p));
  EXPECT_EQ(p, &objs[2]);
  EXPECT_FALSE(t.remove(HandleKind::kStream, id, &p));
  // Stale: issued, since released. The call fails; the session goes on.
  EXPECT_EQ(t.find(HandleKind::kStream, id, &p), HandleTable::Found::kReleased);
  EXPECT_FALSE(t.lookup(HandleKind::kStream, id, &p));

  // Forged: never issued.
  const uint64_t kStreamTag = uint64_t{1} << 56;
  for (uint64_t forged : {uint64_t{0}, uint64_t{12345}, kStreamTag, kStreamTag | (id + 1000),
                          ~uint64_t{0}, (uint64_t{9} << 56) | 1}) {
    EXPECT_EQ(t.find(HandleKind::kStream, forged, &p), HandleTable::Found::kNever) << forged;
    EXPECT_FAULT(t.lookup(HandleKind::kStream, forged, &p), "forged stream handle") << forged;
  }
}

// Client-chosen ids (docs/protocol.md, "Client-chosen handle ids"): kind, bit 55, the create
// request's ticket.
TEST(HandleTable, ClientIdsClaimedInTicketOrderAndBound) {
  HandleTable t;
  const uint64_t mine = t.add(HandleKind::kCudnnTensorDesc, &objs[0]);  // a worker-issued id
  const uint64_t id = t.claim_client_id(HandleKind::kCudnnTensorDesc, 7);
  EXPECT_EQ(id, wire::client_id(HandleKind::kCudnnTensorDesc, 7));
  EXPECT_EQ(id, (uint64_t{41} << 56) | (uint64_t{1} << 55) | 7);
  EXPECT_NE(id, mine);
  // Claimed but not bound yet (the create has not returned): not live, counts as released.
  void* p = nullptr;
  EXPECT_EQ(t.find(HandleKind::kCudnnTensorDesc, id, &p), HandleTable::Found::kReleased);
  // Only the id just claimed, for its own kind, binds.
  EXPECT_FALSE(t.bind_client_id(HandleKind::kCudnnFilterDesc, id, &objs[1]));
  EXPECT_FALSE(t.bind_client_id(HandleKind::kCudnnTensorDesc, id + 1, &objs[1]));
  EXPECT_TRUE(t.bind_client_id(HandleKind::kCudnnTensorDesc, id, &objs[1]));
  EXPECT_FALSE(t.bind_client_id(HandleKind::kCudnnTensorDesc, id, &objs[1]));  // once
  EXPECT_TRUE(t.lookup(HandleKind::kCudnnTensorDesc, id, &p));
  EXPECT_EQ(p, &objs[1]);
  // The object keeps its id when the library hands it out again (handle_out).
  EXPECT_EQ(t.add(HandleKind::kCudnnTensorDesc, &objs[1]), id);
  EXPECT_TRUE(t.remove(HandleKind::kCudnnTensorDesc, id, &p));
  EXPECT_FALSE(t.lookup(HandleKind::kCudnnTensorDesc, id, &p));  // stale, not forged

  // A create that failed: claimed, never bound: later uses are stale.
  const uint64_t failed = t.claim_client_id(HandleKind::kCudnnTensorDesc, 9);
  EXPECT_FALSE(t.lookup(HandleKind::kCudnnTensorDesc, failed, &p));
  // An object that is live already under another id is not bound twice.
  const uint64_t again = t.claim_client_id(HandleKind::kCudnnTensorDesc, 10);
  EXPECT_FALSE(t.bind_client_id(HandleKind::kCudnnTensorDesc, again, &objs[0]));
}

TEST(HandleTable, ForgedClientIdsEndTheSession) {
  HandleTable t;
  const auto k = HandleKind::kCublasLtMatrixLayout;
  // No ticket, or one that does not fit below bit 55, names nothing.
  EXPECT_FAULT(t.claim_client_id(k, 0),
               "a client-chosen cuBLAS object id for ticket 0 (a create that asks for one needs a "
               "ticket below 2^55)");
  EXPECT_FAULT(t.claim_client_id(k, uint64_t{1} << 55),
               "a client-chosen cuBLAS object id for ticket 36028797018963968 (a create that asks "
               "for one needs a ticket below 2^55)");
  EXPECT_FAULT(t.claim_client_id(k, ~uint64_t{0}),
               "a client-chosen cuBLAS object id for ticket 18446744073709551615 (a create that "
               "asks for one needs a ticket below 2^55)");
  const uint64_t id = t.claim_client_id(k, 100);
  ASSERT_TRUE(t.bind_client_id(k, id, &objs[0]));
  // A replayed ticket (a live id named again), or any ticket not above the last claimed one.
  EXPECT_FAULT(t.claim_client_id(k, 100),
               "client-chosen cuBLAS object id 0x2380000000000064 named twice (ticket 100, last "
               "claimed 100)");
  EXPECT_FAULT(t.claim_client_id(k, 99),
               "client-chosen cuBLAS object id 0x2380000000000063 named twice (ticket 99, last "
               "claimed 100)");
  EXPECT_FAULT(t.claim_client_id(HandleKind::kCublasLtMatmulDesc, 100),
               "client-chosen cuBLAS object id 0x2280000000000064 named twice (ticket 100, last "
               "claimed 100)");
  void* p = nullptr;
  // Uses: an id above every claimed ticket was never issued; the right ticket under another
  // kind is no id of this kind; a kind byte without bit 55 is a worker id never issued.
  EXPECT_FAULT(t.lookup(k, wire::client_id(k, 101), &p),
               "forged cuBLAS object handle 0x2380000000000065");
  EXPECT_FAULT(t.lookup(HandleKind::kCublasLtMatmulDesc, id, &p),
               "forged cuBLAS object handle 0x2380000000000064");
  EXPECT_FAULT(t.lookup(k, id & ~wire::kClientIdBit, &p),
               "forged cuBLAS object handle 0x2300000000000064");
  EXPECT_TRUE(t.lookup(k, id, &p));  // the session goes on: the real one still works
  EXPECT_EQ(p, &objs[0]);
  // Worker-issued ids and client ones never meet.
  EXPECT_FALSE(wire::is_client_id(t.add(k, &objs[1])));
}

TEST(HandleTable, LiveListsOneKind) {
  HandleTable t;
  uint64_t a = t.add(HandleKind::kEvent, &objs[0]);
  t.add(HandleKind::kEvent, &objs[1]);
  t.add(HandleKind::kStream, &objs[2]);
  t.remove(HandleKind::kEvent, a, nullptr);
  auto live = t.live(HandleKind::kEvent);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0], &objs[1]);
  EXPECT_EQ(t.live(HandleKind::kKernel).size(), 0u);
}

TEST(HandleTable, ConcurrentUseGivesDistinctIds) {
  HandleTable t;
  std::vector<std::vector<uint64_t>> ids(4);
  std::vector<std::thread> threads;
  static int many[4][2000];
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int i = 0; i < 2000; ++i) {
        uint64_t id = t.add(HandleKind::kStream, &many[k][i]);
        void* p;
        EXPECT_TRUE(t.lookup(HandleKind::kStream, id, &p));
        if (i % 2) {
          EXPECT_TRUE(t.remove(HandleKind::kStream, id, nullptr));
        }
        ids[k].push_back(id);
      }
    });
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 8000u);
  EXPECT_EQ(t.live(HandleKind::kStream).size(), 4000u);
}

// The helpers for cudart handlers, through a CallContext as handlers see it.
class CudartHandles : public ::testing::Test {
 protected:
  CudartHandles() : session_(ClientInfo{}, SessionOptions{false}), conn_(session_, 0) {}
  CallContext ctx() { return CallContext{session_, conn_, header_, wire::Reader(nullptr, 0), wire::Writer()}; }
  Session session_;
  ConnState conn_;
  wire::FrameHeader header_;
};

TEST_F(CudartHandles, SpecialStreamsPassThrough) {
  CallContext c = ctx();
  for (uint64_t id : {0, 1, 2}) {
    cudaStream_t s = reinterpret_cast<cudaStream_t>(0x1234);
    EXPECT_TRUE(cudart::stream_in(c, id, &s));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(s), id);
  }
  cudaEvent_t e = reinterpret_cast<cudaEvent_t>(0x1234);
  EXPECT_TRUE(cudart::event_in(c, 0, &e));
  EXPECT_EQ(e, nullptr);
  EXPECT_EQ(c.status, 0);
}

TEST_F(CudartHandles, OutInReleaseStaleForged) {
  CallContext c = ctx();
  cudaStream_t real = reinterpret_cast<cudaStream_t>(&objs[0]);
  uint64_t id = cudart::stream_out(c, real);
  EXPECT_EQ(handle_kind_of(id), HandleKind::kStream);
  cudaStream_t s = nullptr;
  ASSERT_TRUE(cudart::stream_in(c, id, &s));
  EXPECT_EQ(s, real);
  ASSERT_TRUE(cudart::stream_release(c, id, &s));
  EXPECT_EQ(s, real);
  EXPECT_EQ(c.status, 0);

  EXPECT_FALSE(cudart::stream_in(c, id, &s));
  EXPECT_EQ(c.status, cudaErrorInvalidResourceHandle);
  c.status = 0;
  EXPECT_FALSE(cudart::stream_release(c, id, &s));
  EXPECT_EQ(c.status, cudaErrorInvalidResourceHandle);

  EXPECT_FAULT(cudart::stream_in(c, id + 1000, &s), "forged stream handle 0x1000000000003e9");
  EXPECT_FAULT(cudart::stream_release(c, 77, &s), "forged stream handle 0x4d");

  cudaEvent_t ev = reinterpret_cast<cudaEvent_t>(&objs[1]);
  uint64_t eid = cudart::event_out(c, ev);
  EXPECT_FAULT(cudart::stream_in(c, eid, &s),
               "forged stream handle 0x200000000000002");  // an event is no stream
  cudaEvent_t e2 = nullptr;
  ASSERT_TRUE(cudart::event_in(c, eid, &e2));
  EXPECT_EQ(e2, ev);
  ASSERT_TRUE(cudart::event_release(c, eid, &e2));
  c.status = 0;
  EXPECT_FALSE(cudart::event_in(c, eid, &e2));
  EXPECT_EQ(c.status, cudaErrorInvalidResourceHandle);
}

TEST(SessionState, OnePerTypeSharedByThreads) {
  struct Modules {
    std::mutex mu;
    int loaded = 0;
  };
  Session s(ClientInfo{}, SessionOptions{false});
  Modules* first = &s.state<Modules>();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) {
        Modules& m = s.state<Modules>();
        std::lock_guard<std::mutex> g(m.mu);
        ++m.loaded;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(&s.state<Modules>(), first);
  EXPECT_EQ(first->loaded, 4000);
  EXPECT_EQ(s.state<int>(), 0);
  s.state<int>() = 5;
  EXPECT_EQ(s.state<int>(), 5);
}

}  // namespace
}  // namespace gvirtus::backend
