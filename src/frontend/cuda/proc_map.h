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

}  // namespace gvirtus::cuda
