// cuBLAS (libcublas.so.13): levels 1, 2 and 3 in S/D/C/Z with scalars and results in host and
// in device memory (both pointer modes), batched and strided-batched gemm (pointer arrays in
// device memory), cublasGemmEx & co. in fp16, bf16 and TF32, the matrix and vector copies with
// strides and leading dimensions (and their Async forms on a stream), streams, workspace, math
// mode, versions, status names, and calls that must fail with the same status as natively.
//
// Every status is printed. Every numeric result is checked against a CPU reference (in double)
// with a tolerance (PASS/FAIL, exit 1 if any fails) and printed: a sum and a few elements, and an
// FNV-1a hash of the output's raw bytes. The same GPU and library give the same bits natively and
// through GVirtuS, so the printed lines must match exactly.
#include <cublas_v2.h>

#include "blas_common.h"

namespace {

// cuBLAS statuses: printed as "what: CUBLAS_STATUS_..."; CUBLAS() also stops the program (exit 1)
// when the call did not succeed.
cublasStatus_t breport(const std::string& what, cublasStatus_t s) {
  std::printf("%s: %s\n", what.c_str(), cublasGetStatusName(s));
  return s;
}
void bcheck(const std::string& what, cublasStatus_t s, int line) {
  breport(what, s);
  if (s == CUBLAS_STATUS_SUCCESS) return;
  std::printf("FAILED line %d: %s: %s (%s)\n", line, what.c_str(), cublasGetStatusName(s),
              cublasGetStatusString(s));
  std::exit(1);
}
#define CUBLAS(what, call) bcheck((what), (call), __LINE__)
#define BREPORT(what, call) breport((what), (call))

// ---- the four types ---------------------------------------------------------------------

template <class T> struct Ty;
template <> struct Ty<float> {
  using R = float;
  static constexpr char tag = 'S';
  static constexpr bool cplx = false;
  static constexpr int prec = 6;
  static constexpr double tol = 2e-4;
  static cd get(float v) { return v; }
  static float make(cd v) { return static_cast<float>(v.real()); }
  static constexpr auto axpy = cublasSaxpy;
  static constexpr auto scal = cublasSscal;
  static constexpr auto dot = cublasSdot;
  static constexpr auto dotu = cublasSdot;
  static constexpr auto nrm2 = cublasSnrm2;
  static constexpr auto asum = cublasSasum;
  static constexpr auto iamax = cublasIsamax;
  static constexpr auto copy = cublasScopy;
  static constexpr auto swap = cublasSswap;
  static constexpr auto rot = cublasSrot;
  static constexpr auto gemv = cublasSgemv;
  static constexpr auto ger = cublasSger;
  static constexpr auto gerc = cublasSger;
  static constexpr auto symv = cublasSsymv;
  static constexpr auto trsv = cublasStrsv;
  static constexpr auto gemm = cublasSgemm;
  static constexpr auto symm = cublasSsymm;
  static constexpr auto trsm = cublasStrsm;
  static constexpr auto syrk = cublasSsyrk;
};
template <> struct Ty<double> {
  using R = double;
  static constexpr char tag = 'D';
  static constexpr bool cplx = false;
  static constexpr int prec = 12;
  static constexpr double tol = 1e-10;
  static cd get(double v) { return v; }
  static double make(cd v) { return v.real(); }
  static constexpr auto axpy = cublasDaxpy;
  static constexpr auto scal = cublasDscal;
  static constexpr auto dot = cublasDdot;
  static constexpr auto dotu = cublasDdot;
  static constexpr auto nrm2 = cublasDnrm2;
  static constexpr auto asum = cublasDasum;
  static constexpr auto iamax = cublasIdamax;
  static constexpr auto copy = cublasDcopy;
  static constexpr auto swap = cublasDswap;
  static constexpr auto rot = cublasDrot;
  static constexpr auto gemv = cublasDgemv;
  static constexpr auto ger = cublasDger;
  static constexpr auto gerc = cublasDger;
  static constexpr auto symv = cublasDsymv;
  static constexpr auto trsv = cublasDtrsv;
  static constexpr auto gemm = cublasDgemm;
  static constexpr auto symm = cublasDsymm;
  static constexpr auto trsm = cublasDtrsm;
  static constexpr auto syrk = cublasDsyrk;
};
template <> struct Ty<cuComplex> {
  using R = float;
  static constexpr char tag = 'C';
  static constexpr bool cplx = true;
  static constexpr int prec = 6;
  static constexpr double tol = 2e-4;
  static cd get(cuComplex v) { return {v.x, v.y}; }
  static cuComplex make(cd v) {
    return make_cuComplex(static_cast<float>(v.real()), static_cast<float>(v.imag()));
  }
  static constexpr auto axpy = cublasCaxpy;
  static constexpr auto scal = cublasCscal;
  static constexpr auto dot = cublasCdotc;
  static constexpr auto dotu = cublasCdotu;
  static constexpr auto nrm2 = cublasScnrm2;
  static constexpr auto asum = cublasScasum;
  static constexpr auto iamax = cublasIcamax;
  static constexpr auto copy = cublasCcopy;
  static constexpr auto swap = cublasCswap;
  static constexpr auto rot = cublasCrot;
  static constexpr auto gemv = cublasCgemv;
  static constexpr auto ger = cublasCgeru;
  static constexpr auto gerc = cublasCgerc;
  static constexpr auto symv = cublasCsymv;
  static constexpr auto trsv = cublasCtrsv;
  static constexpr auto gemm = cublasCgemm;
  static constexpr auto symm = cublasCsymm;
  static constexpr auto trsm = cublasCtrsm;
  static constexpr auto syrk = cublasCsyrk;
};
template <> struct Ty<cuDoubleComplex> {
  using R = double;
  static constexpr char tag = 'Z';
  static constexpr bool cplx = true;
  static constexpr int prec = 12;
  static constexpr double tol = 1e-10;
  static cd get(cuDoubleComplex v) { return {v.x, v.y}; }
  static cuDoubleComplex make(cd v) { return make_cuDoubleComplex(v.real(), v.imag()); }
  static constexpr auto axpy = cublasZaxpy;
  static constexpr auto scal = cublasZscal;
  static constexpr auto dot = cublasZdotc;
  static constexpr auto dotu = cublasZdotu;
  static constexpr auto nrm2 = cublasDznrm2;
  static constexpr auto asum = cublasDzasum;
  static constexpr auto iamax = cublasIzamax;
  static constexpr auto copy = cublasZcopy;
  static constexpr auto swap = cublasZswap;
  static constexpr auto rot = cublasZrot;
  static constexpr auto gemv = cublasZgemv;
  static constexpr auto ger = cublasZgeru;
  static constexpr auto gerc = cublasZgerc;
  static constexpr auto symv = cublasZsymv;
  static constexpr auto trsv = cublasZtrsv;
  static constexpr auto gemm = cublasZgemm;
  static constexpr auto symm = cublasZsymm;
  static constexpr auto trsm = cublasZtrsm;
  static constexpr auto syrk = cublasZsyrk;
};

// Device memory for n elements of T.
template <class T> struct Dev {
  T* p = nullptr;
  size_t n;
  explicit Dev(size_t count) : n(count) { CHECK(cudaMalloc(&p, n * sizeof(T))); }
  ~Dev() { CHECK(cudaFree(p)); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  void put(const std::vector<T>& h) {
    CHECK(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> get() const {
    std::vector<T> h(n);
    CHECK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

template <class T> std::vector<T> random(Lcg& rng, size_t n) {
  std::vector<T> v(n);
  for (auto& e : v) {
    double re = rng.next();
    double im = Ty<T>::cplx ? rng.next() : 0.0;
    e = Ty<T>::make(cd(re, im));
  }
  return v;
}

template <class T> std::vector<cd> wide(const std::vector<T>& v) {
  std::vector<cd> w(v.size());
  for (size_t i = 0; i < v.size(); ++i) w[i] = Ty<T>::get(v[i]);
  return w;
}

// Checks a device result of type T against ref (both the whole buffer, padding included).
template <class T> void verify_dev(const std::string& what, const Dev<T>& d, const std::vector<cd>& ref,
                                   double tol = Ty<T>::tol) {
  std::vector<T> h = d.get();
  verify(what, h.data(), h.size() * sizeof(T), wide(h), ref, tol, Ty<T>::cplx, Ty<T>::prec);
}

// Scalars and results of one pointer mode: in host memory, or in device memory (copied there
// before the call, and back after it).
struct Ctx {
  cublasHandle_t h;
  bool dev;
  const char* mode;
  unsigned char* dslots;
  alignas(16) unsigned char hslots[64 * 16];
  int next = 0;

  unsigned char* slot(size_t size) {
    if (next >= 64 || size > 16) {
      std::printf("FAILED: out of scalar slots\n");
      std::exit(1);
    }
    int i = next++;
    return (dev ? dslots : hslots) + i * 16;
  }
  template <class V> const V* in(const V& v) {
    unsigned char* p = slot(sizeof(V));
    if (dev)
      CHECK(cudaMemcpy(p, &v, sizeof(V), cudaMemcpyHostToDevice));
    else
      std::memcpy(p, &v, sizeof(V));
    return reinterpret_cast<const V*>(p);
  }
  template <class V> V* out() {
    unsigned char* p = slot(sizeof(V));
    if (dev)
      CHECK(cudaMemset(p, 0xee, 16));
    else
      std::memset(p, 0xee, 16);
    return reinterpret_cast<V*>(p);
  }
  template <class V> V read(const V* p) {
    V v;
    if (dev)
      CHECK(cudaMemcpy(&v, p, sizeof(V), cudaMemcpyDeviceToHost));
    else
      std::memcpy(&v, p, sizeof(V));
    return v;
  }
};

template <class T> std::string name(const Ctx& c, const char* what) {
  return std::string(1, Ty<T>::tag) + " " + what + " " + c.mode;
}

// ---- level 1 -----------------------------------------------------------------------------

template <class T> void level1(Ctx& c) {
  using Y = Ty<T>;
  using R = typename Y::R;
  const int n = 1001, incx = 2, incy = 3;
  const size_t nx = 1 + (n - 1) * incx, ny = 1 + (n - 1) * incy;
  Lcg rng(1000 + Y::tag);
  const std::vector<T> x = random<T>(rng, nx), y = random<T>(rng, ny);
  const std::vector<cd> wx = wide(x), wy = wide(y);
  Dev<T> dx(nx), dy(ny);
  const bool cp = Y::cplx;

  {  // y = alpha x + y
    c.next = 0;
    const T alpha = Y::make(cd(0.75, -0.5));
    dx.put(x);
    dy.put(y);
    CUBLAS(name<T>(c, "axpy"), Y::axpy(c.h, n, c.in(alpha), dx.p, incx, dy.p, incy));
    std::vector<cd> ref = wy;
    for (int i = 0; i < n; ++i) ref[i * incy] += Y::get(alpha) * wx[i * incx];
    verify_dev(name<T>(c, "axpy y"), dy, ref);
  }
  {  // x = alpha x
    c.next = 0;
    const T alpha = Y::make(cd(-1.25, 0.375));
    dx.put(x);
    CUBLAS(name<T>(c, "scal"), Y::scal(c.h, n, c.in(alpha), dx.p, incx));
    std::vector<cd> ref = wx;
    for (int i = 0; i < n; ++i) ref[i * incx] *= Y::get(alpha);
    verify_dev(name<T>(c, "scal x"), dx, ref);
  }
  dx.put(x);
  dy.put(y);
  {  // dot (dotc for complex), and dotu
    c.next = 0;
    T* r = c.out<T>();
    CUBLAS(name<T>(c, "dot"), Y::dot(c.h, n, dx.p, incx, dy.p, incy, r));
    cd ref = 0;
    for (int i = 0; i < n; ++i) ref += std::conj(wx[i * incx]) * wy[i * incy];
    verify_scalar(name<T>(c, "dot result"), Y::get(c.read(r)), ref, Y::tol, cp, Y::prec);
    if (cp) {
      T* ru = c.out<T>();
      CUBLAS(name<T>(c, "dotu"), Y::dotu(c.h, n, dx.p, incx, dy.p, incy, ru));
      cd refu = 0;
      for (int i = 0; i < n; ++i) refu += wx[i * incx] * wy[i * incy];
      verify_scalar(name<T>(c, "dotu result"), Y::get(c.read(ru)), refu, Y::tol, cp, Y::prec);
    }
  }
  {  // nrm2 and asum over y (incy), iamax over x (incx)
    c.next = 0;
    R* rn = c.out<R>();
    CUBLAS(name<T>(c, "nrm2"), Y::nrm2(c.h, n, dy.p, incy, rn));
    double sq = 0, as = 0;
    for (int i = 0; i < n; ++i) {
      sq += std::norm(wy[i * incy]);
      as += std::abs(wy[i * incy].real()) + std::abs(wy[i * incy].imag());
    }
    verify_scalar(name<T>(c, "nrm2 result"), c.read(rn), std::sqrt(sq), Y::tol, false, Y::prec);
    R* ra = c.out<R>();
    CUBLAS(name<T>(c, "asum"), Y::asum(c.h, n, dy.p, incy, ra));
    verify_scalar(name<T>(c, "asum result"), c.read(ra), as, Y::tol, false, Y::prec);
    int* ri = c.out<int>();
    CUBLAS(name<T>(c, "iamax"), Y::iamax(c.h, n, dx.p, incx, ri));
    int got = c.read(ri);
    double best = -1;
    int want = 0;
    for (int i = 0; i < n; ++i) {
      double v = std::abs(wx[i * incx].real()) + std::abs(wx[i * incx].imag());
      if (v > best) best = v, want = i + 1;
    }
    // Ties within rounding could pick another element of the same magnitude.
    bool ok = got >= 1 && got <= n &&
              (got == want || std::abs(wx[(got - 1) * incx].real()) +
                                      std::abs(wx[(got - 1) * incx].imag()) >= best * (1 - 1e-6));
    std::printf("%s: %d\n", name<T>(c, "iamax result").c_str(), got);
    verify_bool(name<T>(c, "iamax is the largest"), ok);
    // n = 0: a quick return with result 0.
    int* rz = c.out<int>();
    CUBLAS(name<T>(c, "iamax n=0"), Y::iamax(c.h, 0, dx.p, incx, rz));
    std::printf("%s: %d\n", name<T>(c, "iamax n=0 result").c_str(), c.read(rz));
  }
  {  // copy x into y
    dy.put(y);
    CUBLAS(name<T>(c, "copy"), Y::copy(c.h, n, dx.p, incx, dy.p, incy));
    std::vector<cd> ref = wy;
    for (int i = 0; i < n; ++i) ref[i * incy] = wx[i * incx];
    verify_dev(name<T>(c, "copy y"), dy, ref, 0.0);
  }
  {  // swap x and y
    dx.put(x);
    dy.put(y);
    CUBLAS(name<T>(c, "swap"), Y::swap(c.h, n, dx.p, incx, dy.p, incy));
    std::vector<cd> rx = wx, ry = wy;
    for (int i = 0; i < n; ++i) std::swap(rx[i * incx], ry[i * incy]);
    verify_dev(name<T>(c, "swap x"), dx, rx, 0.0);
    verify_dev(name<T>(c, "swap y"), dy, ry, 0.0);
  }
  {  // plane rotation: x' = c x + s y, y' = -conj(s) x + c y
    c.next = 0;
    dx.put(x);
    dy.put(y);
    const R cs = static_cast<R>(0.6);
    const T sn = Y::make(cd(0.48, 0.64));
    const R* pc = c.in(cs);
    const T* ps = c.in(sn);
    CUBLAS(name<T>(c, "rot"), Y::rot(c.h, n, dx.p, incx, dy.p, incy, pc, ps));
    std::vector<cd> rx = wx, ry = wy;
    const cd s = Y::get(sn);
    for (int i = 0; i < n; ++i) {
      cd a = wx[i * incx], b = wy[i * incy];
      rx[i * incx] = static_cast<double>(cs) * a + s * b;
      ry[i * incy] = -std::conj(s) * a + static_cast<double>(cs) * b;
    }
    verify_dev(name<T>(c, "rot x"), dx, rx);
    verify_dev(name<T>(c, "rot y"), dy, ry);
  }
}

// ---- level 2 -----------------------------------------------------------------------------

template <class T> void level2(Ctx& c) {
  using Y = Ty<T>;
  const int m = 37, n = 29, lda = 40;
  const cublasOperation_t opT = Y::cplx ? CUBLAS_OP_C : CUBLAS_OP_T;
  Lcg rng(2000 + Y::tag);
  const std::vector<T> a = random<T>(rng, static_cast<size_t>(lda) * n);
  const std::vector<cd> wa = wide(a);
  const T alpha = Y::make(cd(0.5, 0.25)), beta = Y::make(cd(-0.75, 0.5));
  const cd al = Y::get(alpha), be = Y::get(beta);
  Dev<T> da(a.size());
  da.put(a);

  {  // y(m) = alpha A x(n) + beta y, incx 1, incy 2
    c.next = 0;
    std::vector<T> x = random<T>(rng, n), y = random<T>(rng, 1 + (m - 1) * 2);
    Dev<T> dx(x.size()), dy(y.size());
    dx.put(x);
    dy.put(y);
    CUBLAS(name<T>(c, "gemv N"),
           Y::gemv(c.h, CUBLAS_OP_N, m, n, c.in(alpha), da.p, lda, dx.p, 1, c.in(beta), dy.p, 2));
    std::vector<cd> wx = wide(x), ref = wide(y);
    for (int i = 0; i < m; ++i) {
      cd s = 0;
      for (int j = 0; j < n; ++j) s += opget(wa, lda, CUBLAS_OP_N, i, j) * wx[j];
      ref[i * 2] = al * s + be * ref[i * 2];
    }
    verify_dev(name<T>(c, "gemv N y"), dy, ref);
  }
  {  // y(n) = alpha op(A) x(m) + beta y, op T (C for complex), incx 3, incy 1
    c.next = 0;
    std::vector<T> x = random<T>(rng, 1 + (m - 1) * 3), y = random<T>(rng, n);
    Dev<T> dx(x.size()), dy(y.size());
    dx.put(x);
    dy.put(y);
    CUBLAS(name<T>(c, "gemv T/C"),
           Y::gemv(c.h, opT, m, n, c.in(alpha), da.p, lda, dx.p, 3, c.in(beta), dy.p, 1));
    std::vector<cd> wx = wide(x), ref = wide(y);
    for (int i = 0; i < n; ++i) {
      cd s = 0;
      for (int j = 0; j < m; ++j) s += opget(wa, lda, opT, i, j) * wx[j * 3];
      ref[i] = al * s + be * ref[i];
    }
    verify_dev(name<T>(c, "gemv T/C y"), dy, ref);
  }
  // A += alpha x y^T (geru), and A += alpha x y^H (gerc) for complex; incx 1, incy 2.
  for (int conj = 0; conj <= (Y::cplx ? 1 : 0); ++conj) {
    c.next = 0;
    std::vector<T> x = random<T>(rng, m), y = random<T>(rng, 1 + (n - 1) * 2);
    Dev<T> dx(x.size()), dy(y.size()), dg(a.size());
    dx.put(x);
    dy.put(y);
    dg.put(a);
    const char* what = conj ? "gerc" : "ger";
    CUBLAS(name<T>(c, what), (conj ? Y::gerc : Y::ger)(c.h, m, n, c.in(alpha), dx.p, 1, dy.p, 2, dg.p, lda));
    std::vector<cd> wx = wide(x), wy = wide(y), ref = wa;
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i)
        ref[i + j * lda] += al * wx[i] * (conj ? std::conj(wy[j * 2]) : wy[j * 2]);
    verify_dev(name<T>(c, (std::string(what) + " A").c_str()), dg, ref);
  }
  // Square n x n: symv (lower triangle; complex symmetric, not Hermitian), trsv (upper).
  const int lds = 33;
  {
    c.next = 0;
    std::vector<T> s = random<T>(rng, static_cast<size_t>(lds) * n), x = random<T>(rng, 1 + (n - 1) * 2),
                   y = random<T>(rng, n);
    Dev<T> ds(s.size()), dx(x.size()), dy(y.size());
    ds.put(s);
    dx.put(x);
    dy.put(y);
    CUBLAS(name<T>(c, "symv"), Y::symv(c.h, CUBLAS_FILL_MODE_LOWER, n, c.in(alpha), ds.p, lds, dx.p, 2,
                                       c.in(beta), dy.p, 1));
    std::vector<cd> ws = wide(s), wx = wide(x), ref = wide(y);
    for (int i = 0; i < n; ++i) {
      cd sum = 0;
      for (int j = 0; j < n; ++j) sum += (i >= j ? ws[i + j * lds] : ws[j + i * lds]) * wx[j * 2];
      ref[i] = al * sum + be * ref[i];
    }
    verify_dev(name<T>(c, "symv y"), dy, ref);
  }
  {  // solve U x = b: upper, non-unit diagonal made dominant; the lower part is never read.
    std::vector<T> u = random<T>(rng, static_cast<size_t>(lds) * n), b = random<T>(rng, 1 + (n - 1) * 2);
    for (int i = 0; i < n; ++i) u[i + i * lds] = Y::make(cd(n + 1.5, Y::cplx ? 0.5 : 0.0));
    Dev<T> du(u.size()), db(b.size());
    du.put(u);
    db.put(b);
    CUBLAS(name<T>(c, "trsv"), Y::trsv(c.h, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, n,
                                       du.p, lds, db.p, 2));
    std::vector<cd> wu = wide(u), ref = wide(b);
    for (int i = n - 1; i >= 0; --i) {
      cd s = ref[i * 2];
      for (int l = i + 1; l < n; ++l) s -= wu[i + l * lds] * ref[l * 2];
      ref[i * 2] = s / wu[i + i * lds];
    }
    verify_dev(name<T>(c, "trsv x"), db, ref);
  }
}

// ---- level 3 -----------------------------------------------------------------------------

template <class T> void level3(Ctx& c) {
  using Y = Ty<T>;
  const int m = 37, n = 29, k = 41;
  const cublasOperation_t opT = Y::cplx ? CUBLAS_OP_C : CUBLAS_OP_T;
  Lcg rng(3000 + Y::tag);
  const T alpha = Y::make(cd(0.5, -0.25)), beta = Y::make(cd(0.75, 0.125));
  const cd al = Y::get(alpha), be = Y::get(beta);

  {  // C(m x n) = alpha A(m x k) op(B) + beta C, B stored n x k (op T, or C for complex)
    c.next = 0;
    const int lda = 40, ldb = 31, ldc = 39;
    std::vector<T> a = random<T>(rng, static_cast<size_t>(lda) * k), b = random<T>(rng, static_cast<size_t>(ldb) * k),
                   cc = random<T>(rng, static_cast<size_t>(ldc) * n);
    Dev<T> da(a.size()), db(b.size()), dc(cc.size());
    da.put(a);
    db.put(b);
    dc.put(cc);
    CUBLAS(name<T>(c, "gemm"), Y::gemm(c.h, CUBLAS_OP_N, opT, m, n, k, c.in(alpha), da.p, lda, db.p, ldb,
                                       c.in(beta), dc.p, ldc));
    std::vector<cd> ref = wide(cc);
    ref_gemm(m, n, k, al, wide(a), lda, CUBLAS_OP_N, wide(b), ldb, opT, be, ref, ldc);
    verify_dev(name<T>(c, "gemm C"), dc, ref);
  }
  {  // C = alpha A B + beta C, A m x m symmetric from its lower triangle (the upper is noise)
    c.next = 0;
    const int lda = 40, ldb = 38, ldc = 39;
    std::vector<T> a = random<T>(rng, static_cast<size_t>(lda) * m), b = random<T>(rng, static_cast<size_t>(ldb) * n),
                   cc = random<T>(rng, static_cast<size_t>(ldc) * n);
    Dev<T> da(a.size()), db(b.size()), dc(cc.size());
    da.put(a);
    db.put(b);
    dc.put(cc);
    CUBLAS(name<T>(c, "symm"), Y::symm(c.h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_LOWER, m, n, c.in(alpha), da.p,
                                       lda, db.p, ldb, c.in(beta), dc.p, ldc));
    std::vector<cd> wa = wide(a), wb = wide(b), ref = wide(cc);
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        cd s = 0;
        for (int l = 0; l < m; ++l) s += (i >= l ? wa[i + l * lda] : wa[l + i * lda]) * wb[l + j * ldb];
        ref[i + j * ldc] = al * s + be * ref[i + j * ldc];
      }
    verify_dev(name<T>(c, "symm C"), dc, ref);
  }
  {  // solve U X = alpha B (left, upper, non-unit, dominant diagonal); X replaces B
    c.next = 0;
    const int lda = 40, ldb = 38;
    std::vector<T> a = random<T>(rng, static_cast<size_t>(lda) * m), b = random<T>(rng, static_cast<size_t>(ldb) * n);
    for (int i = 0; i < m; ++i) a[i + i * lda] = Y::make(cd(m + 2.5, Y::cplx ? -0.5 : 0.0));
    Dev<T> da(a.size()), db(b.size());
    da.put(a);
    db.put(b);
    CUBLAS(name<T>(c, "trsm"), Y::trsm(c.h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                                       CUBLAS_DIAG_NON_UNIT, m, n, c.in(alpha), da.p, lda, db.p, ldb));
    std::vector<cd> wa = wide(a), ref = wide(b);
    for (int j = 0; j < n; ++j)
      for (int i = m - 1; i >= 0; --i) {
        cd s = al * ref[i + j * ldb];
        for (int l = i + 1; l < m; ++l) s -= wa[i + l * lda] * ref[l + j * ldb];
        ref[i + j * ldb] = s / wa[i + i * lda];
      }
    verify_dev(name<T>(c, "trsm X"), db, ref);
  }
  {  // C(n x n, lower) = alpha A A^T + beta C, A n x k; the upper triangle stays as it was
    c.next = 0;
    const int lda = 33, ldc = 31;
    std::vector<T> a = random<T>(rng, static_cast<size_t>(lda) * k), cc = random<T>(rng, static_cast<size_t>(ldc) * n);
    Dev<T> da(a.size()), dc(cc.size());
    da.put(a);
    dc.put(cc);
    CUBLAS(name<T>(c, "syrk"), Y::syrk(c.h, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, n, k, c.in(alpha), da.p, lda,
                                       c.in(beta), dc.p, ldc));
    std::vector<cd> wa = wide(a), ref = wide(cc);
    for (int j = 0; j < n; ++j)
      for (int i = j; i < n; ++i) {
        cd s = 0;
        for (int l = 0; l < k; ++l) s += wa[i + l * lda] * wa[j + l * lda];
        ref[i + j * ldc] = al * s + be * ref[i + j * ldc];
      }
    verify_dev(name<T>(c, "syrk C"), dc, ref);
  }
}

template <class T> void all_levels(Ctx& c) {
  level1<T>(c);
  level2<T>(c);
  level3<T>(c);
}

// ---- the Ex functions: fp16, bf16, TF32 ------------------------------------------------


void ex_functions(cublasHandle_t h) {
  const int m = 37, n = 29, k = 41, lda = 40, ldb = 43, ldc = 39;
  const size_t na0 = static_cast<size_t>(lda) * k, nb0 = static_cast<size_t>(ldb) * n,
               nc0 = static_cast<size_t>(ldc) * n;
  Lcg rng(4000);
  const float alpha = 0.5f, beta = 0.25f;

  {  // fp16 in and out, fp32 compute
    Mat<__half> a(rng, na0), b(rng, nb0), c(rng, nc0);
    CUBLAS("GemmEx fp16 compute 32F",
           cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, a.d, CUDA_R_16F, lda, b.d, CUDA_R_16F,
                        ldb, &beta, c.d, CUDA_R_16F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    std::vector<cd> ref = c.w;
    ref_gemm(m, n, k, alpha, a.w, lda, CUBLAS_OP_N, b.w, ldb, CUBLAS_OP_N, beta, ref, ldc);
    c.verify_out("GemmEx fp16 compute 32F C", ref, 5e-3);
  }
  {  // fp16 with fp16 compute: alpha and beta are halves
    Mat<__half> a(rng, na0), b(rng, nb0), c(rng, nc0);
    const __half ha = __float2half(alpha), hb = __float2half(beta);
    CUBLAS("GemmEx fp16 compute 16F",
           cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &ha, a.d, CUDA_R_16F, lda + 3, b.d, CUDA_R_16F,
                        ldb, &hb, c.d, CUDA_R_16F, ldc, CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT));
    // op T: A is k x m with lda + 3 = 43 >= k; na0 = 40 * 41 >= 43 * 36 + 41.
    std::vector<cd> ref = c.w;
    ref_gemm(m, n, k, alpha, a.w, lda + 3, CUBLAS_OP_T, b.w, ldb, CUBLAS_OP_N, beta, ref, ldc);
    c.verify_out("GemmEx fp16 compute 16F C", ref, 5e-2);
  }
  {  // bf16 in and out, fp32 compute
    Mat<__nv_bfloat16> a(rng, na0), b(rng, nb0), c(rng, nc0);
    CUBLAS("GemmEx bf16 compute 32F",
           cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, a.d, CUDA_R_16BF, lda, b.d, CUDA_R_16BF,
                        ldb, &beta, c.d, CUDA_R_16BF, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    std::vector<cd> ref = c.w;
    ref_gemm(m, n, k, alpha, a.w, lda, CUBLAS_OP_N, b.w, ldb, CUBLAS_OP_N, beta, ref, ldc);
    c.verify_out("GemmEx bf16 compute 32F C", ref, 2e-2);
  }
  {  // fp32 with TF32 tensor cores: through the compute type, then through the math mode
    Mat<float> a(rng, na0), b(rng, nb0), c(rng, nc0);
    std::vector<cd> ref = c.w;
    ref_gemm(m, n, k, alpha, a.w, lda, CUBLAS_OP_N, b.w, ldb, CUBLAS_OP_N, beta, ref, ldc);
    CUBLAS("GemmEx fp32 compute 32F_FAST_TF32",
           cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, a.d, CUDA_R_32F, lda, b.d, CUDA_R_32F,
                        ldb, &beta, c.d, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
    c.verify_out("GemmEx fp32 compute 32F_FAST_TF32 C", ref, 2e-2);

    Mat<float> c2(rng, nc0);
    cublasMath_t mode;
    CUBLAS("GetMathMode", cublasGetMathMode(h, &mode));
    std::printf("math mode: %d\n", static_cast<int>(mode));
    CUBLAS("SetMathMode TF32_TENSOR_OP_MATH", cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH));
    CUBLAS("GetMathMode", cublasGetMathMode(h, &mode));
    std::printf("math mode: %d\n", static_cast<int>(mode));
    CUBLAS("Sgemm TF32 math", cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, a.d, lda, b.d, ldb,
                                          &beta, c2.d, ldc));
    std::vector<cd> ref2 = c2.w;
    ref_gemm(m, n, k, alpha, a.w, lda, CUBLAS_OP_N, b.w, ldb, CUBLAS_OP_N, beta, ref2, ldc);
    c2.verify_out("Sgemm TF32 math C", ref2, 2e-2);
    CUBLAS("SetMathMode DEFAULT_MATH", cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
  }

  const int batch = 3;
  // Batched matrices start 64 elements apart at least: with tensor cores, cuBLAS wants the
  // matrices that the pointer arrays name aligned to 16 bytes (it cannot check them itself).
  auto round64 = [](size_t size) { return (size + 63) / 64 * 64; };
  {  // GemmBatchedEx: fp16 in, fp32 out, fp32 compute; the pointer arrays live in device memory
    const size_t na = round64(na0), nb = round64(nb0), nc = round64(nc0);
    Mat<__half> a(rng, na * batch), b(rng, nb * batch);
    Mat<float> c(rng, nc * batch);
    std::vector<const void*> pa, pb;
    std::vector<void*> pc;
    for (int i = 0; i < batch; ++i) {  // entry i names the matrices of batch j = batch - 1 - i
      int j = batch - 1 - i;
      pa.push_back(a.d + j * na);
      pb.push_back(b.d + j * nb);
      pc.push_back(c.d + j * nc);
    }
    void** dp;
    CHECK(cudaMalloc(&dp, 3 * batch * sizeof(void*)));
    CHECK(cudaMemcpy(dp, pa.data(), batch * sizeof(void*), cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(dp + batch, pb.data(), batch * sizeof(void*), cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(dp + 2 * batch, pc.data(), batch * sizeof(void*), cudaMemcpyHostToDevice));
    CUBLAS("GemmBatchedEx fp16->fp32",
           cublasGemmBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, dp, CUDA_R_16F, lda, dp + batch,
                               CUDA_R_16F, ldb, &beta, dp + 2 * batch, CUDA_R_32F, ldc, batch,
                               CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    std::vector<cd> ref = c.w;
    for (int j = 0; j < batch; ++j)
      ref_gemm(m, n, k, alpha, a.w, lda, CUBLAS_OP_N, b.w, ldb, CUBLAS_OP_N, beta, ref, ldc, j * na, j * nb,
               j * nc);
    c.verify_out("GemmBatchedEx fp16->fp32 C", ref, 1e-4);
    CHECK(cudaFree(dp));
  }
  {  // GemmStridedBatchedEx: bf16 in and out, fp32 compute; strides larger than the matrices
    const long long sa = na0 + 8, sb = round64(nb0) + 8, sc = round64(nc0) + 8;  // multiples of 8 elements
    Mat<__nv_bfloat16> a(rng, sa * batch), b(rng, sb * batch), c(rng, sc * batch);
    CUBLAS("GemmStridedBatchedEx bf16",
           cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, a.d, CUDA_R_16BF, lda, sa,
                                      b.d, CUDA_R_16BF, ldb, sb, &beta, c.d, CUDA_R_16BF, ldc, sc, batch,
                                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    std::vector<cd> ref = c.w;
    for (int j = 0; j < batch; ++j)
      ref_gemm(m, n, k, alpha, a.w, lda, CUBLAS_OP_N, b.w, ldb, CUBLAS_OP_N, beta, ref, ldc, j * sa, j * sb,
               j * sc);
    c.verify_out("GemmStridedBatchedEx bf16 C", ref, 2e-2);
  }
}

// ---- fp32 batched, and one large sgemm ----------------------------------------------------

void sgemm_more(cublasHandle_t h) {
  const float alpha = 1.5f, beta = -0.5f;
  {  // 512 x 512 x 512
    const int s = 512;
    Lcg rng(5000);
    Mat<float> a(rng, s * s), b(rng, s * s), c(rng, s * s);
    CUBLAS("Sgemm 512", cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, s, s, s, &alpha, a.d, s, b.d, s, &beta, c.d, s));
    std::vector<cd> ref = c.w;
    ref_gemm(s, s, s, alpha, a.w, s, CUBLAS_OP_N, b.w, s, CUBLAS_OP_T, beta, ref, s);
    c.verify_out("Sgemm 512 C", ref, 2e-4);
  }
  const int m = 37, n = 29, k = 41, lda = 40, ldb = 43, ldc = 39, batch = 4;
  // Batched matrices start 64 elements apart at least (see ex_functions).
  const size_t na = (static_cast<size_t>(lda) * k + 63) / 64 * 64, nb = (static_cast<size_t>(ldb) * n + 63) / 64 * 64,
               nc = (static_cast<size_t>(ldc) * n + 63) / 64 * 64;
  Lcg rng(5001);
  {  // SgemmBatched: arrays of device pointers, in device memory
    Mat<float> a(rng, na * batch), b(rng, nb * batch), c(rng, nc * batch);
    std::vector<float*> p;
    for (int part = 0; part < 3; ++part)
      for (int i = 0; i < batch; ++i) {
        int j = (i * 3 + 1) % batch;  // 1, 0, 3, 2: a permutation
        p.push_back(part == 0 ? a.d + j * na : part == 1 ? b.d + j * nb : c.d + j * nc);
      }
    float** dp;
    CHECK(cudaMalloc(&dp, p.size() * sizeof(float*)));
    CHECK(cudaMemcpy(dp, p.data(), p.size() * sizeof(float*), cudaMemcpyHostToDevice));
    CUBLAS("SgemmBatched", cublasSgemmBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, dp, lda,
                                              dp + batch, ldb, &beta, dp + 2 * batch, ldc, batch));
    std::vector<cd> ref = c.w;
    for (int j = 0; j < batch; ++j)
      ref_gemm(m, n, k, alpha, a.w, lda, CUBLAS_OP_N, b.w, ldb, CUBLAS_OP_N, beta, ref, ldc, j * na, j * nb,
               j * nc);
    c.verify_out("SgemmBatched C", ref, 2e-4);
    CHECK(cudaFree(dp));
  }
  {  // SgemmStridedBatched, op T on A (A is k x m, lda 43)
    const long long sa = 43 * m + 9, sb = nb + 1, sc = nc + 2;
    Mat<float> a(rng, sa * batch), b(rng, sb * batch), c(rng, sc * batch);
    CUBLAS("SgemmStridedBatched",
           cublasSgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, a.d, 43, sa, b.d, ldb, sb,
                                     &beta, c.d, ldc, sc, batch));
    std::vector<cd> ref = c.w;
    for (int j = 0; j < batch; ++j)
      ref_gemm(m, n, k, alpha, a.w, 43, CUBLAS_OP_T, b.w, ldb, CUBLAS_OP_N, beta, ref, ldc, j * sa, j * sb,
               j * sc);
    c.verify_out("SgemmStridedBatched C", ref, 2e-4);
  }
}

// ---- matrix and vector copies, streams, workspace -----------------------------------------

// Host buffer: pinned (cudaMallocHost) or ordinary.
struct Host {
  unsigned char* p = nullptr;
  bool pinned;
  Host(size_t n, bool pin) : pinned(pin) {
    if (pin)
      CHECK(cudaMallocHost(&p, n));
    else
      p = static_cast<unsigned char*>(std::malloc(n));
  }
  ~Host() {
    if (pinned)
      CHECK(cudaFreeHost(p));
    else
      std::free(p);
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;
};

void fill(unsigned char* p, size_t n, uint64_t seed) {
  Lcg rng(seed);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(rng.next() * 127.0 + 128.0);
}

// Host A (rows x cols, lda) -> device (ldb) -> host C (ldc), elements of size es, synchronously
// or on a stream. Checks the device copy (its padding untouched) and the host copy (likewise).
void matrix_copies(cudaStream_t stream) {
  const bool async = stream != nullptr;
  const int rows = 37, cols = 29, lda = 40, ldb = 45, ldc = 41;
  const int es = async ? 16 : 8;
  const char* tag = async ? "Async" : "";
  Host a(static_cast<size_t>(lda) * cols * es, async), c(static_cast<size_t>(ldc) * cols * es, async);
  fill(a.p, static_cast<size_t>(lda) * cols * es, 6000 + es);
  std::memset(c.p, 0x77, static_cast<size_t>(ldc) * cols * es);
  const size_t dbytes = static_cast<size_t>(ldb) * cols * es;
  unsigned char* d;
  CHECK(cudaMalloc(&d, dbytes));
  CHECK(cudaMemset(d, 0x5a, dbytes));
  std::string set = std::string("SetMatrix") + tag, get = std::string("GetMatrix") + tag;
  if (async) {
    CUBLAS(set, cublasSetMatrixAsync(rows, cols, es, a.p, lda, d, ldb, stream));
    CUBLAS(get, cublasGetMatrixAsync(rows, cols, es, d, ldb, c.p, ldc, stream));
    CHECK(cudaStreamSynchronize(stream));
  } else {
    CUBLAS(set, cublasSetMatrix(rows, cols, es, a.p, lda, d, ldb));
    CUBLAS(get, cublasGetMatrix(rows, cols, es, d, ldb, c.p, ldc));
  }
  std::vector<unsigned char> dev(dbytes);
  CHECK(cudaMemcpy(dev.data(), d, dbytes, cudaMemcpyDeviceToHost));
  bool dev_ok = true, host_ok = true;
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < ldb; ++i)
      for (int b = 0; b < es; ++b) {
        unsigned char got = dev[(static_cast<size_t>(j) * ldb + i) * es + b];
        unsigned char want = i < rows ? a.p[(static_cast<size_t>(j) * lda + i) * es + b] : 0x5a;
        dev_ok = dev_ok && got == want;
      }
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < ldc; ++i)
      for (int b = 0; b < es; ++b) {
        unsigned char got = c.p[(static_cast<size_t>(j) * ldc + i) * es + b];
        unsigned char want = i < rows ? a.p[(static_cast<size_t>(j) * lda + i) * es + b] : 0x77;
        host_ok = host_ok && got == want;
      }
  std::printf("%s device fnv %016llx\n", set.c_str(), static_cast<unsigned long long>(fnv(dev.data(), dbytes)));
  verify_bool(set + " device copy, padding untouched", dev_ok);
  verify_bool(get + " host copy, padding untouched", host_ok);
  CHECK(cudaFree(d));
}

// Host x (incx 3) -> device (incy 2) -> host (incy 5), elements of 4 bytes (12 when async).
void vector_copies(cudaStream_t stream) {
  const bool async = stream != nullptr;
  const int n = 100, incx = 3, incd = 2, inch = 5;
  const int es = async ? 12 : 4;
  const char* tag = async ? "Async" : "";
  const size_t xb = static_cast<size_t>(1 + (n - 1) * incx) * es, db = static_cast<size_t>(1 + (n - 1) * incd) * es,
               hb = static_cast<size_t>(1 + (n - 1) * inch) * es;
  Host x(xb, async), y(hb, async);
  fill(x.p, xb, 7000 + es);
  std::memset(y.p, 0x33, hb);
  unsigned char* d;
  CHECK(cudaMalloc(&d, db));
  CHECK(cudaMemset(d, 0x44, db));
  std::string set = std::string("SetVector") + tag, get = std::string("GetVector") + tag;
  if (async) {
    CUBLAS(set, cublasSetVectorAsync(n, es, x.p, incx, d, incd, stream));
    CUBLAS(get, cublasGetVectorAsync(n, es, d, incd, y.p, inch, stream));
    CHECK(cudaStreamSynchronize(stream));
  } else {
    CUBLAS(set, cublasSetVector(n, es, x.p, incx, d, incd));
    CUBLAS(get, cublasGetVector(n, es, d, incd, y.p, inch));
  }
  std::vector<unsigned char> dev(db);
  CHECK(cudaMemcpy(dev.data(), d, db, cudaMemcpyDeviceToHost));
  bool dev_ok = true, host_ok = true;
  for (size_t e = 0; e < db / es; ++e)
    for (int b = 0; b < es; ++b) {
      unsigned char want = e % incd == 0 ? x.p[(e / incd * incx) * es + b] : 0x44;
      dev_ok = dev_ok && dev[e * es + b] == want;
    }
  for (size_t e = 0; e < hb / es; ++e)
    for (int b = 0; b < es; ++b) {
      unsigned char want = e % inch == 0 ? x.p[(e / inch * incx) * es + b] : 0x33;
      host_ok = host_ok && y.p[e * es + b] == want;
    }
  std::printf("%s device fnv %016llx\n", set.c_str(), static_cast<unsigned long long>(fnv(dev.data(), db)));
  verify_bool(set + " device copy, gaps untouched", dev_ok);
  verify_bool(get + " host copy, gaps untouched", host_ok);
  CHECK(cudaFree(d));
}

// A user stream with a workspace of our own: sgemm on it.
void streams_workspace(cublasHandle_t h) {
  cudaStream_t s = nullptr, got = reinterpret_cast<cudaStream_t>(1);
  CUBLAS("GetStream default", cublasGetStream(h, &got));
  std::printf("default stream is 0: %d\n", got == nullptr);
  CHECK(cudaStreamCreate(&s));
  CUBLAS("SetStream user", cublasSetStream(h, s));
  CUBLAS("GetStream user", cublasGetStream(h, &got));
  std::printf("stream is the one set: %d\n", got == s);

  matrix_copies(s);
  vector_copies(s);

  const size_t ws_size = size_t{4} << 20;
  unsigned char* ws;
  CHECK(cudaMalloc(&ws, ws_size + 256));
  // The workspace must be aligned to 256 bytes.
  BREPORT("SetWorkspace misaligned", cublasSetWorkspace(h, ws + 8, ws_size));
  CUBLAS("SetWorkspace", cublasSetWorkspace(h, ws, ws_size));
  {
    const int m = 64, n = 48, k = 80;
    const float alpha = 1.0f, beta = 0.0f;
    Lcg rng(8000);
    Mat<float> a(rng, m * k), b(rng, k * n), c(rng, m * n);
    CUBLAS("Sgemm on stream with workspace",
           cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, a.d, m, b.d, k, &beta, c.d, m));
    CHECK(cudaStreamSynchronize(s));
    std::vector<cd> ref = c.w;
    ref_gemm(m, n, k, alpha, a.w, m, CUBLAS_OP_N, b.w, k, CUBLAS_OP_N, beta, ref, m);
    c.verify_out("Sgemm on stream with workspace C", ref, 2e-4);
  }
  // Back to the default stream (which also gives the default workspace back).
  CUBLAS("SetStream 0", cublasSetStream(h, nullptr));
  CUBLAS("GetStream", cublasGetStream(h, &got));
  std::printf("stream is 0 again: %d\n", got == nullptr);
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaFree(ws));
  CHECK(cudaStreamDestroy(s));
}

// Calls that must fail (or quick-return) exactly as natively.
void errors(cublasHandle_t h) {
  const float alpha = 1.0f, beta = 0.0f;
  float* d;
  CHECK(cudaMalloc(&d, 64 * 64 * sizeof(float)));
  CHECK(cudaMemset(d, 0, 64 * 64 * sizeof(float)));
  BREPORT("Sgemm m=-1", cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, -1, 4, 4, &alpha, d, 4, d, 4, &beta, d, 4));
  BREPORT("Sgemm lda<m", cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 4, 4, &alpha, d, 2, d, 4, &beta, d, 8));
  BREPORT("Sgemm m=0", cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 0, 4, 4, &alpha, d, 1, d, 4, &beta, d, 1));
  BREPORT("Sgemv incx=0", cublasSgemv(h, CUBLAS_OP_N, 4, 4, &alpha, d, 4, d, 0, &beta, d + 64, 1));
  BREPORT("Saxpy n=-5", cublasSaxpy(h, -5, &alpha, d, 1, d + 64, 1));
  BREPORT("SgemmStridedBatched batch=-1", cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &alpha, d,
                                                                     4, 16, d, 4, 16, &beta, d, 4, 16, -1));
  BREPORT("GemmEx 8I x 8I -> 16F compute 16F",
          cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &alpha, d, CUDA_R_8I, 4, d, CUDA_R_8I, 4, &beta, d,
                       CUDA_R_16F, 4, CUBLAS_COMPUTE_16F, CUBLAS_GEMM_DEFAULT));
  float hbuf[16] = {};
  BREPORT("SetMatrix lda=0", cublasSetMatrix(4, 4, 4, hbuf, 0, d, 4));
  BREPORT("SetMatrix rows=-1", cublasSetMatrix(-1, 4, 4, hbuf, 4, d, 4));
  BREPORT("GetMatrix elemSize=0", cublasGetMatrix(4, 4, 0, d, 4, hbuf, 4));
  BREPORT("SetVector incx=0", cublasSetVector(4, 4, hbuf, 0, d, 1));
  BREPORT("GetVector incy=-1", cublasGetVector(4, 4, d, 1, hbuf, -1));
  BREPORT("SetPointerMode 7", cublasSetPointerMode(h, static_cast<cublasPointerMode_t>(7)));
  cublasPointerMode_t pm;
  CUBLAS("GetPointerMode", cublasGetPointerMode(h, &pm));
  std::printf("pointer mode: %d\n", static_cast<int>(pm));
  CUBLAS("SetPointerMode HOST", cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaFree(d));
}

}  // namespace

