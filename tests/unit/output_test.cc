// The worker's output capture (device printf) and its Output frames, ahead of the reply.
#include "backend/output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "backend/control.h"
#include "backend/worker.h"
#include "common/log.h"
#include "test_streams.h"

namespace gvirtus::backend {
namespace {

using namespace std::chrono_literals;

// An fd of our own to capture, standing for the worker's stdout.
int g_fd = -1;
constexpr uint32_t kPrint = 700;
void print(CallContext& c) {
  std::string s = c.in.get_string(100);
  c.in.expect_end();
  ASSERT_EQ(::write(g_fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}
const HandlerEntry kHandlers[] = {{kPrint, "Print", &print}};

TEST(OutputCapture, TakeReturnsWhatWasWrittenOnce) {
  g_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(g_fd, 0);
  auto* cap = new OutputCapture;  // its reader thread lives on: never freed
  ASSERT_TRUE(cap->start(g_fd));
  std::string out;
  cap->take(&out);
  EXPECT_EQ(out, "");
  ASSERT_EQ(::write(g_fd, "one ", 4), 4);
  ASSERT_EQ(::write(g_fd, "two\n", 4), 4);
  cap->take(&out);
  EXPECT_EQ(out, "one two\n");  // already in the pipe: take() drains it itself
  cap->take(&out);
  EXPECT_EQ(out, "");

  // The serve loop sends what a call printed as Output frames before its reply.
  Registry reg;
  register_core_plugin(reg);
  reg.add_plugin("print", kHandlers, 1);
  Session session{ClientInfo{}, SessionOptions{false}};
  session.set_output(cap);
  std::unique_ptr<Stream> client, server;
  ASSERT_TRUE(stream_pair(&client, &server));
  auto done = std::async(std::launch::async, [&] {
    ConnState conn(session, 0);
    return serve_connection(session, conn, *server, reg);
  });
  wire::Writer w;
  w.put_string("hello from the device\n");
  auto req = testing::request_frame(kPrint, 1, w.buffer());
  struct iovec iov = {req.data(), req.size()};
  ASSERT_TRUE(client->send(&iov, 1));
  wire::FrameHeader h;
  ASSERT_TRUE(recv_header(*client, wire::kMaxPayload, &h));
  ASSERT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kOutput));
  std::string text(h.length, '\0');
  ASSERT_TRUE(client->recv(&text[0], text.size()));
  EXPECT_EQ(text, "hello from the device\n");
  ASSERT_TRUE(recv_header(*client, wire::kMaxPayload, &h));
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  EXPECT_EQ(h.request_id, 1u);
  client.reset();
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
}


// While one request waits on the GPU (it gave its turn up inside its handler, as a
// synchronisation does: the driver flushes device printf output during it), another
// connection's quick reply leaves the captured output alone; the waiting request's reply
// carries it, before the reply, so the thread that synchronised sees it first.
std::mutex g_gate;
void wait_on_gpu(CallContext& c) {
  c.in.expect_end();
  release_order(c);
  std::lock_guard<std::mutex> g(g_gate);  // held by the test while "the GPU" works
}
void quick(CallContext& c) { c.in.expect_end(); }
constexpr uint32_t kWaitOnGpu = 701, kQuick = 702;
const HandlerEntry kWaitHandlers[] = {{kWaitOnGpu, "WaitOnGpu", &wait_on_gpu},
                                      {kQuick, "Quick", &quick}};

TEST(OutputCapture, AWaitingRequestsOutputGoesWithItsOwnReply) {
  const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto* cap = new OutputCapture;  // its reader thread lives on: never freed
  ASSERT_TRUE(cap->start(fd));
  Registry reg;
  register_core_plugin(reg);
  reg.add_plugin("wait", kWaitHandlers, 2);
  Session session{ClientInfo{}, SessionOptions{true}};
  session.set_output(cap);
  std::unique_ptr<Stream> client_a, server_a, client_b, server_b;
  ASSERT_TRUE(stream_pair(&client_a, &server_a));
  ASSERT_TRUE(stream_pair(&client_b, &server_b));
  auto serve = [&](Stream& s, uint64_t id) {
    return std::async(std::launch::async, [&, id] {
      ConnState conn(session, id);
      return serve_connection(session, conn, s, reg);
    });
  };
  auto done_a = serve(*server_a, 1);
  auto done_b = serve(*server_b, 2);
  auto send = [](Stream& s, uint32_t call, uint64_t request, uint64_t ticket) {
    wire::FrameHeader h;
    h.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    h.call_id = call;
    h.request_id = request;
    wire::set_ticket(&h, ticket);
    auto req = testing::frame_bytes(h, {});
    struct iovec iov = {req.data(), req.size()};
    ASSERT_TRUE(s.send(&iov, 1));
  };
  std::unique_lock<std::mutex> gpu(g_gate);
  // Whatever fails below, the worker's threads are let go (the futures wait for them).
  struct Cleanup {
    std::unique_lock<std::mutex>& gpu;
    std::unique_ptr<Stream>& a;
    std::unique_ptr<Stream>& b;
    ~Cleanup() {
      if (gpu.owns_lock()) gpu.unlock();
      a.reset();
      b.reset();
    }
  } cleanup{gpu, client_a, client_b};
  send(*client_a, kWaitOnGpu, 1, 1);
  // A waits in its handler: its turn is given up, so B's request (ticket 2) runs.
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(::write(fd, "printed during A's wait\n", 24), 24);
  send(*client_b, kQuick, 2, 2);
  wire::FrameHeader h;
  ASSERT_TRUE(recv_header(*client_b, wire::kMaxPayload, &h));
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply)) << "B's reply took A's output";
  gpu.unlock();
  ASSERT_TRUE(recv_header(*client_a, wire::kMaxPayload, &h));
  if (h.kind == static_cast<uint16_t>(wire::Kind::kOutput)) {
    std::string text(h.length, '\0');
    ASSERT_TRUE(client_a->recv(&text[0], text.size()));
    EXPECT_EQ(text, "printed during A's wait\n");
    ASSERT_TRUE(recv_header(*client_a, wire::kMaxPayload, &h));
  } else {
    ADD_FAILURE() << "A's reply came without the output printed during its wait";
  }
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  // A's count ends once its server thread is done with the request, just after the reply.
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (session.gpu_waiters() != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(session.gpu_waiters(), 0);
}

// output_pending, the serve loop's look before each reply, must see whatever was printed before
// it, whether the bytes are still in the pipe or the reader thread has taken them meanwhile.
TEST(OutputCapture, PendingSeesEveryWriteUntilItIsTaken) {
  const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto* cap = new OutputCapture;  // its reader thread lives on: never freed
  ASSERT_TRUE(cap->start(fd));
  std::string out;
  cap->take(&out);
  EXPECT_FALSE(output_pending(cap, nullptr));
  EXPECT_FALSE(output_pending(nullptr, nullptr));

  // Left long enough for the reader thread to move the bytes out of the pipe.
  ASSERT_EQ(::write(fd, "late", 4), 4);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(output_pending(nullptr, cap));
  cap->take(&out);
  EXPECT_EQ(out, "late");
  EXPECT_FALSE(output_pending(cap, nullptr));

  // Looked at right after each write, while the reader thread races for the bytes.
  // (A look right after take() may say yes while the reader thread wakes for bytes take()
  // already had: that only costs a take() that finds nothing, so it is not checked here.)
  int missed = 0;
  std::string all, want;
  for (int i = 0; i < 2000; ++i) {
    const std::string text = std::to_string(i) + ";";
    want += text;
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    if (!output_pending(cap, nullptr)) ++missed;
    cap->take(&out);
    all += out;
  }
  EXPECT_EQ(missed, 0);
  EXPECT_EQ(all, want);
}

}  // namespace
}  // namespace gvirtus::backend
