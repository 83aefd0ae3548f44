"""Prototype, enum and typedef parsing on tricky header snippets."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cparse  # noqa: E402

STRIP = ["__host__", "__cudart_builtin__", "CUDARTAPI", "CUDART_CB", "__CUDA_DEPRECATED",
         "__device_builtin__"]


def parse(text):
    return cparse.parse_prototypes(text, STRIP, [], "x.h")


class PrototypeTest(unittest.TestCase):
    def test_multiline_with_macros_and_default_args(self):
        p = parse("""
        extern __host__ __cudart_builtin__ cudaError_t CUDARTAPI cudaMemset2DAsync(
              void *devPtr,   /* the device memory */
              size_t pitch,
              int value, size_t width,
              size_t height, cudaStream_t stream __dv(0));
        """)["cudaMemset2DAsync"]
        self.assertEqual(p.ret, "cudaError_t")
        self.assertEqual([x.name for x in p.params],
                         ["devPtr", "pitch", "value", "width", "height", "stream"])
        self.assertEqual(p.params[0].type, "void*")
        self.assertEqual(p.params[5].type, "cudaStream_t")
        self.assertEqual(p.signature(), "cudaError_t cudaMemset2DAsync(void* devPtr, size_t pitch,"
                         " int value, size_t width, size_t height, cudaStream_t stream)")

    def test_cpp_default_argument_and_deprecated(self):
        p = parse("extern __CUDA_DEPRECATED __host__ cudaError_t CUDARTAPI f(const char *symbol,"
                  " enum cudaDriverEntryPointQueryResult *driverStatus = NULL);")["f"]
        self.assertEqual([x.type for x in p.params],
                         ["const char*", "enum cudaDriverEntryPointQueryResult*"])

    def test_function_pointer_params(self):
        p = parse("extern cudaError_t g(void (CUDART_CB *fn)(void *userData, int), void*,"
                  " void (*)(void **));")["g"]
        self.assertTrue(p.params[0].is_fnptr)
        self.assertEqual(p.params[0].name, "fn")
        self.assertEqual(p.params[0].decl, "void (*fn)(void *userData, int)")
        self.assertEqual(p.params[1].name, "arg1")
        self.assertTrue(p.params[2].is_fnptr)
        self.assertEqual(p.params[2].name, "arg2")

    def test_struct_params_and_returns(self):
        protos = parse("""
        extern __host__ struct cudaChannelFormatDesc CUDARTAPI cudaCreateChannelDesc(int x,
            enum cudaChannelFormatKind f);
        extern cudaError_t h(struct cudaPitchedPtr pitchedDevPtr, dim3 grid,
                             const struct cudaDeviceProp *prop);
        """)
        self.assertEqual(protos["cudaCreateChannelDesc"].ret, "struct cudaChannelFormatDesc")
        h = protos["h"]
        self.assertEqual([x.type for x in h.params],
                         ["struct cudaPitchedPtr", "dim3", "const struct cudaDeviceProp*"])
        self.assertFalse(h.params[0].is_pointer)
        self.assertEqual(h.params[2].pointee(), "struct cudaDeviceProp")
        self.assertTrue(h.params[2].pointee_is_const())

    def test_pointer_to_pointer_and_const_placement(self):
        p = parse("extern cudaError_t k(void **devPtr, const cudaGraphNode_t **deps,"
                  " char * const name, unsigned int);")["k"]
        self.assertEqual(p.params[0].pointee(), "void*")
        self.assertEqual(p.params[1].pointee(), "const cudaGraphNode_t*")
        self.assertEqual(p.params[2].type, "char* const")
        self.assertFalse(p.params[2].pointee_is_const())
        self.assertEqual(p.params[3].type, "unsigned int")
        self.assertEqual(p.params[3].name, "arg3")

    def test_void_params_and_arrays(self):
        protos = parse("extern int a(void); extern int b(int v[4], char name[]);")
        self.assertEqual(protos["a"].params, [])
        self.assertEqual([(x.name, x.type) for x in protos["b"].params],
                         [("v", "int*"), ("name", "char*")])

    def test_first_declaration_wins_across_if_branches(self):
        protos = parse("""
        #if defined(__cplusplus)
        extern cudaError_t dup(int *a, int flags = 0);
        #else
        extern cudaError_t dup(long *other);
        #endif
        """)
        self.assertEqual(protos["dup"].params[0].type, "int*")

    def test_comments_typedefs_bodies_and_extern_c_blocks(self):
        protos = parse("""
        /* extern cudaError_t inComment(int x); */
        // extern cudaError_t inLineComment(int x);
        typedef cudaError_t (*fnType)(int);
        struct S { int (*cb)(int); };
        static inline int helper(int x) { return x + 1; }
        extern "C" {
        extern void** CUDARTAPI __cudaRegisterFatBinary(
          void *fatCubin
        );
        }
        extern "C" cudaError_t CUDARTAPI __cudaGetKernel(cudaKernel_t *, const void *);
        int notExtern(int y);
        """)
        self.assertEqual(sorted(protos), ["__cudaGetKernel", "__cudaRegisterFatBinary"])
        self.assertEqual(protos["__cudaRegisterFatBinary"].ret, "void**")
        self.assertEqual(protos["__cudaGetKernel"].params[0].name, "arg0")

    def test_extern_c_block_after_statement_without_semicolon(self):
        # host_runtime.h: a macro-made definition without ';' right before extern "C" {
        protos = parse("""
        static void ____nv_dummy_param_ref(void *param) __nv_dummy_param_ref(param)
        extern "C" {
        extern char CUDARTAPI __cudaInitModule(void **fatCubinHandle);
        }
        extern int atexit(void(*)(void)) throw();
        """)
        self.assertEqual(protos["__cudaInitModule"].ret, "char")
        self.assertEqual(protos["atexit"].signature(), "int atexit(void (*arg0)(void))")

    def test_attribute_macros_are_removed(self):
        p = parse("extern __attribute__((visibility(\"default\"))) int f(int x)"
                  " __attribute__((deprecated(\"no\")));")["f"]
        self.assertEqual(p.signature(), "int f(int x)")

    def test_real_runtime_header_if_present(self):
        path = "/usr/local/cuda/include/cuda_runtime_api.h"
        if not os.path.exists(path):
            self.skipTest("no CUDA toolkit")
        with open(path) as f:
            protos = parse(f.read())
        self.assertGreater(len(protos), 250)
        self.assertEqual(protos["cudaGetDeviceCount"].signature(),
                         "cudaError_t cudaGetDeviceCount(int* count)")
        self.assertEqual(protos["cudaGetErrorString"].ret, "const char*")


class EnumTest(unittest.TestCase):
    def test_values(self):
        text = """
        enum __device_builtin__ cudaError
        {
            /** doc with = signs, and commas */
            cudaSuccess = 0,
            cudaErrorA  = 0x10,
            cudaErrorB,
            cudaErrorAlias = cudaErrorA,
        #if 0
            cudaErrorC = 7
        #endif
        };
        enum other { x = 3 };
        """
        self.assertEqual(cparse.parse_enum(text, "cudaError"),
                         [("cudaSuccess", 0), ("cudaErrorA", 16), ("cudaErrorB", 17),
                          ("cudaErrorAlias", 16), ("cudaErrorC", 7)])

    def test_typedef_enum_with_stripped_attributes(self):
        text = """
        typedef enum {
            S_OK = 0,
            S_BAD = 2000,
            S_OLD DEPRECATED_ENUM = S_BAD,
        } status_t;
        """
        self.assertEqual(cparse.parse_enum(text, "status_t", ["DEPRECATED_ENUM"]),
                         [("S_OK", 0), ("S_BAD", 2000), ("S_OLD", 2000)])

    def test_anonymous_typedef_enum(self):
        text = """typedef enum { A_OK = 0, A_BAD = 7 } aStatus_t;
                  typedef enum tagged { T_X = 3, T_Y } tStatus_t;"""
        self.assertEqual(cparse.parse_enum(text, "aStatus_t"), [("A_OK", 0), ("A_BAD", 7)])
        self.assertEqual(cparse.parse_enum(text, "tStatus_t"), [("T_X", 3), ("T_Y", 4)])

    def test_missing_enum(self):
        with self.assertRaises(cparse.ParseError):
            cparse.parse_enum("enum a { b };", "cudaError")


class TypedefTest(unittest.TestCase):
    def test_pointer_typedefs(self):
        d = cparse.parse_pointer_typedefs("""
        typedef __device_builtin__ struct CUstream_st *cudaStream_t;
        typedef void (CUDART_CB *cudaHostFn_t)(void *userData);
        typedef enum cudaError cudaError_t;
        typedef struct { int x; } plain_t;
        typedef unsigned long long cudaTextureObject_t;
        """, STRIP)
        self.assertEqual(d, {"cudaStream_t": "pointer", "cudaHostFn_t": "function"})


if __name__ == "__main__":
    unittest.main()


class DriverHeaderTest(unittest.TestCase):
    """What cuda.h needs: prototypes without `extern`, and functions renamed by macros."""

    HEADER = """
    #define __CUDA_API_PTDS(api) api
    #define CUDA_VERSION 13000
    #define cuMemAlloc                          cuMemAlloc_v2
    #define cuMemcpyHtoD                        __CUDA_API_PTDS(cuMemcpyHtoD_v2)
    #define cuStreamQuery                       __CUDA_API_PTSZ(cuStreamQuery)
    #define cuGetProcAddress_v2 cuGetProcAddress_v2_ptsz
    #define cuMemAlloc                          cuMemAlloc_v9
    #ifdef __cplusplus
    extern "C" {
    #endif
    CUresult CUDAAPI cuMemAlloc(CUdeviceptr *dptr, size_t bytesize);
    CUresult CUDAAPI cuInit(unsigned int Flags);
    typedef CUresult (CUDAAPI *PFN)(int);
    #if defined(__CUDA_API_VERSION_INTERNAL)
    CUresult CUDAAPI cuMemAlloc(CUdeviceptr_v1 *dptr, unsigned int bytesize);
    #endif
    #ifdef __cplusplus
    }
    #endif
    """

    def test_plain_prototypes(self):
        plain = cparse.parse_prototypes(self.HEADER, ["CUDAAPI"], [], "cuda.h", plain=True)
        self.assertEqual(plain["cuInit"].signature(), "CUresult cuInit(unsigned int Flags)")
        # The first declaration wins: the header's main branch.
        self.assertEqual(plain["cuMemAlloc"].params[1].type, "size_t")
        self.assertNotIn("PFN", plain)
        self.assertEqual(cparse.parse_prototypes(self.HEADER, ["CUDAAPI"], [], "cuda.h"), {})

    def test_renames(self):
        self.assertEqual(cparse.parse_renames(self.HEADER), [
            ("cuMemAlloc", "cuMemAlloc_v2", ""),  # the first definition wins
            ("cuMemcpyHtoD", "cuMemcpyHtoD_v2", "ptds"),
            ("cuStreamQuery", "cuStreamQuery", "ptsz"),
        ])

    def test_version_map(self):
        text = """
