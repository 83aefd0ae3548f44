// The whole handler table under fuzzing on every build (tests/fuzz/serve_calls.h): the corpus
// in tests/fuzz/corpus replayed, then a bounded run of mutations of it. The libFuzzer target
// (tests/fuzz/handlers_fuzz.cc) runs the same entry point for longer, with sanitizers and
// coverage feedback. What must hold for every input: the session ends as the serve loop ends
// a session (input used up, or a malformed request or forged handle: kProtocol), never with a
// handler failure (an exception other than those: kFailed), never a crash or a hang; and
// nothing the session made is left that no call can destroy.
//
// GVIRTUS_FUZZ_SECONDS sets the bounded run's length (default 20), GVIRTUS_FUZZ_SEED its inputs.
// GVIRTUS_FUZZ_WRITE_CORPUS=DIR makes HandlerFuzz.WriteCorpus (re)generate the seeds into DIR
// (docs/fuzzing.md): for each handler, the shortest all-zero payload it takes as well formed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstring>

#include "backend/plugins.h"
#include "common/log.h"
#include "fuzz/serve_calls.h"

namespace gvirtus::fuzz {
namespace {

namespace fs = std::filesystem;
using backend::HandleKind;

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<uint8_t> u64(uint64_t v) {
  std::vector<uint8_t> b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  return b;
}

uint32_t id_of(const std::string& name) {
  for (uint32_t id : ids())
    if (call_name(id) == name) return id;
  return 0;
}

// What every input must end with (see the top of the file); the input is in the message.
void expect_clean(const Outcome& o, const std::string& what) {
  Code c = o.status.code();
  EXPECT_TRUE(c == Code::kOk || c == Code::kDisconnected || c == Code::kProtocol)
      << what << ": " << o.status.to_string();
  EXPECT_TRUE(o.left_live.empty()) << what << ": a handle of kind "
                                   << (o.left_live.empty() ? 0 : o.left_live[0] >> 56)
                                   << " is left live and the fuzzer cannot destroy it";
}

class HandlerFuzz : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = log::level();
    log::set_level(log::Level::kOff);
    static const bool gpu = gpu_present();
    const char* on_gpu = std::getenv("GVIRTUS_FUZZ_ON_GPU");
    if (gpu && !(on_gpu && std::string(on_gpu) == "1"))
      GTEST_SKIP() << "this machine has an NVIDIA GPU, which random calls would reconfigure "
                      "(NVML setters, resets): set GVIRTUS_FUZZ_ON_GPU=1 to run anyway";
  }
  void TearDown() override { log::set_level(saved_); }
  log::Level saved_;
};

TEST_F(HandlerFuzz, EveryLibraryPluginIsInTheTable) {
  EXPECT_TRUE(missing_plugins().empty()) << missing_plugins().front();
  std::set<std::string> libs;
  for (uint32_t id : ids()) libs.insert(library_name(id));
  EXPECT_TRUE(libs.count("core") && libs.count("cudart") && libs.count("cuda"));
  size_t n = 0;
  const backend::LibraryPlugin* lp = backend::library_plugins(&n);
  for (size_t i = 0; i < n; ++i) EXPECT_TRUE(libs.count(lp[i].name)) << lp[i].name;
  EXPECT_FALSE(libs.count("unknown"));
}

// The handle paths the fuzzer relies on: a stale id answers the library's invalid-handle
// status and the session goes on; a forged one ends it; an unknown call id picks a handler.
TEST_F(HandlerFuzz, StaleForgedAndUnknownIds) {
  uint32_t destroy = id_of("cusparseDestroyMatDescr");
  ASSERT_NE(destroy, 0u);
  std::vector<uint8_t> in;
  append_record(&in, destroy, u64(stale_id(HandleKind::kCusparseMatDescr)));
  append_record(&in, 1, {});  // Ping
  Outcome o = serve_calls(in.data(), in.size());
  EXPECT_EQ(o.status.code(), Code::kDisconnected) << o.status.to_string();
  ASSERT_EQ(o.statuses.size(), 2u);
  EXPECT_EQ(o.statuses[0], 3);  // CUSPARSE_STATUS_INVALID_VALUE
  EXPECT_EQ(o.statuses[1], 0);

  in.clear();
  append_record(&in, destroy, u64(stale_id(HandleKind::kCusparseMatDescr) + 7));  // forged
  append_record(&in, 1, {});
  o = serve_calls(in.data(), in.size());
  EXPECT_EQ(o.status.code(), Code::kProtocol) << o.status.to_string();
  EXPECT_TRUE(o.statuses.empty());

  in.clear();
  append_record(&in, 0xfffffff0u, {1, 2, 3});  // no such id: some handler runs
  o = serve_calls(in.data(), in.size());
  EXPECT_EQ(o.records, 1u);
  expect_clean(o, "unknown id");
}

