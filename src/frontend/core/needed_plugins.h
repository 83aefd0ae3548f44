// Which library plugins a client process needs from the start (the Hello's list,
// docs/protocol.md): `gvirtus run` preloads every frontend library into every program, so that a
// frontend is loaded says nothing about the program. What the program's objects ask the dynamic
// loader for does: a frontend's plugin is announced when some object loaded by the time of the
// connection, other than a GVirtuS frontend, names the frontend's soname (its file name) among
// its DT_NEEDED entries (PyTorch's libtorch_cuda.so names libcublas.so.13 & co.; a plain CUDA
// program names libcudart.so.13 only). A library needed only by objects loaded later is not
// announced: its plugin loads on its first call, as before, and a backend that cannot serve it
// answers that library's calls with its "unavailable" status instead of refusing the session.
#pragma once
#include <string>
#include <vector>

namespace gvirtus::client {

// The sonames that loaded objects name in DT_NEEDED, leaving out the objects named in `skip`
// (names as the dynamic loader has them: the frontends' paths; the program itself is "").
std::vector<std::string> needed_sonames(const std::vector<std::string>& skip);
// How many objects the dynamic loader has loaded so far (grows with every dlopen): a list
// worked out before is stale when it changed.
unsigned long long objects_loaded();
// The loaded objects' names, as needed_sonames compares them.
std::vector<std::string> loaded_objects();

// The path of the shared object that holds `address` ("" if none): a function or a string
// literal of that object. Takes the dynamic loader's lock (dladdr): not for a thread that holds
// a lock another thread may want while it runs a library's constructor.
std::string object_path(const void* address);

}  // namespace gvirtus::client
