// Host memory shared over shm: (docs/zero-copy.md): descriptors passed on an shm: stream's
// socket beside its doorbells, and the worker's handlers (gvShmHostRegister,
// gvShmHostUnregister, gvMemcpyShared) against honest and hostile clients. Without a GPU the
// CUDA calls fail (the block stays unpinned), but every check before them is the worker's own.
#include <cuda_runtime_api.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "backend/dispatch.h"
#include "backend/worker.h"
#include "backend_process.h"
#include "common/shared_host_wire.h"
#include "common/transport.h"
#include "common/transport_shm.h"
#include "expect_fault.h"
#include "frontend/core/parallel_copy.h"

namespace gvirtus::backend::cudart {
void handle_gvShmHostRegister(CallContext&);
void handle_gvShmHostUnregister(CallContext&);
void handle_gvMemcpyShared(CallContext&);
}  // namespace gvirtus::backend::cudart

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace shw = gvirtus::shared_host_wire;

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// A memfd of `bytes`, sealed as the client seals it unless told otherwise.
int make_memfd(size_t bytes, unsigned seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) {
  int fd = ::memfd_create("test-host", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(bytes)), 0);
  if (seals) {
    EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, seals), 0);
  }
  return fd;
}

TEST(SharedHostFds, PassedBesideDoorbellsInOrder) {
  std::unique_ptr<Stream> backend, client;
  ASSERT_TRUE(shm_stream_pair(&backend, &client, 1u << 16));
  int a = make_memfd(kPage), b = make_memfd(2 * kPage);
  // Doorbell bytes before and between: the reader must keep the descriptors apart from them.
  const char bell = 1;
  ASSERT_EQ(::send(client->fd(), &bell, 1, 0), 1);
  ASSERT_TRUE(shm_send_fd(*client, a));
  ASSERT_EQ(::send(client->fd(), &bell, 1, 0), 1);
  ASSERT_TRUE(shm_send_fd(*client, b));
  int ga = shm_take_fd(*backend, 1000), gb = shm_take_fd(*backend, 1000);
  ASSERT_GE(ga, 0);
  ASSERT_GE(gb, 0);
  struct stat sa{}, sb{};
  ASSERT_EQ(::fstat(ga, &sa), 0);
  ASSERT_EQ(::fstat(gb, &sb), 0);
  EXPECT_EQ(static_cast<size_t>(sa.st_size), kPage);  // in the order sent
  EXPECT_EQ(static_cast<size_t>(sb.st_size), 2 * kPage);
  EXPECT_EQ(shm_take_fd(*backend, 50), -1);  // none left: waits, then gives up
  for (int f : {a, b, ga, gb}) ::close(f);
}

TEST(SharedHostFds, OnlyAFewAreKeptUntilTaken) {
  std::unique_ptr<Stream> backend, client;
  ASSERT_TRUE(shm_stream_pair(&backend, &client, 1u << 16));
  int fd = make_memfd(kPage);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(shm_send_fd(*client, fd));
  int taken = 0;
  for (int f; (f = shm_take_fd(*backend, 100)) >= 0; ++taken) ::close(f);
  EXPECT_EQ(taken, 16);  // the rest were closed on arrival
  ::close(fd);
}

TEST(SharedHostFds, OtherStreamsCannotPassThem) {
  std::unique_ptr<Stream> a, b;
  ASSERT_TRUE(stream_pair(&a, &b));
  EXPECT_EQ(shm_send_fd(*a, 0).code(), Code::kUnimplemented);
  EXPECT_EQ(shm_take_fd(*b, 10), -1);
}