// Descriptors made inside an input are destroyed between inputs, so a long run does not grow.
TEST_F(HandlerFuzz, WhatAnInputCreatesIsDestroyed) {
  uint32_t create = id_of("cusparseCreateMatDescr");
  ASSERT_NE(create, 0u);
  std::vector<uint8_t> in;
  for (int i = 0; i < 3; ++i) append_record(&in, create, {1});  // the output pointer is given
  Outcome o = serve_calls(in.data(), in.size());
  ASSERT_EQ(o.statuses.size(), 3u) << o.status.to_string();
  EXPECT_EQ(o.statuses[0], 0);  // host-only descriptors: made without a GPU
  EXPECT_EQ(o.destroyed, 3u);
  expect_clean(o, "three descriptors");
}

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(GVIRTUS_FUZZ_CORPUS_DIR))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(HandlerFuzz, CorpusRunsCleanlyAndReachesEveryLibrary) {
  std::map<std::string, size_t> calls_by_lib;  // replies from calls of each library
  for (const auto& p : corpus_files()) {
    std::vector<uint8_t> in = read_file(p);
    Outcome o = serve_calls(in.data(), in.size());
    expect_clean(o, p.string());
    // Seeds are well formed: every record is served.
    EXPECT_EQ(o.statuses.size(), o.records) << p << ": " << o.status.to_string();
    calls_by_lib[p.parent_path().filename().string()] += o.statuses.size();
  }
  size_t n = 0;
  const backend::LibraryPlugin* lp = backend::library_plugins(&n);
  for (size_t i = 0; i < n; ++i) EXPECT_GT(calls_by_lib[lp[i].name], 0u) << lp[i].name;
  EXPECT_GT(calls_by_lib["cudart"], 0u);
  EXPECT_GT(calls_by_lib["cuda"], 0u);
}

// Input number n of the bounded run: a function of n alone, so that a failure names it.
// GVIRTUS_FUZZ_SEED changes the whole sequence (longer runs by hand explore further).
std::vector<uint8_t> make_input(uint64_t n, const std::vector<std::vector<uint8_t>>& corpus) {
  static const uint64_t base = [] {
    const char* s = std::getenv("GVIRTUS_FUZZ_SEED");
    return s ? std::strtoull(s, nullptr, 0) : uint64_t{20261204};
  }();
  std::mt19937_64 rng(base + n * 0x9e3779b97f4a7c15ull);
  const auto& all = ids();
  static const uint64_t kVals[] = {0,          1,          2,          0x7fffffff,
                                   0xffffffff, 0x80000000, 1u << 20,   0xffffffffffffffffull,
                                   stale_id(HandleKind::kCusparseMatDescr),
                                   (uint64_t{67} << 56) | 2, 65536,   4096};
  std::vector<uint8_t> in;
  if (rng() % 4 == 0) {  // a few records of random calls with random or zero payloads
    int records = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < records; ++i) {
      std::vector<uint8_t> body(rng() % 96, 0);
      if (rng() % 2)
        for (auto& b : body) b = static_cast<uint8_t>(rng());
      append_record(&in, all[rng() % all.size()], body);
    }
    return in;
  }
  // A seed with a few edits: flips, interesting values, cuts, splices.
  in = corpus[rng() % corpus.size()];
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !in.empty(); ++e) {
    size_t at = rng() % in.size();
    switch (rng() % 5) {
      case 0: in[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
      case 1: in[at] = static_cast<uint8_t>(rng()); break;
      case 2: {
        uint64_t v = kVals[rng() % (sizeof kVals / sizeof kVals[0])];
        int w = (rng() % 2) ? 8 : 4;
        if (rng() % 2) {  // a handle id: a kind of dispatch.h's ranges, serial 1 (stale) to 9
          static const uint8_t kKindRanges[][2] = {{1, 18}, {32, 60}, {64, 89}, {96, 98}};
          const auto& r = kKindRanges[rng() % 4];
          uint64_t kind = r[0] + rng() % (r[1] - r[0] + 1);
          v = (kind << 56) | (1 + rng() % 9);
          w = 8;
        }
        for (int i = 0; i < w && at + i < in.size(); ++i)
          in[at + i] = static_cast<uint8_t>(v >> (8 * i));
        break;
      }
      case 3: in.resize(at); break;
      case 4: {
        const auto& other = corpus[rng() % corpus.size()];
        size_t from = rng() % other.size();
        in.insert(in.begin() + static_cast<std::ptrdiff_t>(at),
                  other.begin() + static_cast<std::ptrdiff_t>(from),
                  other.begin() + static_cast<std::ptrdiff_t>(std::min(other.size(), from + 256)));
        break;
      }
    }
  }
  return in;
}

