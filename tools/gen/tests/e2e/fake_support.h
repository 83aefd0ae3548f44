// Server helpers of the fake test library (the role of src/backend/cudart/support.h).
#pragma once
#include <cstdint>

#include "backend/dispatch.h"
#include "fake.h"

namespace gvirtus::backend::fake {
bool stream_in(CallContext& ctx, uint64_t id, fakeStream_t* out);
uint64_t stream_out(CallContext& ctx, fakeStream_t s);
bool stream_release(CallContext& ctx, uint64_t id, fakeStream_t* out);
void register_plugin(Registry& r);
}  // namespace gvirtus::backend::fake