class SharedHostHandlers : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(shm_stream_pair(&backend_, &client_, 1u << 16));
    conn_.set_stream_for_test(backend_.get());
  }
  void TearDown() override { conn_.set_stream_for_test(nullptr); }

  int32_t run(be::Handler h, const wire::Writer& w, std::vector<uint8_t>* out = nullptr) {
    wire::FrameHeader hdr;
    hdr.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    hdr.length = static_cast<uint32_t>(w.size());
    be::CallContext ctx{session_, conn_, hdr, wire::Reader(w.data(), w.size()), wire::Writer()};
    h(ctx);
    if (out) out->assign(ctx.out.data(), ctx.out.data() + ctx.out.size());
    return ctx.status;
  }
  // Passes fd (when >= 0) and registers `announced` bytes; the block id, or 0 on a failure
  // status (*status).
  uint64_t reg(int fd, uint64_t announced, int32_t* status = nullptr) {
    if (fd >= 0) {
      EXPECT_TRUE(shm_send_fd(*client_, fd));
    }
    wire::Writer w;
    w.put<uint64_t>(announced);
    std::vector<uint8_t> out;
    int32_t st = run(be::cudart::handle_gvShmHostRegister, w, &out);
    if (status) *status = st;
    if (st != 0) return 0;
    EXPECT_EQ(out.size(), 8u);
    uint64_t id = 0;
    std::memcpy(&id, out.data(), 8);
    return id;
  }
  static wire::Writer copy(uint64_t region, uint64_t offset, uint64_t hpitch, uint64_t width,
                           uint64_t rows, uint32_t flags, uint64_t dpitch = 0) {
    wire::Writer w;
    w.put<uint64_t>(region);
    w.put<uint64_t>(offset);
    w.put<uint64_t>(hpitch);
    w.put<uint64_t>(0x7f0000000000ull);  // a device address (never dereferenced here)
    w.put<uint64_t>(dpitch ? dpitch : hpitch);
    w.put<uint64_t>(width);
    w.put<uint64_t>(rows);
    w.put<uint64_t>(0);  // the legacy stream
    w.put<uint32_t>(flags);
    return w;
  }
  static wire::Writer id_only(uint64_t id) {
    wire::Writer w;
    w.put<uint64_t>(id);
    return w;
  }

  std::unique_ptr<Stream> backend_, client_;
  be::Session session_{be::ClientInfo{}, be::SessionOptions{false}};
  be::ConnState conn_{session_, 0};
};

TEST_F(SharedHostHandlers, RegisterCopyUnregister) {
  int fd = make_memfd(4 * kPage);
  uint64_t id = reg(fd, 4 * kPage);
  ::close(fd);
  ASSERT_NE(id, 0u);
  // In range: the handler gets as far as CUDA (which fails here without a GPU, as a status).
  EXPECT_NO_THROW(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, 4 * kPage, 4 * kPage, 1, 0)));
  EXPECT_NO_THROW(run(be::cudart::handle_gvMemcpyShared,
                      copy(id, kPage, kPage, 100, 3, shw::kCopyToHost | shw::kCopyWait)));
  // The last byte of the block, and no further.
  EXPECT_NO_THROW(run(be::cudart::handle_gvMemcpyShared, copy(id, 4 * kPage - 1, 1, 1, 1, 0)));
  // Its status is the devices' synchronisation (which fails without a GPU); the block is gone.
  EXPECT_NO_THROW(run(be::cudart::handle_gvShmHostUnregister, id_only(id)));
  // Freed: the worker no longer knows the block, whatever the client sends.
  EXPECT_EQ(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, 16, 16, 1, 0)),
            cudaErrorInvalidValue);
  EXPECT_EQ(run(be::cudart::handle_gvShmHostUnregister, id_only(id)), cudaErrorInvalidValue);
  // Ids are not reused.
  fd = make_memfd(kPage);
  uint64_t id2 = reg(fd, kPage);
  ::close(fd);
  EXPECT_NE(id2, id);
  EXPECT_EQ(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, 16, 16, 1, 0)),
            cudaErrorInvalidValue);
}

TEST_F(SharedHostHandlers, NoDescriptorEndsTheSession) {
  EXPECT_FAULT(reg(-1, kPage), "gvShmHostRegister without a passed memory descriptor");
}

TEST_F(SharedHostHandlers, UnsealedMemoryEndsTheSession) {
  int fd = make_memfd(kPage, 0);  // could be truncated under the worker: refused
  EXPECT_FAULT(reg(fd, kPage),
               "gvShmHostRegister: the passed memory is not sealed against resizing");
  ::close(fd);
  fd = make_memfd(kPage, F_SEAL_GROW);  // shrinking still possible
  EXPECT_FAULT(reg(fd, kPage),
               "gvShmHostRegister: the passed memory is not sealed against resizing");
  ::close(fd);
}