// Long enough for a loaded 2-core CI machine loading cuDNN's sub-libraries on first use.
constexpr int kHangMs = 30000;

// Runs one input given as a file, in this process (GVIRTUS_FUZZ_REPLAY=FILE): for a debugger.
TEST_F(HandlerFuzz, Replay) {
  const char* file = std::getenv("GVIRTUS_FUZZ_REPLAY");
  if (!file) GTEST_SKIP() << "GVIRTUS_FUZZ_REPLAY is not set";
  std::vector<uint8_t> in = read_file(file);
  Outcome o = serve_calls(in.data(), in.size());
  for (size_t i = 0; i < o.statuses.size(); ++i) std::printf("reply %zu: %d\n", i, o.statuses[i]);
  expect_clean(o, file);
}

// Runs inputs from number `first` on, in a child process, until `until`: a native NULL crash
// (serve_calls.h) ends the child with kNativeNullCrash and the parent goes on after that input.
// The child reports each finished input's number through the pipe.
TEST_F(HandlerFuzz, RandomAndMutatedCallsForAWhile) {
  std::vector<std::vector<uint8_t>> corpus;
  for (const auto& p : corpus_files()) corpus.push_back(read_file(p));
  ASSERT_FALSE(corpus.empty());
  int seconds = 20;
  if (const char* s = std::getenv("GVIRTUS_FUZZ_SECONDS")) seconds = std::atoi(s);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  const std::string saved = ::testing::TempDir() + "handler_fuzz_failure";
  uint64_t next = 0, runs = 0, native = 0, calls = 0;
  while (std::chrono::steady_clock::now() < until) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      filter_native_null_crashes();
      for (uint64_t n = next; std::chrono::steady_clock::now() < until; ++n) {
        std::vector<uint8_t> in = make_input(n, corpus);
        Outcome o = serve_calls(in.data(), in.size());
        Code c = o.status.code();
        if (!(c == Code::kOk || c == Code::kDisconnected || c == Code::kProtocol) ||
            !o.left_live.empty()) {
          std::ofstream(saved, std::ios::binary)
              .write(reinterpret_cast<const char*>(in.data()),
                     static_cast<std::streamsize>(in.size()));
          std::fprintf(stderr, "input %llu (saved in %s): %s; %zu handles left live\n",
                       static_cast<unsigned long long>(n), saved.c_str(),
                       o.status.to_string().c_str(), o.left_live.size());
          _exit(1);
        }
        uint64_t done[2] = {n, o.statuses.size()};
        (void)!write(fds[1], done, sizeof done);
      }
      _exit(0);
    }
    close(fds[1]);
    uint64_t done[2];
    uint64_t last = next;
    bool any = false;
    bool hung = false;
    for (;;) {
      // An input that runs for kHang is a hang: a finding like a crash.
      struct pollfd p = {fds[0], POLLIN, 0};
      if (poll(&p, 1, kHangMs) == 0) {
        hung = true;
        kill(pid, SIGKILL);
        break;
      }
      if (read(fds[0], done, sizeof done) != static_cast<ssize_t>(sizeof done)) break;
      last = done[0];
      any = true;
      calls += done[1];
      ++runs;
    }
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (hung) {
      uint64_t n = any ? last + 1 : next;
      std::vector<uint8_t> in = make_input(n, corpus);
      std::ofstream(saved, std::ios::binary)
          .write(reinterpret_cast<const char*>(in.data()), static_cast<std::streamsize>(in.size()));
      FAIL() << "input " << n << " of the bounded run hangs; its bytes: " << saved;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) break;
    if (WIFEXITED(st) && WEXITSTATUS(st) == kNativeNullCrash) {
      ++native;
      next = (any ? last + 1 : next) + 1;  // past the input that crashed
      continue;
    }
    uint64_t failed = any ? last + 1 : next;
    FAIL() << "input " << failed << " of the bounded run failed (status " << st
           << "); its bytes: " << saved << " (or make_input(" << failed << "))";
  }
  std::printf("handler fuzz: %llu inputs, %llu calls answered, %llu native NULL crashes, %d s\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(calls),
              static_cast<unsigned long long>(native), seconds);
  EXPECT_GT(runs, 100u);
}

