// cudaGetErrorName / cudaGetErrorString answered locally from a table that the build extracts
// from the real runtime (cudart_errors.inc, generated). Unknown codes get the same text as the
// real runtime: "unrecognized error code" for both.
#pragma once

namespace gvirtus::cudart {

const char* error_name(int code);
const char* error_string(int code);
// How many rows the table has (tests walk it).
int error_table_size();
int error_table_code(int row);

}  // namespace gvirtus::cudart
