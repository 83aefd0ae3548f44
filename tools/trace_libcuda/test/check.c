/* The trace tool's test: through the tracing libcuda.so.1 (argv[1]), a forwarded export and the
 * wrapped slots of a table must behave as the fake driver's own, stack arguments included; the
 * log must name the table and the slots. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

typedef struct {
  unsigned char bytes[16];
} Uuid;

static int log_has(const char* path, const char* what) {
  static char buf[1 << 16];
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return strstr(buf, what) != NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  remove(argv[2]);
  setenv("GVIRTUS_TRACE_LOG", argv[2], 1);
  void* h = dlopen(argv[1], RTLD_NOW);
  if (!h) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  typedef int (*GetTable)(const void**, const Uuid*);
  GetTable get = (GetTable)dlsym(h, "cuGetExportTable");
  int (*init)(unsigned) = (int (*)(unsigned))dlsym(h, "cuInit");
  if (!get || !init) return 1;
  int bad = 0;
  if (init(0) != 0 || init(3) != 1) bad |= 1;
  Uuid id = {{0xab, 0xcd}};
  const void** t = NULL;
  if (get((const void**)&t, &id) != 0 || !t) return 1;
  long (*add2)(long, long) = (long (*)(long, long))t[1];
  long (*add8)(long, long, long, long, long, long, long, long) =
      (long (*)(long, long, long, long, long, long, long, long))t[2];
  long (*store)(long*) = (long (*)(long*))t[3];
  long out = 0;
  if ((long)(uintptr_t)t[0] != 32) bad |= 2;
  if (add2(2, 3) != 5) bad |= 4;
  if (add8(1, 2, 3, 4, 5, 6, 7, 8) != 8721) bad |= 8;
  if (store(&out) != 7 || out != 42) bad |= 16;
  if (!log_has(argv[2], "cuGetExportTable abcd0000-0000-0000-0000-000000000000 -> table"))
    bad |= 32;
  if (!log_has(argv[2],
               "call abcd0000-0000-0000-0000-000000000000[2](0x1, 0x2, 0x3, 0x4, 0x5, 0x6) -> "
               "0x2211"))
    bad |= 64;
  if (!log_has(argv[2], "*a0={0x2a,")) bad |= 128;  /* what store() wrote, read after the call */
  printf("%s (%d)\n", bad ? "FAIL" : "ok", bad);
  return bad;
}
