// cuGetProcAddress's name map: a base name as programs ask for it ("cuMemAlloc") -> the export
// that cuda.h's macros make a program call (cuMemAlloc_v2), with and without per-thread default
// streams (cuMemcpyHtoD_v2_ptds). Generated at build time from cuda.h (cuda_renames.inc).
#pragma once
#include <string>

namespace gvirtus::cuda {

// The export to hand out for `symbol`. per_thread: CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
// was asked for. A name the header does not rename maps to itself, and to NAME_ptsz/_ptds
// when per_thread and the header has such a form.
std::string proc_export_name(const std::string& symbol, bool per_thread);

// The export to hand out for `symbol` asked for at `cuda_version` (1000 * major + 10 * minor):
// the newest ABI version of the function that is not newer than cuda_version, from
// cudaTypedefs.h's PFN_NAME_vVERSION typedefs (cuda_versions.inc): cuMemAlloc at 2000 is the
// legacy cuMemAlloc, at 3020 and later cuMemAlloc_v2. per_thread picks the _ptds/_ptsz form
// from the version that introduced it. A name without versions maps as proc_export_name.
// Empty: the function exists only in versions newer than cuda_version
// (CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT).
std::string proc_export_for_version(const std::string& symbol, int cuda_version,
                                    bool per_thread);

}  // namespace gvirtus::cuda
