// Host callbacks: cudaLaunchHostFunc and cudaStreamAddCallback run the program's function with
// its user data, in stream order, across streams ordered by events; work queued behind a
// callback waits for it; synchronisation returns only after the callbacks before it ran.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "check.h"

__global__ void add(int* p, int n, int v) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) p[i] += v;
}

static std::mutex g_mu;
static std::vector<std::string> g_log;

static void CUDART_CB log_fn(void* user) {
  std::lock_guard<std::mutex> g(g_mu);
  g_log.push_back(static_cast<const char*>(user));
}

struct StreamTag {
  cudaStream_t expect;
  const char* name;
};

static void CUDART_CB stream_cb(cudaStream_t s, cudaError_t status, void* user) {
  auto* t = static_cast<StreamTag*>(user);
  std::lock_guard<std::mutex> g(g_mu);
  g_log.push_back(std::string(t->name) + (s == t->expect ? " stream=ok " : " stream=WRONG ") +
                  cudaGetErrorName(status));
}

static std::atomic<int> g_flag{0};
static void CUDART_CB slow_fn(void* user) {
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  g_flag.store(*static_cast<int*>(user));
}

static std::atomic<int> g_count{0};
static void CUDART_CB count_fn(void* user) { g_count.fetch_add(*static_cast<int*>(user)); }

static void print_log(const char* title) {
  std::lock_guard<std::mutex> g(g_mu);
  std::printf("%s:", title);
  for (auto& s : g_log) std::printf(" [%s]", s.c_str());
  std::printf("\n");
  g_log.clear();
}

int main() {
  const int n = 1 << 16;
  int* d = nullptr;
  CHECK(cudaMalloc(&d, n * sizeof(int)));
  CHECK(cudaMemset(d, 0, n * sizeof(int)));
  cudaStream_t s1, s2;
  CHECK(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  CHECK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  cudaEvent_t ev;
  CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));

  // 1. Order across two streams: s2 waits for an event recorded on s1 after s1's callbacks,
  // and s2's own slow callback comes before its later one.
  static char a[] = "s1 first", c[] = "s2 after event", e2[] = "s2 last";
  StreamTag tag{s1, "s1 stream callback"};
  add<<<n / 256, 256, 0, s1>>>(d, n, 1);
  CHECK(cudaLaunchHostFunc(s1, log_fn, a));
  add<<<n / 256, 256, 0, s1>>>(d, n, 2);
  CHECK(cudaStreamAddCallback(s1, stream_cb, &tag, 0));
  CHECK(cudaEventRecord(ev, s1));
  CHECK(cudaStreamWaitEvent(s2, ev, 0));
  CHECK(cudaLaunchHostFunc(s2, log_fn, c));
  add<<<n / 256, 256, 0, s2>>>(d, n, 4);
  CHECK(cudaLaunchHostFunc(s2, log_fn, e2));
  CHECK(cudaDeviceSynchronize());
  print_log("order");
  std::vector<int> h(n);
  CHECK(cudaMemcpy(h.data(), d, n * sizeof(int), cudaMemcpyDeviceToHost));
  bool sums = true;
  for (int i = 0; i < n; ++i) sums &= h[i] == 7;
  std::printf("kernels around callbacks: %s\n", sums ? "ok" : "WRONG");

  // 2. A slow callback holds back what is queued behind it; the stream reports busy meanwhile,
  // and cudaStreamSynchronize returns only after it ran.
  int value = 42;
  cudaEvent_t t0, t1;
  CHECK(cudaEventCreate(&t0));
  CHECK(cudaEventCreate(&t1));
  CHECK(cudaEventRecord(t0, s1));
  CHECK(cudaLaunchHostFunc(s1, slow_fn, &value));
  add<<<1, 1, 0, s1>>>(d, 1, 100);
  CHECK(cudaEventRecord(t1, s1));
  cudaError_t q = cudaStreamQuery(s1);
  std::printf("query while the callback sleeps: %s\n", cudaGetErrorName(q));
  std::printf("flag before sync: %d\n", g_flag.load());
  CHECK(cudaStreamSynchronize(s1));
  std::printf("flag after sync: %d\n", g_flag.load());
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, t0, t1));
  std::printf("kernel behind the callback waited: %s\n", ms >= 300.0f ? "yes" : "no");
  int first = 0;
  CHECK(cudaMemcpy(&first, d, sizeof first, cudaMemcpyDeviceToHost));
  std::printf("d[0] = %d\n", first);

  // 3. The legacy default stream and cudaDeviceSynchronize; a stream callback on it.
  g_flag.store(0);
  int value2 = 7;
  CHECK(cudaLaunchHostFunc(0, slow_fn, &value2));
  CHECK(cudaDeviceSynchronize());
  std::printf("flag after device sync: %d\n", g_flag.load());
  StreamTag tag0{0, "default stream callback"};
  CHECK(cudaStreamAddCallback(0, stream_cb, &tag0, 0));
  CHECK(cudaStreamSynchronize(0));
  print_log("default stream");

  // 4. Many callbacks on two streams, each with its own user data.
  std::vector<int> vals(200);
  int expect = 0;
  for (int i = 0; i < 200; ++i) {
    vals[i] = i + 1;
    expect += i + 1;
    CHECK(cudaLaunchHostFunc(i % 2 ? s1 : s2, count_fn, &vals[i]));
  }
  CHECK(cudaStreamSynchronize(s1));
  CHECK(cudaStreamSynchronize(s2));
  std::printf("200 callbacks: sum %d (expected %d)\n", g_count.load(), expect);

  // 5. Callbacks from a second application thread, on its own stream.
  std::thread t([&] {
    cudaStream_t s3;
    CHECK(cudaStreamCreate(&s3));
    static char x[] = "from thread";
    add<<<n / 256, 256, 0, s3>>>(d, n, 1);
    CHECK(cudaLaunchHostFunc(s3, log_fn, x));
    CHECK(cudaStreamSynchronize(s3));
    CHECK(cudaStreamDestroy(s3));
  });
  t.join();
  print_log("thread");

  // 6. Errors.
  REPORT(cudaLaunchHostFunc(s1, nullptr, nullptr));
  REPORT(cudaStreamAddCallback(s1, stream_cb, &tag, 1));
  REPORT(cudaGetLastError());

  CHECK(cudaEventDestroy(ev));
  CHECK(cudaEventDestroy(t0));
  CHECK(cudaEventDestroy(t1));
  CHECK(cudaStreamDestroy(s1));
  CHECK(cudaStreamDestroy(s2));
  CHECK(cudaFree(d));
  return verdict(sums && g_count.load() == expect);
}
