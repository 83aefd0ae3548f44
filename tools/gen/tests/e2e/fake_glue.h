// Client glue of the fake test library (the role of src/frontend/cudart/glue.h).
#pragma once
#include "fake.h"
#include "frontend/core/client.h"

namespace gvirtus::fake {
fakeStatus_t lost();
fakeStatus_t finish(const client::Call& c);
void set_last_error(fakeStatus_t e);
}  // namespace gvirtus::fake
