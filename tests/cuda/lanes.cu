// Launches from several threads, each on its own non-blocking stream (sent laned through
// GVirtuS, docs/protocol.md "Lanes", and so run at the same time on the worker), keep every
// order CUDA promises:
//   1. each stream runs its launches in order (<<<>>>, cudaLaunchKernel, cudaLaunchKernelEx);
//   2. an event recorded after a launch on one thread's stream, waited for on another thread's
//      stream, orders the second thread's launch after the first's;
//   3. one non-blocking stream used by two threads in turn (handed over on the host, no CUDA
//      synchronisation between) keeps the order of its launches across the threads;
//   4. an async copy on the stream, and a stream destroyed right after its launches, see or
//      finish every launch before them.
// Prints only counts, so a run through GVirtuS diffs against the native one.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "check.h"

// Advances *slot from `expect` to expect + 1; anything else is an order violation, counted.
__global__ void step(int* slot, int expect, int* bad, long long spin) {
  long long t0 = clock64();
  while (clock64() - t0 < spin) {
  }
  if (*slot == expect) *slot = expect + 1;
  else atomicAdd(bad, 1);
}

// Copies *flag into *out after a while (the producer of test 2).
__global__ void produce(int* flag, int value, long long spin) {
  long long t0 = clock64();
  while (clock64() - t0 < spin) {
  }
  *(volatile int*)flag = value;
}
__global__ void consume(const int* flag, int* out) { *out = *(volatile const int*)flag; }

int main() {
  constexpr int kThreads = 4, kEach = 500;
  int* dev = nullptr;  // kThreads slots, then `bad`, then scratch
  CHECK(cudaMalloc(&dev, 64 * sizeof(int)));
  CHECK(cudaMemset(dev, 0, 64 * sizeof(int)));
  CHECK(cudaDeviceSynchronize());
  int* bad = dev + 32;
  bool ok = true;

  // 1. Each thread on its own non-blocking stream, three launch forms in turn.
  {
    std::vector<std::thread> threads;
    std::vector<int> seen(kThreads, -1);
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        cudaStream_t s;
        CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
        int* slot = dev + t;
        long long spin = 2000;
        for (int i = 0; i < kEach; ++i) {
          if (i % 3 == 0) {
            step<<<1, 1, 0, s>>>(slot, i, bad, spin);
          } else if (i % 3 == 1) {
            int expect = i;
            void* args[] = {&slot, &expect, &bad, &spin};
            CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(step), dim3(1), dim3(1), args,
                                   0, s));
          } else {
            cudaLaunchConfig_t cfg = {};
            cfg.gridDim = dim3(1);
            cfg.blockDim = dim3(1);
            cfg.stream = s;
            cudaLaunchAttribute attr[1];
            attr[0].id = cudaLaunchAttributePriority;
            attr[0].val.priority = 0;
            cfg.attrs = attr;
            cfg.numAttrs = 1;
            CHECK(cudaLaunchKernelEx(&cfg, step, slot, i, bad, spin));
          }
        }
        // 4a. An async copy on the same stream sees every launch before it.
        int* host = nullptr;
        CHECK(cudaMallocHost(&host, sizeof(int)));
        CHECK(cudaMemcpyAsync(host, slot, sizeof(int), cudaMemcpyDeviceToHost, s));
        CHECK(cudaStreamSynchronize(s));
        seen[t] = *host;
        CHECK(cudaFreeHost(host));
        CHECK(cudaStreamDestroy(s));
      });
    for (auto& th : threads) th.join();
    int correct = 0;
    for (int t = 0; t < kThreads; ++t) correct += seen[t] == kEach;
    std::printf("1. own streams: %d of %d threads saw all %d launches in order\n", correct,
                kThreads, kEach);
    ok = ok && correct == kThreads;
  }

  // 2. Cross-thread order through an event: the consumer's stream waits for the producer's.
  {
    constexpr int kRounds = 100;
    int* flag = dev + 40;
    int* out = dev + 41;
    cudaStream_t sa, sb;
    CHECK(cudaStreamCreateWithFlags(&sa, cudaStreamNonBlocking));
    CHECK(cudaStreamCreateWithFlags(&sb, cudaStreamNonBlocking));
    cudaEvent_t ev;
    CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
    std::mutex mu;
    std::condition_variable cv;
    // 2r - 1: round r's event is recorded; 2r: round r was checked (the next may begin).
    int phase = 0;
    int wrong = 0;
    std::thread producer([&] {
      for (int r = 1; r <= kRounds; ++r) {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return phase == 2 * (r - 1); });
        produce<<<1, 1, 0, sa>>>(flag, r, 20000);
        CHECK(cudaEventRecord(ev, sa));
        phase = 2 * r - 1;
        cv.notify_all();
      }
    });
    std::thread consumer([&] {
      int* host = nullptr;
      CHECK(cudaMallocHost(&host, sizeof(int)));
      for (int r = 1; r <= kRounds; ++r) {
        {
          std::unique_lock<std::mutex> l(mu);
          cv.wait(l, [&] { return phase == 2 * r - 1; });
        }
        // Without the wait, consume would read the previous round's value: produce spins first.
        CHECK(cudaStreamWaitEvent(sb, ev, 0));
        consume<<<1, 1, 0, sb>>>(flag, out);
        CHECK(cudaMemcpyAsync(host, out, sizeof(int), cudaMemcpyDeviceToHost, sb));
        CHECK(cudaStreamSynchronize(sb));
        if (*host != r) ++wrong;
        std::lock_guard<std::mutex> l(mu);
        phase = 2 * r;
        cv.notify_all();
      }
      CHECK(cudaFreeHost(host));
    });
    producer.join();
    consumer.join();
    CHECK(cudaEventDestroy(ev));
    CHECK(cudaStreamDestroy(sa));
    CHECK(cudaStreamDestroy(sb));
    std::printf("2. event hand-over: %d rounds, %d saw a stale value\n", kRounds, wrong);
    ok = ok && wrong == 0;
  }

  // 3. One non-blocking stream, two threads launching on it in turn.
  {
    constexpr int kTurns = 200, kPerTurn = 3;
    int* slot = dev + 42;
    cudaStream_t s;
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    std::mutex mu;
    std::condition_variable cv;
    int turn = 0, launched = 0;
    auto player = [&](int me) {
      for (int r = 0; r < kTurns; ++r) {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return turn % 2 == me; });
        for (int i = 0; i < kPerTurn; ++i) step<<<1, 1, 0, s>>>(slot, launched++, bad, 3000);
        ++turn;
        cv.notify_all();
      }
    };
    std::thread a(player, 0), b(player, 1);
    a.join();
    b.join();
    // 4b. Destroyed with launches pending: they still finish, and in order.
    for (int i = 0; i < 50; ++i) step<<<1, 1, 0, s>>>(slot, launched++, bad, 3000);
    CHECK(cudaStreamDestroy(s));
    CHECK(cudaDeviceSynchronize());
    int final_count = -1;
    CHECK(cudaMemcpy(&final_count, slot, sizeof(int), cudaMemcpyDeviceToHost));
    std::printf("3. shared stream: %d of %d launches ran, in stream order\n", final_count,
                launched);
    ok = ok && final_count == launched;
  }

  int violations = -1;
  CHECK(cudaMemcpy(&violations, bad, sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("order violations seen on the GPU: %d\n", violations);
  ok = ok && violations == 0;
  CHECK(cudaGetLastError());
  CHECK(cudaFree(dev));
  return verdict(ok);
}