TEST_F(SharedHostHandlers, SealedMemoryCannotBeTruncatedAfterwards) {
  int fd = make_memfd(2 * kPage);
  uint64_t id = reg(fd, 2 * kPage);
  ASSERT_NE(id, 0u);
  // The client's attempt to pull the pages from under the worker fails.
  EXPECT_NE(::ftruncate(fd, 0), 0);
  EXPECT_EQ(errno, EPERM);
  ::close(fd);
}

TEST_F(SharedHostHandlers, SizeLiesEndTheSession) {
  int fd = make_memfd(2 * kPage);
  EXPECT_FAULT(reg(fd, 4 * kPage),
               "gvShmHostRegister: 16384 bytes announced, the memory holds 8192");  // more than the
                                                                                    // memory holds
  EXPECT_FAULT(
      reg(fd, kPage),
      "gvShmHostRegister: 4096 bytes announced, the memory holds 8192");  // less: also a lie
  EXPECT_FAULT(reg(fd, 2 * kPage + 1),
               "gvShmHostRegister: 8193 bytes announced, the memory holds 8192");
  EXPECT_FAULT(reg(fd, 0), "gvShmHostRegister: 0 bytes announced, the memory holds 8192");
  ::close(fd);
}

TEST_F(SharedHostHandlers, DescriptorsThatAreNotMemoryFilesEndTheSession) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  EXPECT_FAULT(reg(p[0], kPage), "gvShmHostRegister: the passed descriptor is not a memory file");
  ::close(p[0]);
  ::close(p[1]);
  // A socket.
  EXPECT_FAULT(reg(client_->fd(), kPage),
               "gvShmHostRegister: the passed descriptor is not a memory file");
  // A regular file on disk: not sealable.
  char path[] = "/tmp/gvshXXXXXX";
  int f = ::mkstemp(path);
  ASSERT_GE(f, 0);
  ::unlink(path);
  ASSERT_EQ(::ftruncate(f, static_cast<off_t>(kPage)), 0);
  EXPECT_FAULT(reg(f, kPage),
               "gvShmHostRegister: the passed memory is not sealed against resizing");
  ::close(f);
}

TEST_F(SharedHostHandlers, RangesOutsideTheBlockEndTheSession) {
  int fd = make_memfd(2 * kPage);
  uint64_t id = reg(fd, 2 * kPage);
  ::close(fd);
  ASSERT_NE(id, 0u);
  const uint64_t big = 2 * kPage;
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, big + 1, big + 1, 1, 0)),
               "gvMemcpyShared of 8193 bytes at offset 0 of a block of 8192");
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, copy(id, big, 1, 1, 1, 0)),
               "gvMemcpyShared of 1 bytes at offset 8192 of a block of 8192");
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, copy(id, ~0ull, 2, 2, 1, 0)),
               "gvMemcpyShared of 2 bytes at offset 18446744073709551615 of a block of 8192");
  // Rows: (rows - 1) * hpitch + width past the end, and a pitch that wraps around.
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, kPage, 16, 3, 0)),
               "gvMemcpyShared of 8208 bytes at offset 0 of a block of 8192");
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, 1ull << 63, 16, 3, 0)),
               "gvMemcpyShared whose host rows wrap around");
  // A pitch below the width, no bytes, unknown flags.
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, 8, 16, 2, 0)),
               "gvMemcpyShared with a pitch below its width");
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, 16, 16, 2, 0, 8)),
               "gvMemcpyShared with a pitch below its width");
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, 0, 0, 1, 0)),
               "gvMemcpyShared of no bytes");
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, copy(id, 0, 16, 16, 1, 4)),
               "gvMemcpyShared with unknown flags 4");
  // Trailing bytes.
  wire::Writer w = copy(id, 0, 16, 16, 1, 0);
  w.put<uint8_t>(0);
  EXPECT_FAULT(run(be::cudart::handle_gvMemcpyShared, w),
               "1 unexpected bytes at the end of the payload");
}

TEST_F(SharedHostHandlers, BlocksPerSessionAreBounded) {
  int fd = make_memfd(kPage);
  int32_t st = 0;
  size_t n = 0;
  for (; n < 5000; ++n) {
    if (reg(fd, kPage, &st) == 0) break;
  }
  ::close(fd);
  EXPECT_EQ(n, 4096u);
  EXPECT_EQ(st, cudaErrorMemoryAllocation);  // the client falls back to ordinary memory
}

