// The process's host-callback thread state; see callback_slot.h.
#include "frontend/core/callback_slot.h"

namespace gvirtus::client {

CallbackThreadSlot& callback_thread_slot() {
  static auto* slot = new CallbackThreadSlot;  // lives as long as the process (threads use it)
  return *slot;
}

}  // namespace gvirtus::client
