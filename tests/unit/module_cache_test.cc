// The worker's module cache (backend/cudart/module_cache.h) and the gvModuleLoad operations
// that use it: what a client can and cannot make the worker read, write or load.
#include "backend/cudart/module_cache.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "backend/control.h"
#include "backend/worker.h"
#include "expect_fault.h"
#include "frontend/cudart/modules.h"

namespace gvirtus::backend::cudart {
void handle_gvModuleLoad(CallContext&);
}

namespace gvirtus::testing {
namespace {

namespace be = gvirtus::backend;
namespace bc = gvirtus::backend::cudart;

class ModuleCache : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gvirtus-module-cache-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    bc::set_module_cache({});
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
  void enable(uint64_t max_bytes, const std::string& identity = "token:a", bool shared = false) {
    bc::set_module_cache({dir_, max_bytes, shared, identity});
    ASSERT_TRUE(bc::module_cache_enabled());
  }
  std::string file_of(const std::vector<uint8_t>& bytes, const std::string& identity = "token:a",
                      bool shared = false) {
    return dir_ + "/" + bc::module_cache_scope(identity, shared) + "/" +
           hex(sha256(bytes.data(), bytes.size()));
  }
  static std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
  }
  static bool exists(const std::string& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0;
  }
  std::string dir_;
};

TEST_F(ModuleCache, KeepsAndReturnsABytesByDigest) {
  enable(1 << 20);
  auto a = bytes(1000, 1);
  const Digest d = sha256(a.data(), a.size());
  EXPECT_EQ(bc::module_cache_get(d, a.size()), nullptr);
  bc::module_cache_put(a.data(), a.size());
  EXPECT_TRUE(exists(file_of(a)));
  auto got = bc::module_cache_get(d, a.size());
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(std::memcmp(got.get(), a.data(), a.size()), 0);
  EXPECT_EQ(bc::module_cache_get(d, a.size() + 1), nullptr);  // a size that is not the file's
}

TEST_F(ModuleCache, AFileThatDoesNotMatchItsNameIsAMissAndGoes) {
  enable(1 << 20);
  auto a = bytes(1000, 1);
  bc::module_cache_put(a.data(), a.size());
  const std::string f = file_of(a);
  {
    std::fstream out(f, std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(500);
    out.put(static_cast<char>(a[500] ^ 1));  // same size, other contents
  }
  EXPECT_EQ(bc::module_cache_get(sha256(a.data(), a.size()), a.size()), nullptr);
  EXPECT_FALSE(exists(f));
}

TEST_F(ModuleCache, EachIdentityHasItsOwnUnlessShared) {
  auto a = bytes(100, 3);
  const Digest d = sha256(a.data(), a.size());
  enable(1 << 20, "token:a");
  bc::module_cache_put(a.data(), a.size());
  enable(1 << 20, "token:b");
  EXPECT_EQ(bc::module_cache_get(d, a.size()), nullptr);
  EXPECT_NE(bc::module_cache_scope("token:a", false), bc::module_cache_scope("token:b", false));
  enable(1 << 20, "token:a");
  EXPECT_NE(bc::module_cache_get(d, a.size()), nullptr);
  enable(1 << 20, "token:b", /*shared=*/true);
  bc::module_cache_put(a.data(), a.size());
  enable(1 << 20, "token:c", /*shared=*/true);
  EXPECT_NE(bc::module_cache_get(d, a.size()), nullptr);
}

TEST_F(ModuleCache, StaysWithinItsBoundDroppingTheLeastRecentlyUsed) {
  enable(300);
  auto a = bytes(128, 1), b = bytes(128, 2), c = bytes(128, 3);
  bc::module_cache_put(a.data(), a.size());
  bc::module_cache_put(b.data(), b.size());
  // Make a older than b, then use a: b is now the least recently used.
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, file_of(a).c_str(), old, 0), 0);
  struct timespec older[2] = {{500, 0}, {500, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, file_of(b).c_str(), older, 0), 0);
  ASSERT_NE(bc::module_cache_get(sha256(a.data(), a.size()), a.size()), nullptr);
  bc::module_cache_put(c.data(), c.size());
  EXPECT_TRUE(exists(file_of(a)));
  EXPECT_FALSE(exists(file_of(b)));
  EXPECT_TRUE(exists(file_of(c)));
  auto big = bytes(301, 4);  // over the bound by itself: never kept
  bc::module_cache_put(big.data(), big.size());
  EXPECT_FALSE(exists(file_of(big)));
}