int main() {
  // Answered without a handle.
  int v = -1;
  for (auto [what, type] : {std::pair{"major", MAJOR_VERSION}, std::pair{"minor", MINOR_VERSION},
                            std::pair{"patch", PATCH_LEVEL}}) {
    CUBLAS(std::string("GetProperty ") + what, cublasGetProperty(type, &v));
    std::printf("cuBLAS %s: %d\n", what, v);
  }
  std::printf("cublasGetCudartVersion: %zu\n", cublasGetCudartVersion());
  for (int code : {0, 1, 3, 7, 8, 11, 13, 14, 15, 16, 12345}) {
    const char* nm = cublasGetStatusName(static_cast<cublasStatus_t>(code));
    const char* str = cublasGetStatusString(static_cast<cublasStatus_t>(code));
    std::printf("status %d: %s / %s\n", code, nm ? nm : "(null)", str ? str : "(null)");
  }

  cublasHandle_t h;
  CUBLAS("Create", cublasCreate(&h));
  CUBLAS("GetVersion", cublasGetVersion(h, &v));
  std::printf("cuBLAS version: %d\n", v);
  {
    cublasHandle_t other;
    CUBLAS("Create second handle", cublasCreate(&other));
    CUBLAS("Destroy second handle", cublasDestroy(other));
  }

  Ctx c{};
  c.h = h;
  CHECK(cudaMalloc(&c.dslots, 64 * 16));
  for (int dev = 0; dev <= 1; ++dev) {
    c.dev = dev != 0;
    c.mode = dev ? "device" : "host";
    CUBLAS(std::string("SetPointerMode ") + c.mode,
           cublasSetPointerMode(h, dev ? CUBLAS_POINTER_MODE_DEVICE : CUBLAS_POINTER_MODE_HOST));
    cublasPointerMode_t pm;
    CUBLAS("GetPointerMode", cublasGetPointerMode(h, &pm));
    std::printf("pointer mode: %d\n", static_cast<int>(pm));
    all_levels<float>(c);
    all_levels<double>(c);
    all_levels<cuComplex>(c);
    all_levels<cuDoubleComplex>(c);
  }
  CUBLAS("SetPointerMode host", cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
  CHECK(cudaFree(c.dslots));

  sgemm_more(h);
  ex_functions(h);
  matrix_copies(nullptr);
  vector_copies(nullptr);
  streams_workspace(h);
  errors(h);

  CUBLAS("Destroy", cublasDestroy(h));
  return verdict(g_ok);
}