// Through the real daemon and worker: the descriptor reaches the worker after the daemon
// handed the connection over, and a lie ends only that session.
class SharedHostDaemon : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void start(std::vector<std::string> env) {
    backend_.reset();
    if (dir_.empty()) {
      char tmpl[] = "/tmp/gvshXXXXXX";
      dir_ = mkdtemp(tmpl);
      shm_ = "shm:" + dir_ + "/gv.shm";
    }
    backend_ = std::make_unique<Backend>(std::vector<std::string>{"--listen", shm_}, -1, env);
    ASSERT_TRUE(backend_->ready()) << backend_->log();
  }
  void TearDown() override {
    backend_.reset();
    unlink((dir_ + "/gv.shm").c_str());
    rmdir(dir_.c_str());
  }
  static std::vector<uint8_t> u64(uint64_t v) {
    std::vector<uint8_t> b(8);
    std::memcpy(b.data(), &v, 8);
    return b;
  }
  static std::vector<uint8_t> copy_payload(uint64_t region, uint64_t offset, uint64_t width) {
    wire::Writer w;
    for (uint64_t v : {region, offset, width, uint64_t{0x7f0000000000ull}, width, width,
                       uint64_t{1}, uint64_t{0}})
      w.put<uint64_t>(v);
    w.put<uint32_t>(0);
    return w.buffer();
  }
  std::unique_ptr<Backend> backend_;
  std::string dir_, shm_;
};

TEST_F(SharedHostDaemon, WorkerMapsThePassedMemoryAndRefusesRangesOutsideIt) {
  Raw c(shm_);
  ASSERT_EQ(c.handshake(test_hello(61)).status, wire::kWelcomeOk);
  int fd = make_memfd(2 * kPage);
  ASSERT_TRUE(c.pass_fd(fd));
  ::close(fd);
  ASSERT_TRUE(c.send(request_frame(shw::kCallRegister, 1, u64(2 * kPage))));
  wire::FrameHeader h;
  std::vector<uint8_t> p;
  ASSERT_TRUE(c.read_frame(&h, &p));
  ASSERT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  ASSERT_EQ(h.status, 0) << backend_->log();
  ASSERT_EQ(p.size(), 8u);
  uint64_t id = 0;
  std::memcpy(&id, p.data(), 8);
  EXPECT_NE(id, 0u);
  // Inside the block: CUDA's answer (no GPU here), the session goes on.
  ASSERT_TRUE(c.send(request_frame(shw::kCallCopy, 2, copy_payload(id, kPage, kPage))));
  ASSERT_TRUE(c.read_frame(&h, &p));
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  EXPECT_TRUE(c.ping(3));
  // One byte past its end: the session ends.
  ASSERT_TRUE(c.send(request_frame(shw::kCallCopy, 4, copy_payload(id, kPage, kPage + 1))));
  std::string said;
  EXPECT_TRUE(c.closed_by_peer(&said));
  EXPECT_NE(said.find("gvMemcpyShared"), std::string::npos) << said;
}

TEST_F(SharedHostDaemon, AFreedBlockIsNoLongerTheWorkers) {
  Raw c(shm_);
  ASSERT_EQ(c.handshake(test_hello(63)).status, wire::kWelcomeOk);
  int fd = make_memfd(kPage);
  ASSERT_TRUE(c.pass_fd(fd));
  ::close(fd);
  ASSERT_TRUE(c.send(request_frame(shw::kCallRegister, 1, u64(kPage))));
  wire::FrameHeader h;
  std::vector<uint8_t> p;
  ASSERT_TRUE(c.read_frame(&h, &p));
  ASSERT_EQ(h.status, 0);
  ASSERT_EQ(p.size(), 8u);
  uint64_t id = 0;
  std::memcpy(&id, p.data(), 8);
  ASSERT_TRUE(c.send(request_frame(shw::kCallUnregister, 2, u64(id))));
  ASSERT_TRUE(c.read_frame(&h, &p));
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  // A copy naming it now is refused, and the session goes on.
  ASSERT_TRUE(c.send(request_frame(shw::kCallCopy, 3, copy_payload(id, 0, 64))));
  ASSERT_TRUE(c.read_frame(&h, &p));
  EXPECT_EQ(h.kind, static_cast<uint16_t>(wire::Kind::kReply));
  EXPECT_EQ(h.status, cudaErrorInvalidValue);
  EXPECT_TRUE(c.ping(4));
}

