// The worker's side of staged module images (common/image_staging.h): a buffer per connection,
// filled in order by gvDrvImageChunk requests and handed to the next load on that connection.
#pragma once
#include <memory>
#include <vector>

#include "backend/dispatch.h"

namespace gvirtus::backend::cuda {

// The connection's complete staged image, taken (the buffer is no longer staged), with a NUL
// after its last byte (as read_image gives inline images). Throws SessionFault if the
// connection has no complete image staged.
std::unique_ptr<std::vector<char>> take_staged_image(CallContext& ctx);

}  // namespace gvirtus::backend::cuda
