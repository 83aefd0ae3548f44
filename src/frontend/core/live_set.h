// The library objects (handles, descriptors) this process created and has not destroyed, by
// their wire id. A call on a live object whose arguments the client can check is sure to be
// accepted, so it may go out without waiting for its status (`async_if=`, docs/frontend.md).
// Thread-safe; a forked child starts empty (its session, and so its worker, is a new one).
#pragma once
#include <cstdint>
#include <mutex>
#include <unordered_set>

#include "frontend/core/process_owner.h"

namespace gvirtus::client {

class LiveSet {
 public:
  void add(const void* object) {
    std::lock_guard<std::mutex> g(mu_);
    own_process();
    ids_.insert(reinterpret_cast<uintptr_t>(object));
  }
  // After a Create that wrote the new object to *out: adds it (nothing for a NULL out).
  template <class T>
  void add_created(const T* out) {
    if (out) add(*out);
  }
  void remove(const void* object) {
    std::lock_guard<std::mutex> g(mu_);
    own_process();
    ids_.erase(reinterpret_cast<uintptr_t>(object));
  }
  bool contains(const void* object) {
    if (object == nullptr) return false;
    std::lock_guard<std::mutex> g(mu_);
    own_process();
    return ids_.count(reinterpret_cast<uintptr_t>(object)) != 0;
  }

 private:
  void own_process() {  // REQUIRES: mu_ held
    if (owner_.changed()) ids_.clear();
  }
  std::mutex mu_;
  ProcessOwner owner_;
  std::unordered_set<uintptr_t> ids_;
};

}  // namespace gvirtus::client
