// Which library plugins a client process needs from the start (the Hello's list,
// docs/protocol.md): `gvirtus run` preloads every frontend library into every program, so that a
// frontend is loaded says nothing about the program. What the program's objects ask the dynamic
// loader for does: a frontend's plugin is announced when some loaded object that is not a
// GVirtuS frontend names the frontend's soname among its DT_NEEDED entries (PyTorch's
// libtorch_cuda.so names libcublas.so.13 & co.; a plain CUDA program names libcudart.so.13
// only). A library the program opens later with dlopen is not announced: its plugin loads on its
// first call, as before, and a backend that cannot serve it answers that library's calls with
// its "unavailable" status instead of refusing the session.
#pragma once
#include <string>
#include <vector>

namespace gvirtus::client {

// The sonames that loaded objects name in DT_NEEDED, leaving out the objects at `skip` (paths
// as the dynamic loader has them: the frontends themselves).
std::vector<std::string> needed_sonames(const std::vector<std::string>& skip);

// The path of the shared object that holds `address` ("" if none).
std::string object_path(const void* address);

}  // namespace gvirtus::client