TEST_F(SharedHostDaemon, TheOperatorsLimitIsKept) {
  // 2 pages per session: a block of 2 fits, a third page does not (the client would then use
  // ordinary memory), and 0 shares nothing.
  start({"GVIRTUS_SHARED_HOST_LIMIT=" + std::to_string(2 * kPage)});
  for (int round = 0; round < 2; ++round) {
    Raw c(shm_);
    ASSERT_EQ(c.handshake(test_hello(static_cast<uint8_t>(64 + round))).status, wire::kWelcomeOk);
    int32_t want[2] = {0, cudaErrorMemoryAllocation};
    if (round == 1) want[0] = cudaErrorMemoryAllocation;
    for (int i = 0; i < 2; ++i) {
      int fd = make_memfd((i + 1) * kPage);
      ASSERT_TRUE(c.pass_fd(fd));
      ::close(fd);
      ASSERT_TRUE(c.send(request_frame(shw::kCallRegister, i + 1, u64((i + 1) * kPage))));
      wire::FrameHeader h;
      std::vector<uint8_t> p;
      ASSERT_TRUE(c.read_frame(&h, &p));
      EXPECT_EQ(h.status, i == 0 ? (round == 0 ? 0 : want[0]) : want[1]) << round << " " << i;
    }
    EXPECT_TRUE(c.ping(9));
    if (round == 0) {
      c.close();
      start({"GVIRTUS_SHARED_HOST_LIMIT=0"});
    }
  }
}

TEST_F(SharedHostDaemon, UnsealedMemoryEndsTheSession) {
  Raw c(shm_);
  ASSERT_EQ(c.handshake(test_hello(62)).status, wire::kWelcomeOk);
  int fd = make_memfd(kPage, 0);
  ASSERT_TRUE(c.pass_fd(fd));
  ASSERT_TRUE(c.send(request_frame(shw::kCallRegister, 1, u64(kPage))));
  std::string said;
  EXPECT_TRUE(c.closed_by_peer(&said));
  EXPECT_NE(said.find("sealed"), std::string::npos) << said;
  ::close(fd);
}

// The staging pipeline's memcpy: every byte lands, whatever the size and alignment, also from
// several threads at once (one gets the helpers, the others copy alone) and in a forked child
// (no helpers there: it must not wait for them).
TEST(ParallelCopy, EveryByteLandsForOddSizesThreadsAndForks) {
  const size_t n = (9u << 20) + 77;
  std::vector<uint8_t> src(n);
  for (size_t i = 0; i < n; ++i) src[i] = static_cast<uint8_t>(i * 31 + (i >> 13));
  for (size_t len : {size_t{1}, size_t{4096}, size_t{(1u << 20) - 1}, size_t{1u << 20},
                     size_t{(4u << 20) + 3}, n - 5}) {
    std::vector<uint8_t> dst(n + 16, 0xee);
    client::parallel_memcpy(dst.data() + 3, src.data() + 5, len);
    ASSERT_EQ(std::memcmp(dst.data() + 3, src.data() + 5, len), 0) << len;
    EXPECT_EQ(dst[2], 0xee);
    EXPECT_EQ(dst[3 + len], 0xee) << len;
  }
  std::vector<std::thread> ts;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      std::vector<uint8_t> dst(n);
      bool good = true;
      for (int r = 0; r < 20; ++r) {
        std::memset(dst.data(), 0, n);
        client::parallel_memcpy(dst.data(), src.data(), n);
        good &= std::memcmp(dst.data(), src.data(), n) == 0;
      }
      ok[t] = good;
    });
  for (auto& t : ts) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(ok[t]) << t;
  pid_t child = fork();
  if (child == 0) {
    std::vector<uint8_t> dst(n);
    client::parallel_memcpy(dst.data(), src.data(), n);
    _exit(std::memcmp(dst.data(), src.data(), n) == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace gvirtus::testing
