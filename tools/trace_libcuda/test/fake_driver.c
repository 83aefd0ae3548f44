/* A stand-in for the real driver in the trace tool's test: one private table whose slots add
 * their arguments (six in registers, two on the stack) and write through a pointer. */
#include <stdint.h>

typedef struct {
  unsigned char bytes[16];
} Uuid;

static long add2(long a, long b) { return a + b; }
static long add8(long a, long b, long c, long d, long e, long f, long g, long h) {
  return a + b + c + d + e + f + g * 100 + h * 1000;
}
static long store(long* out) {
  *out = 42;
  return 7;
}
static const void* table[] = {(const void*)(4 * sizeof(void*)), (const void*)add2,
                              (const void*)add8, (const void*)store};

int cuGetExportTable(const void** out, const Uuid* id) {
  (void)id;
  *out = table;
  return 0;
}
int cuInit(unsigned flags) { return flags == 0 ? 0 : 1; }
