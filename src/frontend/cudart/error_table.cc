#include "frontend/cudart/error_table.h"

#include <algorithm>
#include <vector>

namespace gvirtus::cudart {

namespace {

struct Row {
  int code;
  const char* name;
  const char* text;
};

// Rows {code, "cudaErrorX", "description"}, produced at build time from the real runtime.
const Row kRows[] = {
#include "cudart_errors.inc"
};

constexpr const char* kUnrecognized = "unrecognized error code";

const Row* find(int code) {
  // Sorted once; lookups are a binary search.
  static const std::vector<const Row*> sorted = [] {
    std::vector<const Row*> v;
    for (const Row& r : kRows) v.push_back(&r);
    std::stable_sort(v.begin(), v.end(),
                     [](const Row* a, const Row* b) { return a->code < b->code; });
    return v;
  }();
  auto it = std::lower_bound(sorted.begin(), sorted.end(), code,
                             [](const Row* r, int c) { return r->code < c; });
  if (it == sorted.end() || (*it)->code != code) return nullptr;
  return *it;
}

}  // namespace

const char* error_name(int code) {
  const Row* r = find(code);
  return r ? r->name : kUnrecognized;
}

const char* error_string(int code) {
  const Row* r = find(code);
  return r ? r->text : kUnrecognized;
}

int error_table_size() { return static_cast<int>(sizeof kRows / sizeof kRows[0]); }

int error_table_code(int row) { return kRows[row].code; }

}  // namespace gvirtus::cudart
