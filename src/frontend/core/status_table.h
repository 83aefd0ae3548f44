// A library's status names and strings, answered on the client from the table the build prints
// with the real library (<lib>_errors.inc: {code, "NAME", "string"} rows sorted by code, each
// code once; tools/gen/errtable.cc).
#pragma once
#include <algorithm>
#include <cstddef>
#include <iterator>

namespace gvirtus::client {

struct StatusRow {
  int code;
  const char* name;
  const char* text;
};

// The row of `code`, or nullptr for a code the real library does not know.
template <size_t N>
const StatusRow* find_status(const StatusRow (&rows)[N], int code) {
  const StatusRow* it = std::lower_bound(std::begin(rows), std::end(rows), code,
                                         [](const StatusRow& r, int c) { return r.code < c; });
  return it != std::end(rows) && it->code == code ? it : nullptr;
}

}  // namespace gvirtus::client
