"""A small fake library for the generator tests: header, annotation file, exports."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import apifile  # noqa: E402
import cparse  # noqa: E402
import resolve  # noqa: E402

HEADER = """
#pragma once
#include <stddef.h>
#include <stdint.h>
#ifndef FAKEAPI
#define FAKEAPI
#endif
#ifndef FAKE_CB
#define FAKE_CB
#endif
#ifdef __cplusplus
extern "C" {
#endif
typedef enum fakeStatus { fakeOk = 0, fakeErrInvalid = 1, fakeErrNoMem = 2,
                          fakeErrUnsupported = 801, fakeErrHandle = 400 } fakeStatus_t;
typedef struct fakeStream_st *fakeStream_t;
typedef struct fakeOpaque_st *fakeOpaque_t;
typedef void (FAKE_CB *fakeCallback_t)(void *user);
struct fakeProps { int major; int minor; char name[32]; double clock; };
typedef struct { unsigned x, y, z; } fakeDim;

extern FAKEAPI fakeStatus_t fakeGetCount(int *count);
extern FAKEAPI fakeStatus_t fakeGetProps(struct fakeProps *props, int device);
extern FAKEAPI fakeStatus_t fakeSetValue(int device, enum fakeStatus mode, float scale,
                                         fakeDim dims, unsigned long long big);
extern FAKEAPI fakeStatus_t fakeGetName(char *name, int len, int device);
extern FAKEAPI fakeStatus_t fakeFindByName(int *device, const char *name);
extern FAKEAPI fakeStatus_t fakeChoose(int *device, const struct fakeProps *props);
extern FAKEAPI fakeStatus_t fakeSum(long long *sum, const int *values, int n);
extern FAKEAPI fakeStatus_t fakeFill(void *devPtr, int value, size_t count);
extern FAKEAPI fakeStatus_t fakeAlloc(void **devPtr, size_t size);
extern FAKEAPI fakeStatus_t fakeScratch(void *host, size_t bytes, int add);
extern FAKEAPI fakeStatus_t fakeStreamCreate(fakeStream_t *stream, unsigned int flags);
extern FAKEAPI fakeStatus_t fakeStreamDestroy(fakeStream_t stream);
extern FAKEAPI fakeStatus_t fakeStreamGetFlags(fakeStream_t stream, unsigned int *flags);
extern FAKEAPI fakeStatus_t fakeStreamSync(fakeStream_t stream);
extern FAKEAPI fakeStatus_t fakeOpaqueUse(fakeOpaque_t obj);
extern FAKEAPI fakeStatus_t fakeAddCallback(fakeCallback_t cb, void *user);
extern FAKEAPI fakeStatus_t fakeHandWritten(void *p, size_t n);
extern FAKEAPI fakeStatus_t fakeLocalOne(int *x);
extern FAKEAPI const char *fakeGetString(fakeStatus_t s);
extern FAKEAPI struct fakeProps fakeMakeProps(int major);
extern FAKEAPI void fakeVoidFn(int x);
#ifdef __cplusplus
}
#endif
"""

# A prototype only read, never included (its types are unknown to generated code).
OTHER_HEADER = """
extern FAKEAPI fakeStatus_t fakeGLThing(GLuint buffer);
extern FAKEAPI unsigned char fakeInitModule(void **handle);
extern FAKEAPI void **fakeRegister(void *blob);
"""

API = """
# fake library for tests
library          fake
soname           libfake.so.1
include          fake.h
strip            FAKEAPI FAKE_CB
alias_suffix     _ptsz
ids              1000-1999
reserve          1-99 control calls
status           fakeStatus_t ok=fakeOk unsupported=fakeErrUnsupported invalid=fakeErrInvalid nomem=fakeErrNoMem
handle           fakeStream_t stream
bound            buffer=4096 string=64
client_namespace gvirtus::fake
client_include   fake_glue.h
client_fail      gvirtus::fake::set_last_error
server_namespace gvirtus::backend::fake
server_include   fake_support.h

1000 fakeGetCount        gen count:out
1001 fakeGetProps        gen props:out
1002 fakeSetValue        gen
1003 fakeGetName         gen name:out[len]
1004 fakeFindByName      gen device:out name:instr
1005 fakeChoose          gen device:out props:in
1006 fakeSum             gen sum:out values:in[n]
1007 fakeFill            gen devPtr:dptr
1008 fakeAlloc           gen devPtr:out
1009 fakeStreamCreate    gen stream:out
1010 fakeStreamDestroy   gen stream:release
1011 fakeStreamGetFlags  gen flags:out
1012 fakeStreamSync      gen
1013 fakeStreamSync_ptsz gen
1014 fakeScratch         gen host:io[bytes]
1100 fakeHandWritten     hand
1900 gvFakeInternal      internal
-    fakeLocalOne        local
-    fakeGetString       local
"""

EXPORTS = {
    "fakeGetCount", "fakeGetProps", "fakeSetValue", "fakeGetName", "fakeFindByName",
    "fakeChoose", "fakeSum", "fakeFill", "fakeAlloc", "fakeStreamCreate", "fakeStreamDestroy",
    "fakeStreamGetFlags", "fakeStreamSync", "fakeStreamSync_ptsz", "fakeOpaqueUse",
    "fakeAddCallback", "fakeHandWritten", "fakeLocalOne", "fakeGetString", "fakeMakeProps",
    "fakeVoidFn", "fakeScratch", "fakeGLThing", "fakeInitModule", "fakeRegister", "fakeNoPrototype",
}


def build(api=API, header=HEADER, exports=None, other=OTHER_HEADER):
    lib = apifile.parse(api, "api/fake.api")
    protos = cparse.parse_prototypes(header, lib.strip, lib.strip_calls, "fake.h")
    others = cparse.parse_prototypes(other, lib.strip, lib.strip_calls, "other.h")
    typedefs = cparse.parse_pointer_typedefs(header, lib.strip)
    fns = resolve.resolve(lib, protos, others, set(EXPORTS if exports is None else exports),
                          typedefs)
    return lib, fns
