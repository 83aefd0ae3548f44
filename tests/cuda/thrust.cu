// A program built on NVIDIA's Thrust and CUB (code written elsewhere): device vectors, sort,
// reduce, transform, scan, and copies back to the host.
#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/functional.h>
#include <thrust/host_vector.h>
#include <thrust/reduce.h>
#include <thrust/scan.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <thrust/transform.h>

#include <cstdio>

struct square {
  __host__ __device__ long long operator()(int x) const { return 1LL * x * x; }
};

int main() {
  const int n = 1 << 20;
  thrust::host_vector<int> h(n);
  unsigned s = 12345;
  for (int i = 0; i < n; ++i) {
    s = s * 1103515245u + 12345u;
    h[i] = static_cast<int>((s >> 8) % 1000003);
  }
  thrust::device_vector<int> d = h;
  thrust::sort(d.begin(), d.end());
  std::printf("sorted: first %d, middle %d, last %d, ordered %s\n", static_cast<int>(d[0]),
              static_cast<int>(d[n / 2]), static_cast<int>(d[n - 1]),
              thrust::is_sorted(d.begin(), d.end()) ? "yes" : "no");
  long long sum = thrust::reduce(d.begin(), d.end(), 0LL);
  std::printf("sum %lld\n", sum);
  thrust::device_vector<long long> sq(n);
  thrust::transform(d.begin(), d.end(), sq.begin(), square());
  std::printf("sum of squares %lld\n", thrust::reduce(sq.begin(), sq.end(), 0LL));
  thrust::device_vector<int> seq(1000);
  thrust::sequence(seq.begin(), seq.end(), 1);
  thrust::inclusive_scan(seq.begin(), seq.end(), seq.begin());
  thrust::host_vector<int> back = seq;
  std::printf("scan: %d %d %d\n", back[0], back[9], back[999]);
  thrust::sort(d.begin(), d.end(), thrust::greater<int>());
  std::printf("descending first %d\n", static_cast<int>(d[0]));
  return 0;
}
