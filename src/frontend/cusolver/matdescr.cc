// matdescr_to_wire (glue.h): a cusparseMatDescr_t read through cuSPARSE's own getters, so the
// descriptor may come from NVIDIA's libcusparse.so.12 or from ours alike.
#include <cusparse.h>
#include <dlfcn.h>

#include <mutex>

#include "common/cusolver_matdescr.h"
#include "frontend/cusolver/glue.h"

namespace gvirtus::cusolver {
namespace {

// cuSPARSE's own prototypes (cusparse.h; the library itself is found at run time).
struct Getters {
  decltype(&cusparseGetMatType) type = nullptr;
  decltype(&cusparseGetMatFillMode) fill = nullptr;
  decltype(&cusparseGetMatDiagType) diag = nullptr;
  decltype(&cusparseGetMatIndexBase) base = nullptr;
  bool ok() const { return type && fill && diag && base; }
};

template <typename F>
void find(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
}

const Getters& getters() {
  static Getters g;
  static std::once_flag once;
  std::call_once(once, [] {
    // The application that made a descriptor has libcusparse.so.12 loaded: this finds that one.
    void* lib = dlopen("libcusparse.so.12", RTLD_LAZY | RTLD_NOLOAD);
    if (lib == nullptr) lib = dlopen("libcusparse.so.12", RTLD_LAZY);
    if (lib == nullptr) return;
    find(lib, "cusparseGetMatType", &g.type);
    find(lib, "cusparseGetMatFillMode", &g.fill);
    find(lib, "cusparseGetMatDiagType", &g.diag);
    find(lib, "cusparseGetMatIndexBase", &g.base);
  });
  return g;
}

}  // namespace

cusolverStatus_t matdescr_to_wire(const cusparseMatDescr_t descr, uint64_t* wire) {
  *wire = 0;
  if (descr == nullptr) return CUSOLVER_STATUS_SUCCESS;
  const Getters& g = getters();
  if (!g.ok()) return CUSOLVER_STATUS_NOT_INITIALIZED;
  cusolver_wire::MatDescrFields f;
  f.type = static_cast<uint32_t>(g.type(descr));
  f.fill = static_cast<uint32_t>(g.fill(descr));
  f.diag = static_cast<uint32_t>(g.diag(descr));
  f.base = static_cast<uint32_t>(g.base(descr));
  return cusolver_wire::encode_matdescr(f, wire) ? CUSOLVER_STATUS_SUCCESS
                                                 : CUSOLVER_STATUS_INVALID_VALUE;
}

}  // namespace gvirtus::cusolver
