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

}  // namespace gvirtus::testing