// Seed generation (not a check): for every handler, the shortest all-zero payload that is not
// refused as malformed, grouped by library into files of at most kMaxRecords records. A
// create call (one that makes a handle the session did not have) comes first in its
// library's files, with its output pointer given (the payload's first byte 1), so that the
// calls after it find a live handle of its kind at serial 2, 3, ... (handlers.dict).
TEST_F(HandlerFuzz, WriteCorpus) {
  const char* dir = std::getenv("GVIRTUS_FUZZ_WRITE_CORPUS");
  if (!dir) GTEST_SKIP() << "GVIRTUS_FUZZ_WRITE_CORPUS is not set";
  std::map<std::string, std::vector<std::vector<uint8_t>>> records;  // library -> records
  std::map<std::string, std::vector<std::vector<uint8_t>>> creates;
  size_t none = 0, made = 0, native = 0;
  // Each handler is probed in a child process: a crash there is a finding, named here.
  for (uint32_t id : ids()) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      filter_native_null_crashes();
      for (size_t len = 0; len <= 512; ++len) {
        std::vector<uint8_t> rec;
        append_record(&rec, id, std::vector<uint8_t>(len, 0));
        Outcome o = serve_calls(rec.data(), rec.size());
        if (o.statuses.size() != 1) continue;
        std::vector<uint8_t> create;
        if (len > 0) {
          std::vector<uint8_t> body(len, 0);
          body[0] = 1;
          append_record(&create, id, body);
          o = serve_calls(create.data(), create.size());
          if (o.statuses.size() != 1 || o.destroyed == 0) create.clear();
        }
        uint32_t sizes[2] = {static_cast<uint32_t>(rec.size()),
                             static_cast<uint32_t>(create.size())};
        (void)!write(fds[1], sizes, sizeof sizes);
        (void)!write(fds[1], rec.data(), rec.size());
        (void)!write(fds[1], create.data(), create.size());
        break;
      }
      _exit(0);
    }
    close(fds[1]);
    std::vector<uint8_t> got;
    uint8_t buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) got.insert(got.end(), buf, buf + n);
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == kNativeNullCrash) {
      ++native;
      std::printf("native NULL crash: %s (%u) with an all-zero payload\n",
                  call_name(id).c_str(), id);
      continue;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      ADD_FAILURE() << call_name(id) << " (" << id << ") fails with an all-zero payload: status "
                    << st;
      continue;
    }
    if (got.size() < 8) {
      ++none;
      continue;
    }
    uint32_t sizes[2];
    std::memcpy(sizes, got.data(), sizeof sizes);
    records[library_name(id)].emplace_back(got.begin() + 8, got.begin() + 8 + sizes[0]);
    if (sizes[1]) {
      creates[library_name(id)].emplace_back(got.begin() + 8 + sizes[0], got.end());
      ++made;
    }
  }
  for (auto& [lib, recs] : records) {
    auto& c = creates[lib];
    // A few creates ahead of each file's calls (the files hold kMaxRecords records at most).
    if (c.size() > 8) c.resize(8);
    std::vector<std::vector<uint8_t>> out;
    for (size_t i = 0; i < recs.size(); i += kMaxRecords - c.size()) {
      out.insert(out.end(), c.begin(), c.end());
      out.insert(out.end(), recs.begin() + static_cast<std::ptrdiff_t>(i),
                 recs.begin() + static_cast<std::ptrdiff_t>(
                                    std::min(recs.size(), i + kMaxRecords - c.size())));
    }
    recs = out;
  }
  size_t files = 0;
  for (const auto& [lib, recs] : records) {
    fs::create_directories(fs::path(dir) / lib);
    for (size_t i = 0; i < recs.size(); i += kMaxRecords) {
      std::vector<uint8_t> in;
      for (size_t j = i; j < std::min(recs.size(), i + kMaxRecords); ++j)
        in.insert(in.end(), recs[j].begin(), recs[j].end());
      char name[32];
      std::snprintf(name, sizeof name, "zero-%03zu", i / kMaxRecords);
      std::ofstream(fs::path(dir) / lib / name, std::ios::binary)
          .write(reinterpret_cast<const char*>(in.data()), static_cast<std::streamsize>(in.size()));
      ++files;
    }
  }
  std::printf("%zu files; %zu handlers take no all-zero payload; %zu create a handle; %zu crash "
              "natively on a NULL\n", files, none, made, native);
}

}  // namespace
}  // namespace gvirtus::fuzz
