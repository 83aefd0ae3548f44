// Prints the real library's name and description of every enumerator of its error enum, one
// line each: code TAB enumerator TAB name TAB string (backslash, tab and newline escaped).
// Built and run at build time; tools/gen/gvgen.py turns the output into <lib>_errors.inc, so
// the frontend answers cudaGetErrorName / cudaGetErrorString exactly as the real runtime.
//
// GV_ERRTABLE_CONFIG names the generated <lib>_errtable.h: it includes the library's headers
// and defines GV_ERR_NAME_FN, GV_ERR_STRING_FN and GV_ERR_ROWS(X) (X(enumerator, value)).
#include <cstdio>
#include <string>

#include GV_ERRTABLE_CONFIG

namespace {

std::string escape(const char* s) {
  std::string out;
  for (; s != nullptr && *s != '\0'; ++s) {
    switch (*s) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      default: out += *s;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT\n", argv[0]);
    return 2;
  }
  FILE* f = std::fopen(argv[1], "w");
  if (f == nullptr) {
    std::perror(argv[1]);
    return 1;
  }
  bool mismatch = false;
#define GV_ROW(e, v)                                                                  \
  mismatch |= static_cast<long long>(e) != (v);                                       \
  std::fprintf(f, "%lld\t%s\t%s\t%s\n", static_cast<long long>(e), #e,                \
               escape(GV_ERR_NAME_FN(e)).c_str(), escape(GV_ERR_STRING_FN(e)).c_str());
  GV_ERR_ROWS(GV_ROW)
#undef GV_ROW
  if (std::fclose(f) != 0 || mismatch) {
    std::fprintf(stderr, "%s: write failed or an enumerator's value differs from the parsed one\n",
                 argv[0]);
    std::remove(argv[1]);
    return 1;
  }
  return 0;
}
