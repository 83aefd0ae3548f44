// State a fork()ed child must not inherit: the child's session, and so its worker and the ids
// it hands out, are new. A record keeps a ProcessOwner beside its contents; its first use in
// another process says so once, and the record starts empty there. Header-only: the library
// plugins (cuBLASLt, cuDNN) use it as well as the client core.
#pragma once
#include <unistd.h>

namespace gvirtus::client {

class ProcessOwner {
 public:
  // True when the calling process is not the one that last asked (the caller then clears what
  // it keeps). REQUIRES: the caller's lock over that state.
  bool changed() {
    const pid_t me = ::getpid();
    if (pid_ == me) return false;
    pid_ = me;
    return true;
  }
  // Whether what is kept belongs to the calling process, without claiming it.
  bool current() const { return pid_ == ::getpid(); }

 private:
  pid_t pid_ = 0;
};

}  // namespace gvirtus::client
