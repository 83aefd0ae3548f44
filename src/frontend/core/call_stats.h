// Per-call-id counts of what this process sent, for finding the round trips that cost
// (GVIRTUS_CALL_STATS=1: printed on stderr when the process exits; docs/usage.md). Counting is
// two relaxed atomic increments per request when on, one load of a flag when off.
#pragma once
#include <cstdint>

namespace gvirtus::client {

// Called by the connection for every request it sends.
void count_call(uint32_t call_id, bool waits_for_reply);

}  // namespace gvirtus::client
