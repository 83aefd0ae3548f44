// Test helper: one connection of a worker session served on a stream pair, on a thread of its
// own as the worker serves it (order_test.cc, lanes_test.cc).
#pragma once
#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "backend/worker.h"
#include "common/transport.h"

namespace gvirtus::testing {

// Serves connection `id` of `session` with `registry`; *done gets how the connection ended.
// Returns the client end.
inline std::unique_ptr<Stream> serve_on_pair(backend::Session& session, uint64_t id,
                                             const backend::Registry& registry,
                                             std::future<Status>* done) {
  std::unique_ptr<Stream> client, server;
  EXPECT_TRUE(stream_pair(&client, &server));
  Stream* raw = server.release();
  *done = std::async(std::launch::async, [&session, &registry, id, raw] {
    std::unique_ptr<Stream> s(raw);
    backend::ConnState conn(session, id);
    Status st = backend::serve_connection(session, conn, *s, registry);
    session.conn_closed(conn);
    return st;
  });
  return client;
}

// Closes both client ends and checks that each served connection then ended cleanly: without
// an error, or at the client's close.
inline void close_and_expect_clean_ends(std::unique_ptr<Stream>& c1, std::unique_ptr<Stream>& c2,
                                        std::future<Status>& d1, std::future<Status>& d2) {
  c1.reset();
  c2.reset();
  for (auto* d : {&d1, &d2}) {
    Status st = d->get();
    EXPECT_TRUE(st.is_ok() || st.code() == Code::kDisconnected) << st.to_string();
  }
}

}  // namespace gvirtus::testing
