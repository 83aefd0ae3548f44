// A fixture for the tests that call one backend handler directly with a request payload, as the
// serve loop does, against a session of its own that touches no CUDA buffers.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "backend/worker.h"
#include "common/wire.h"
#include "expect_fault.h"

namespace gvirtus::testing {

class HandlerTest : public ::testing::Test {
 protected:
  // Runs h on the payload w; the call's status, and its reply payload in *out. `ticket`: the
  // request header's (client-chosen ids are named by it).
  int32_t run(backend::Handler h, const wire::Writer& w, std::vector<uint8_t>* out = nullptr,
              uint64_t ticket = 0) {
    wire::FrameHeader hdr;
    hdr.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    wire::set_ticket(&hdr, ticket);
    hdr.length = static_cast<uint32_t>(w.size());
    backend::CallContext ctx{session_, conn_, hdr, wire::Reader(w.data(), w.size()),
                             wire::Writer()};
    h(ctx);
    if (out) out->assign(ctx.out.data(), ctx.out.data() + ctx.out.size());
    return ctx.status;
  }
  // A live id of `kind` for a dummy object: only for requests that fail before the library is
  // reached (the same id each time for one kind).
  uint64_t live(backend::HandleKind kind) {
    static int dummy = 0;
    return session_.handles().add(kind, &dummy);
  }
  // An id of `kind` that was issued and released (a new one each time).
  uint64_t stale(backend::HandleKind kind) {
    static int dummy = 0;
    const uint64_t id = session_.handles().add(kind, &dummy);
    void* p = nullptr;
    EXPECT_TRUE(session_.handles().remove(kind, id, &p));
    return id;
  }
  backend::Session session_{backend::ClientInfo{}, backend::SessionOptions{false}};
  backend::ConnState conn_{session_, 0};
};

}  // namespace gvirtus::testing