TEST_F(ModuleCache, OffByDefault) {
  EXPECT_FALSE(bc::module_cache_enabled());
  auto a = bytes(10, 1);
  bc::module_cache_put(a.data(), a.size());
  EXPECT_EQ(bc::module_cache_get(sha256(a.data(), a.size()), a.size()), nullptr);
}

class ModuleCacheHandler : public ModuleCache {
 protected:
  int32_t run(const wire::Writer& w, std::vector<uint8_t>* out = nullptr) {
    wire::FrameHeader hdr;
    hdr.kind = static_cast<uint16_t>(wire::Kind::kRequest);
    hdr.length = static_cast<uint32_t>(w.size());
    be::CallContext ctx{session_, conn_, hdr, wire::Reader(w.data(), w.size()), wire::Writer()};
    bc::handle_gvModuleLoad(ctx);
    if (out) out->assign(ctx.out.data(), ctx.out.data() + ctx.out.size());
    return ctx.status;
  }
  static wire::Writer cached(const Digest& d, uint64_t size) {
    wire::Writer w;
    w.put<uint8_t>(gvirtus::cudart::kModuleCached);
    w.put_bytes(d.data(), d.size());
    w.put<uint64_t>(size);
    return w;
  }
  be::Session session_{be::ClientInfo{}, be::SessionOptions{false}};
  be::ConnState conn_{session_, 0};
};

TEST_F(ModuleCacheHandler, HostileLookupsEndTheSession) {
  Digest d{};
  EXPECT_FAULT(run(cached(d, 0)), "cached module of 0 bytes");
  EXPECT_FAULT(run(cached(d, 3ull << 30)),
               "cached module of 3221225472 bytes");  // over the module limit
  wire::Writer cut;
  cut.put<uint8_t>(gvirtus::cudart::kModuleCached);
  cut.put_bytes(d.data(), 20);
  EXPECT_FAULT(run(cut), "payload too short: wanted 32 bytes, 20 left");
  wire::Writer longer = cached(d, 10);
  longer.put<uint8_t>(0);
  EXPECT_FAULT(run(longer), "1 unexpected bytes at the end of the payload");
  wire::Writer targets;
  targets.put<uint8_t>(gvirtus::cudart::kModuleTargets);
  targets.put<uint8_t>(0);
  EXPECT_FAULT(run(targets), "1 unexpected bytes at the end of the payload");
}

TEST_F(ModuleCacheHandler, AMissIsAnsweredWithIdZero) {
  std::vector<uint8_t> out;
  auto a = bytes(64, 9);
  // Without a cache, and with one that does not hold it: "not cached", nothing loaded.
  EXPECT_EQ(run(cached(sha256(a.data(), a.size()), a.size()), &out), 0);
  EXPECT_EQ(out, std::vector<uint8_t>(8, 0));
  enable(1 << 20);
  EXPECT_EQ(run(cached(sha256(a.data(), a.size()), a.size()), &out), 0);
  EXPECT_EQ(out, std::vector<uint8_t>(8, 0));
}

TEST_F(ModuleCacheHandler, AHitIsLoadedAndAFailedLoadIsNotKept) {
  enable(1 << 20);
  auto a = bytes(64, 9);  // not a module (text with its NUL): CUDA refuses it (or has no device)
  a.back() = 0;
  bc::module_cache_put(a.data(), a.size());
  std::vector<uint8_t> out;
  EXPECT_NE(run(cached(sha256(a.data(), a.size()), a.size()), &out), 0);
  EXPECT_TRUE(out.empty());
  // An upload that does not load is not kept.
  auto b = bytes(64, 10);
  b.back() = 0;
  wire::Writer whole;
  whole.put<uint8_t>(gvirtus::cudart::kModuleWhole);
  whole.put<uint64_t>(b.size());
  whole.put_bytes(b.data(), b.size());
  EXPECT_NE(run(whole), 0);
  EXPECT_FALSE(exists(file_of(b)));
}

TEST_F(ModuleCacheHandler, TargetsNeedADevice) {
  wire::Writer w;
  w.put<uint8_t>(gvirtus::cudart::kModuleTargets);
  std::vector<uint8_t> out;
  const int32_t status = run(w, &out);
  // Without a GPU the worker cannot say; with one it names each device (at least one).
  if (status != 0) {
    EXPECT_TRUE(out.empty());
  } else {
    ASSERT_GE(out.size(), 1u + 4u + 8u);
    uint32_t n;
    std::memcpy(&n, out.data() + 1, 4);
    EXPECT_EQ(out.size(), 1u + 4u + 8u * n);
  }
}

}  // namespace
}  // namespace gvirtus::testing