typedef CUresult (CUDAAPI *PFN_cuCtxCreate_v3020)(CUcontext *pctx, unsigned int flags, int dev);
typedef CUresult (CUDAAPI *PFN_cuCtxCreate_v12050)(CUcontext *pctx, void *p, unsigned int f, int d);
typedef CUresult (CUDAAPI *PFN_cuMemcpyHtoD_v7000_ptds)(CUdeviceptr_v2 d, const void *s, size_t n);
typedef CUresult (CUDAAPI *PFN_cuMemcpyHtoD_v3020)(CUdeviceptr_v2 d, const void *s, size_t n);
/* typedef CUresult (CUDAAPI *PFN_cuNothing_v1000)(void); */
    typedef CUresult (CUDAAPI *PFN_cuCtxCreate_v2000)(CUcontext *pctx, unsigned int flags, int dev);
    typedef CUresult (CUDAAPI *PFN_cuMemcpyHtoD_v2000)(unsigned int d, const void *s, unsigned n);
typedef CUresult (CUDAAPI *PFN_cuGraphInstantiate_v10000)(void);
typedef CUresult (CUDAAPI *PFN_cuGraphInstantiate_v11000)(void);
typedef CUresult (CUDAAPI *PFN_cuBroken_v1000)(void);
typedef CUresult (CUDAAPI *PFN_cuBroken_v2000)(void);
"""
        pfn = cparse.parse_proc_versions(text)
        self.assertEqual(pfn["cuMemcpyHtoD"], {False: {2000, 3020}, True: {7000}})
        self.assertNotIn("cuNothing", pfn)  # comments are not read
        exports = {"cuCtxCreate", "cuCtxCreate_v2", "cuCtxCreate_v3", "cuCtxCreate_v4",
                   "cuMemcpyHtoD", "cuMemcpyHtoD_v2", "cuMemcpyHtoD_v2_ptds",
                   "cuGraphInstantiate", "cuGraphInstantiate_v2", "cuGraphInstantiateWithFlags",
                   "cuBroken"}
        renames = [("cuCtxCreate", "cuCtxCreate_v4", ""),
                   ("cuMemcpyHtoD", "cuMemcpyHtoD_v2", "ptds"),
                   ("cuGraphInstantiate", "cuGraphInstantiateWithFlags", "")]
        self.assertEqual(cparse.version_map(pfn, exports, renames), [
            # Three versions, the chain's last three exports (cuCtxCreate_v3 has no typedef here).
            ("cuCtxCreate", 2000, "cuCtxCreate_v2", "", 0),
            ("cuCtxCreate", 3020, "cuCtxCreate_v3", "", 0),
            ("cuCtxCreate", 12050, "cuCtxCreate_v4", "", 0),
            ("cuGraphInstantiate", 10000, "cuGraphInstantiate", "", 0),
            ("cuGraphInstantiate", 11000, "cuGraphInstantiate_v2", "", 0),
            ("cuGraphInstantiate", 12000, "cuGraphInstantiateWithFlags", "", 0),
            ("cuMemcpyHtoD", 2000, "cuMemcpyHtoD", "", 0),
            ("cuMemcpyHtoD", 3020, "cuMemcpyHtoD_v2", "cuMemcpyHtoD_v2_ptds", 7000),
            # cuBroken: two versions, one export: left out.
        ])

    def test_apply_renames(self):
        import gvgen
        protos = cparse.parse_prototypes(self.HEADER, ["CUDAAPI"], [], "cuda.h", plain=True)
        gvgen.apply_renames(cparse.parse_renames(self.HEADER), protos)
        self.assertNotIn("cuMemAlloc", protos)  # the legacy export has no usable prototype
        self.assertEqual(protos["cuMemAlloc_v2"].signature(),
                         "CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize)")
