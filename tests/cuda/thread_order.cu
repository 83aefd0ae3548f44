// Work one thread queued without waiting is seen by another thread that starts afterwards:
// the main thread launches many slow kernels (<<<>>> returns at once), then a new thread copies
// the counter they bump. The legacy default stream orders the copy after every launch made
// before it, so natively the copy sees them all. Through GVirtuS the new thread has a
// connection of its own; its first call must not overtake launches still in flight on the main
// thread's connection. Then two long-lived threads take turns, as PyTorch's main and autograd
// threads do: one launches and hands over, the other copies what the launches left and
// launches in turn; every copy must see every launch made before the hand-over.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "check.h"

__global__ void bump(int* counter, long long spin) {
  long long t0 = clock64();
  while (clock64() - t0 < spin) {
  }
  atomicAdd(counter, 1);
}

int main() {
  const int n = 2000;
  int* counter = nullptr;
  CHECK(cudaMalloc(&counter, sizeof(int)));
  CHECK(cudaMemset(counter, 0, sizeof(int)));
  CHECK(cudaDeviceSynchronize());
  for (int i = 0; i < n; ++i) bump<<<1, 1>>>(counter, 20000);
  int seen = -1;
  std::thread reader([&] {
    CHECK(cudaMemcpy(&seen, counter, sizeof(int), cudaMemcpyDeviceToHost));
  });
  reader.join();
  std::printf("the new thread saw %d of %d launches\n", seen, n);
  // And the other way round: a launch made by a thread that then ends is seen by the main
  // thread's next copy.
  std::thread launcher([&] { bump<<<1, 1>>>(counter, 20000); });
  launcher.join();
  CHECK(cudaMemcpy(&seen, counter, sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("after the launcher thread: %d\n", seen);
  bool ok = seen == n + 1;

  // Ping-pong: on each turn the thread whose turn it is first checks that it sees every launch
  // made so far (by either thread), then launches `per_turn` more and hands over.
  const int rounds = 200, per_turn = 5;
  CHECK(cudaMemset(counter, 0, sizeof(int)));
  std::mutex mu;
  std::condition_variable cv;
  int turn = 0, launched = 0, wrong = 0;
  auto player = [&](int me) {
    for (int r = 0; r < rounds; ++r) {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return turn % 2 == me; });
      int now = -1;
      CHECK(cudaMemcpy(&now, counter, sizeof(int), cudaMemcpyDeviceToHost));
      if (now != launched) ++wrong;
      for (int i = 0; i < per_turn; ++i) bump<<<1, 1>>>(counter, 2000);
      launched += per_turn;
      ++turn;
      cv.notify_all();
    }
  };
  std::thread a(player, 0), b(player, 1);
  a.join();
  b.join();
  CHECK(cudaMemcpy(&seen, counter, sizeof(int), cudaMemcpyDeviceToHost));
  std::printf("ping-pong: %d turns, %d saw a launch missing, final count %d of %d\n",
              2 * rounds, wrong, seen, launched);
  ok = ok && wrong == 0 && seen == launched;
  CHECK(cudaGetLastError());
  CHECK(cudaFree(counter));
  return verdict(ok);
}
