"""What library plugins need from the generator: pointer-mode scalars, per-name default specs,
generated handle helpers, the plugin description, calls marked `enqueue`."""
import unittest

import fake  # noqa: F401  (puts tools/gen on sys.path)
import apifile  # noqa: E402
import emit  # noqa: E402
from test_emit import function_body  # noqa: E402

HEADER = fake.HEADER.replace("#ifdef __cplusplus\n}", """
extern FAKEAPI fakeStatus_t fakeAxpy(fakeStream_t h, int n, const float *alpha, const float *x,
                                     float *y);
extern FAKEAPI fakeStatus_t fakeDot(fakeStream_t h, int n, const float *x, float *result);
extern FAKEAPI fakeStatus_t fakeRotg(fakeStream_t h, double *a, double *c);
extern FAKEAPI fakeStatus_t fakeScaleEx(fakeStream_t h, const void *alpha, int type);
extern FAKEAPI fakeStatus_t fakeWork(fakeStream_t h, void *host, size_t bytes, const int *ro);
extern FAKEAPI fakeStatus_t fakeFillValues(fakeStream_t h, int n, float *values);
#ifdef __cplusplus
}""", 1)
EXPORTS = fake.EXPORTS | {"fakeAxpy", "fakeDot", "fakeRotg", "fakeScaleEx", "fakeWork",
                          "fakeFillValues"}
DIRECTIVES = ("handle           fakeStream_t stream kind=kStream invalid=fakeErrHandle\n"
              "pointer_mode     gvirtus::fake::device_pointers(h)\n"
              "server_pointer_mode gvirtus::backend::fake::device_pointers(h)\n"
              "default          alpha:scalar result:result x:dptr y:dptr\n"
              "backend_plugin   libfake.so.1 libfakeextra.so.1\n")
LINES = ("1500 fakeAxpy gen enqueue\n"
         "1501 fakeDot gen x:in[n]\n"
         "1502 fakeRotg gen a:scalar_io c:result\n"
         "1503 fakeScaleEx gen alpha:scalar[gvirtus::fake::bytes(type)]\n")


def api(extra_directives=DIRECTIVES, lines=LINES, unavailable=" unavailable=fakeErrHandle"):
    text = fake.API.replace("handle           fakeStream_t stream\n", extra_directives)
    text = text.replace("nomem=fakeErrNoMem", "nomem=fakeErrNoMem" + unavailable)
    return text + lines


def build(text=None):
    return fake.build(api=text or api(), header=HEADER, exports=EXPORTS)


class PointerModeScalarsTest(unittest.TestCase):
    def setUp(self):
        self.lib, self.fns = build()
        self.client = emit.client_source(self.lib, self.fns)
        self.server = emit.server_source(self.lib, self.fns)

    def test_client_sends_bytes_or_device_pointer(self):
        c = function_body(self.client, 'extern "C" GV_API fakeStatus_t fakeAxpy(')
        self.assertIn("const bool gv_dev = gvirtus::fake::device_pointers(h);", c)
        self.assertIn("const size_t gv_z_alpha = static_cast<size_t>(sizeof(float));", c)
        # bounded before anything is sent
        self.assertLess(c.index("gv_z_alpha > 64"), c.index("gvirtus::client::Call"))
        self.assertIn("gv_a.put_bytes(alpha, gv_z_alpha);", c)
        self.assertIn("gv_a.put<uint64_t>(gv_u64(alpha));", c)
        # defaults: x and y are device pointers
        self.assertIn("gv_a.put<uint64_t>(gv_u64(x));", c)
        self.assertIn("gv_a.put<uint64_t>(gv_u64(y));", c)

    def test_results_come_back_only_in_host_mode(self):
        c = function_body(self.client, 'extern "C" GV_API fakeStatus_t fakeDot(')
        self.assertIn("if (result != nullptr && !gv_dev) std::memcpy(result, "
                      "gv_r.get_bytes(gv_z_result), gv_z_result);", c)
        self.assertNotIn("gv_a.put_bytes(result", c)  # an output sends no bytes
        # a line's own spec wins over the default (x:in[n] here, not dptr)
        self.assertIn("gv_a.put_bytes(x, ", c)

    def test_in_out_scalar_goes_both_ways(self):
        c = function_body(self.client, 'extern "C" GV_API fakeStatus_t fakeRotg(')
        self.assertIn("gv_a.put_bytes(a, gv_z_a);", c)
        self.assertIn("std::memcpy(a, gv_r.get_bytes(gv_z_a), gv_z_a);", c)
        s = function_body(self.server, "void handle_fakeRotg(")
        self.assertIn("if (gv_t_a == 1) gv_ctx.out.put_bytes(gv_s_a, gv_z_a);", s)
        self.assertIn("if (gv_t_c == 1) gv_ctx.out.put_bytes(gv_s_c, gv_z_c);", s)

    def test_server_bounds_and_checks_the_tag(self):
        s = function_body(self.server, "void handle_fakeAxpy(")
        self.assertIn("if (gv_z_alpha == 0 || gv_z_alpha > 64)", s)
        self.assertIn("throw SessionFault(", s)
        self.assertIn("scalar tag is not 0, 1 or 2", s)
        self.assertIn("static_cast<const float*>(static_cast<void*>(gv_s_alpha))", s)
        self.assertIn("gv_from_u64<const float*>(gv_d_alpha)", s)

    def test_server_checks_the_form_against_the_librarys_own_mode(self):
        # after the handle is translated (the expression reads the real handle), before the call
        s = function_body(self.server, "void handle_fakeAxpy(")
        check = s.index("if (gv_t_alpha != 0 && (gv_t_alpha == 2) != static_cast<bool>("
                        "gvirtus::backend::fake::device_pointers(h)))")
        self.assertLess(s.index("stream_in(gv_ctx, gv_w_h, &h)"), check)
        self.assertLess(check, s.index("const fakeStatus_t gv_r ="))
        self.assertIn("where the library's pointer mode takes the other", s)
        # a device pointer must be GPU memory, whatever the mode says by the time of the call
        memory = s.index("if (gv_t_alpha == 2 && gv_d_alpha != 0 && "
                         "!gvirtus::backend::device_memory(")
        self.assertLess(check, memory)
        self.assertLess(memory, s.index("const fakeStatus_t gv_r ="))

    def test_server_check_runs_before_the_call_on_the_decoded_buffers(self):
        lines = LINES.replace("1501 fakeDot gen x:in[n]\n",
                              "1501 fakeDot gen x:in[n] server_check=gvirtus::backend::fake::ok(@x,n)\n")
        lib, fns = build(api(lines=lines))
        s = function_body(emit.server_source(lib, fns), "void handle_fakeDot(")
        check = s.index("gvirtus::backend::fake::ok((gv_p_x ? gv_b_x.data() : nullptr),n);")
        self.assertLess(s.index("gv_in.expect_end();"), check)
        self.assertLess(check, s.index("const fakeStatus_t gv_r ="))

    def test_server_check_must_name_parameters(self):
        lines = LINES.replace("1501 fakeDot gen x:in[n]\n",
                              "1501 fakeDot gen x:in[n] server_check=ok(@nothere)\n")
        lib, fns = build(api(lines=lines))
        with self.assertRaises(SystemExit) as e:
            emit.server_source(lib, fns)
        self.assertIn("server_check names no parameter", str(e.exception))

    def test_a_client_pointer_mode_needs_a_server_one(self):
        directives = DIRECTIVES.replace(
            "server_pointer_mode gvirtus::backend::fake::device_pointers(h)\n", "")
        lib, fns = build(api(extra_directives=directives))
        with self.assertRaises(SystemExit) as e:
            emit.server_source(lib, fns)
        self.assertIn("need a server_pointer_mode", str(e.exception))

    def test_without_a_pointer_mode_a_device_scalar_ends_the_session(self):
        directives = DIRECTIVES.replace("pointer_mode     gvirtus::fake::device_pointers(h)\n", "")
        directives = directives.replace(
            "server_pointer_mode gvirtus::backend::fake::device_pointers(h)\n", "")
        lib, fns = build(api(extra_directives=directives))
        s = function_body(emit.server_source(lib, fns), "void handle_fakeAxpy(")
        self.assertIn("if (gv_t_alpha != 0 && (gv_t_alpha == 2) != static_cast<bool>(false))", s)
        self.assertNotIn("device_memory", s)  # no device pointer gets that far
        # the bytes are read before the call, checked against the end of the request
        self.assertLess(s.index("std::memcpy(gv_s_alpha"), s.index("gv_in.expect_end();"))

    def test_client_byte_count_expression(self):
        c = function_body(self.client, 'extern "C" GV_API fakeStatus_t fakeScaleEx(')
        self.assertIn("static_cast<size_t>(gvirtus::fake::bytes(type));", c)

    def test_void_scalar_needs_a_byte_count(self):
        with self.assertRaisesRegex(apifile.AnnotationError, r"void\*: scalar needs \[BYTES\]"):
            build(api(lines=LINES.replace("alpha:scalar[gvirtus::fake::bytes(type)]",
                                          "alpha:scalar")))

    def test_const_result_is_refused(self):
        with self.assertRaisesRegex(apifile.AnnotationError, "cannot be a result"):
            build(api(lines=LINES.replace("1500 fakeAxpy gen enqueue",
                                          "1500 fakeAxpy gen enqueue alpha:result")))


class HandlesAndPluginTest(unittest.TestCase):
    def test_handle_helpers(self):
        lib, _ = build()
        h = emit.handles_header(lib)
        self.assertIn("inline bool stream_in(CallContext& ctx, uint64_t id, fakeStream_t* out) {", h)
        self.assertIn("::gvirtus::backend::HandleKind::kStream, id, out, "
                      "static_cast<int32_t>(fakeErrHandle));", h)
        self.assertIn("inline uint64_t stream_out(CallContext& ctx, fakeStream_t obj) {", h)
        self.assertIn("inline bool stream_release(", h)
        self.assertIn('#include "fake_handles.h"', emit.server_source(*build()))

    def test_handle_standing_for_another_kind(self):
        lib, _ = build(api(extra_directives=DIRECTIVES.replace(
            "kind=kStream", "kind=kStream|kEvent")))
        h = emit.handles_header(lib)
        self.assertIn("(::gvirtus::backend::handle_kind_of(id) == ::gvirtus::backend::HandleKind::"
                      "kEvent ? ::gvirtus::backend::HandleKind::kEvent : ::gvirtus::backend::"
                      "HandleKind::kStream), id, out,", h)
        release = h[h.index("inline bool stream_release("):]
        self.assertIn("handle_release_as(ctx, ::gvirtus::backend::HandleKind::kStream, id", release)

    def test_plugin_description_and_entry_point(self):
        lib, fns = build()
        inc = emit.plugin_inc(lib)
        self.assertIn('kSonames_fake[] = {"libfake.so.1", "libfakeextra.so.1", nullptr};', inc)
        self.assertIn('{"fake", 1000, 1999, static_cast<int32_t>(fakeErrHandle), kSonames_fake}',
                      inc)
        # only the first header (it declares the status type): the backend puts every library's
        # description in one file
        self.assertEqual(inc.count("#include"), 1)
        self.assertIn("#include <fake.h>", inc)
        server = emit.server_source(lib, fns)
        self.assertIn("gvirtus_backend_plugin_v1_fake()", server)
        self.assertIn('static const PluginTable t = {"fake", kHandlers,', server)

    def test_plugin_needs_an_unavailable_status(self):
        with self.assertRaisesRegex(apifile.AnnotationError, "unavailable="):
            build(api(unavailable=""))

    def test_handle_options(self):
        with self.assertRaisesRegex(apifile.AnnotationError, "kind= and invalid="):
            build(api(extra_directives=DIRECTIVES.replace("invalid=", "bad=")))

    def test_no_plugin_no_entry_point(self):
        lib, fns = fake.build()
        self.assertNotIn("gvirtus_backend_plugin_v1", emit.server_source(lib, fns))


class InOutBufferTest(unittest.TestCase):
    """io[EXPR]: a host buffer sent with the request and written back on success (cuSOLVER's
    host workspaces)."""

    def test_sent_and_written_back(self):
        lib, fns = build(api(lines=LINES + "1504 fakeWork gen host:io[bytes] ro:in[bytes*2+1]\n"))
        c = function_body(emit.client_source(lib, fns), 'extern "C" GV_API fakeStatus_t fakeWork(')
        # bounded by the client, sent after the first pass, read back after success
        self.assertLess(c.index("static_cast<unsigned long long>(gv_n_host) > 4096u"), c.index("gvirtus::client::Call"))
        self.assertIn("if (host != nullptr) gv_a.put_bytes(host, ", c)
        self.assertLess(c.index("gv_a.put_bytes(host"), c.index("gv_c.invoke()"))
        self.assertIn("std::memcpy(host, gv_r.get_bytes(gv_bytes), gv_bytes);", c)
        s = function_body(emit.server_source(lib, fns), "void handle_fakeWork(")
        # sized from the decoded arguments, filled from the request, sent back
        self.assertIn('gv_count(static_cast<long long>(bytes), sizeof(unsigned char), '
                      '"fakeWork: host")', s)
        self.assertIn("if (gv_n_host) std::memcpy(gv_b_host.data(), gv_in.get_bytes(", s)
        self.assertIn("if (gv_p_host) gv_ctx.out.put_bytes(gv_b_host.data(), "
                      "gv_n_host * sizeof(unsigned char));", s)
        self.assertNotIn("gv_ctx.out.put_bytes(gv_b_ro", s)
        # lengths are computed in long long from widened parameters on both sides
        self.assertIn("gv_count(static_cast<long long>(bytes)*2+1, sizeof(int)", s)
        self.assertIn("const long long gv_n_ro = static_cast<long long>(bytes)*2+1;", c)

    def test_io_needs_a_length_and_a_writable_buffer(self):
        with self.assertRaisesRegex(apifile.AnnotationError, "io needs"):
            build(api(lines=LINES + "1504 fakeWork gen host:io ro:in[1]\n"))
        with self.assertRaisesRegex(apifile.AnnotationError, "cannot be an output"):
            build(api(lines=LINES + "1504 fakeWork gen host:io[bytes] ro:io[1]\n"))


class RefTypedefTest(unittest.TestCase):
    """A `ref` may name a by-value typedef that hides a pointer (cuSPARSE's matrix descriptor
    given to cuSOLVER): the client's NAME_to_wire turns it into a value."""

    def test_ref_on_opaque_typedef(self):
        text = api(lines=LINES + "1505 fakeOpaqueUse gen obj:opaque\n")
        text = text.replace("bound            ", "ref              opaque\nbound            ", 1)
        lib, fns = build(text)
        c = function_body(emit.client_source(lib, fns), 'extern "C" GV_API fakeStatus_t fakeOpaqueUse(')
        self.assertIn("gvirtus::fake::opaque_to_wire(obj, &gv_r_obj);", c)
        s = function_body(emit.server_source(lib, fns), "void handle_fakeOpaqueUse(")
        self.assertIn("fakeOpaque_t obj;", s)
        self.assertIn("gvirtus::backend::fake::opaque_in(gv_ctx, gv_w_obj, &obj)", s)


class EnqueueTest(unittest.TestCase):
    def test_enqueue_only_lists_marked_calls(self):
        lib, fns = build()
        calls = emit.calls_header(lib, fns)
        i = calls.index("inline bool enqueue_only(")
        body = calls[i:calls.index("\n}\n", i)]
        self.assertIn("case kCall_fakeAxpy:", body)
        self.assertNotIn("kCall_fakeDot", body)

    def test_enqueue_on_local_is_refused(self):
        with self.assertRaisesRegex(apifile.AnnotationError, "enqueue applies"):
            build(api(lines=LINES + "-    fakeVoidFn local enqueue\n"))



class InoutTest(unittest.TestCase):
    """`inout` / `inout[n]`: values that travel to the server and back (NVML's versioned
    structs, nvmlDeviceGetFieldValues's array)."""

    LINES = LINES.replace("1502 fakeRotg gen a:scalar_io c:result", "1502 fakeRotg gen a:inout c:out") + \
        "1504 fakeFillValues gen values:inout[n]\n"

    def setUp(self):
        self.lib, self.fns = build(api(lines=self.LINES))
        self.client = emit.client_source(self.lib, self.fns)
        self.server = emit.server_source(self.lib, self.fns)

    def test_value_goes_both_ways(self):
        c = function_body(self.client, 'extern "C" GV_API fakeStatus_t fakeRotg(')
        self.assertIn("if (a != nullptr) gv_a.put_bytes(static_cast<const void*>(a), "
                      "sizeof(double));", c)
        self.assertIn("if (a != nullptr) std::memcpy(static_cast<void*>(a), "
                      "gv_r.get_bytes(sizeof(double)), sizeof(double));", c)
        self.assertNotIn("gv_a.put<double>(*c)", c)  # an out sends nothing
        s = function_body(self.server, "void handle_fakeRotg(")
        self.assertIn("if (gv_p_a) gv_v_a = gv_in.get<double>();", s)
        # written back only on success
        self.assertLess(s.index("if (gv_r != fakeOk) return;"),
                        s.index("if (gv_p_a) gv_ctx.out.put<double>(gv_v_a);"))

    def test_buffer_goes_both_ways(self):
        c = function_body(self.client, 'extern "C" GV_API fakeStatus_t fakeFillValues(')
        self.assertIn("if (values != nullptr) gv_a.put_bytes(values, ", c)
        self.assertIn("std::memcpy(values, gv_r.get_bytes(gv_bytes), gv_bytes);", c)
        s = function_body(self.server, "void handle_fakeFillValues(")
        self.assertIn("gv_count(static_cast<long long>(n), sizeof(float)", s)
        self.assertLess(s.index("std::memcpy(gv_b_values.data(), gv_in.get_bytes("),
                        s.index("gv_in.expect_end();"))
        self.assertIn("if (gv_p_values) gv_ctx.out.put_bytes(gv_b_values.data(), ", s)

    def test_const_inout_is_refused(self):
        with self.assertRaisesRegex(apifile.AnnotationError, "cannot be an output"):
            build(api(lines=LINES.replace("1501 fakeDot gen x:in[n]", "1501 fakeDot gen x:inout[n]")))
        with self.assertRaisesRegex(apifile.AnnotationError, "cannot be an output"):
            build(api(lines=LINES.replace("1500 fakeAxpy gen enqueue",
                                          "1500 fakeAxpy gen enqueue alpha:inout")))

    def test_versioned_struct_travels_as_large_as_its_version(self):
        lib, fns = build(api(lines=LINES.replace("1502 fakeRotg gen a:scalar_io c:result",
                                                 "1502 fakeRotg gen a:versioned c:out")))
        c = function_body(emit.client_source(lib, fns), 'extern "C" GV_API fakeStatus_t fakeRotg(')
        self.assertIn("gv_z_a = gv_ver & 0xFFFFFFu;", c)
        # a version larger than the header's struct is answered before anything is read or sent
        self.assertLess(c.index("if (gv_z_a > sizeof(double)) return gv_fail(fakeErrInvalid);"),
                        c.index("gvirtus::client::Call"))
        self.assertIn("gv_a.put_bytes(a, gv_z_a);", c)
        self.assertIn("std::memcpy(static_cast<void*>(a), gv_r.get_bytes(gv_z_a), gv_z_a);", c)
        s = function_body(emit.server_source(lib, fns), "void handle_fakeRotg(")
        self.assertIn("the version's size is not the bytes sent", s)
        self.assertIn("std::vector<unsigned char> gv_b_a(gv_z_a > sizeof(double) ? gv_z_a : "
                      "sizeof(double));", s)
        self.assertIn("if (gv_p_a) gv_ctx.out.put_bytes(gv_b_a.data(), gv_z_a);", s)
        with self.assertRaisesRegex(apifile.AnnotationError, "versioned applies"):
            build(api(lines=LINES.replace("1501 fakeDot gen x:in[n]", "1501 fakeDot gen x:versioned")))

    def test_exports_list(self):
        import gvgen
        import os
        import tempfile
        lib = apifile.parse(api().replace("soname", "exports_list     fake.exports\nsoname", 1))
        self.assertEqual(lib.exports_list, "fake.exports")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "fake.exports")
            with open(path, "w") as f:
                f.write("# the real library's functions\nfakeAxpy\n\nfakeDot  # comment\n")
            self.assertEqual(gvgen.read_exports_list(path), {"fakeAxpy", "fakeDot"})
            with open(path, "w") as f:
                f.write("# nothing\n")
            with self.assertRaisesRegex(gvgen.GenError, "lists no functions"):
                gvgen.read_exports_list(path)


if __name__ == "__main__":
    unittest.main()


class ClientIdTest(unittest.TestCase):
    """`client_id`: a create that succeeded before with the same request names its object by
    its ticket and goes out without waiting; the worker claims the id before the call and binds
    it after."""

    def build(self, spec="stream:out client_id after=note(stream)"):
        text = api().replace("1009 fakeStreamCreate    gen stream:out",
                             "1009 fakeStreamCreate    gen " + spec)
        lib, fns = build(text)
        return (function_body(emit.client_source(lib, fns),
                              'extern "C" GV_API fakeStatus_t fakeStreamCreate('),
                function_body(emit.server_source(lib, fns), "void handle_fakeStreamCreate("))

    def test_client_names_the_object_after_a_known_request(self):
        c, _ = self.build()
        flag = c.index("const size_t gv_o_stream = gv_a.size();")
        known = c.index("const bool gv_known = stream != nullptr && "
                        "gvirtus::client::create_known(gv_c);")
        self.assertLess(flag, known)
        branch = c.index("if (gv_known && gvirtus::client::client_ids()) {")
        self.assertLess(branch, c.index("gv_a.buffer()[gv_o_stream] = 2;"))
        send = c.index("if (!gv_c.send_async(&gv_t)) return gvirtus::fake::lost();")
        name = c.index("*stream = gv_from_u64<fakeStream_t>(gvirtus::wire::client_id("
                       "gvirtus::wire::HandleKind::kStream, gv_t));")
        self.assertLess(send, name)
        self.assertLess(name, c.index("note(stream);", name))
        self.assertLess(name, c.index("gv_c.invoke()"))  # otherwise: waits as usual
        # a waited create that succeeded is remembered
        self.assertIn("if (!gv_known) gvirtus::client::create_succeeded(gv_c);", c)

    def test_server_claims_before_and_binds_after(self):
        _, s = self.build()
        self.assertIn("if (gv_f_stream > 2) throw gvirtus::wire::DecodeError(", s)
        claim = s.index("const uint64_t gv_cid_stream = gv_f_stream == 2 ? "
                        "gvirtus::backend::fake::stream_claim(gv_ctx) : 0;")
        call = s.index("= fakeStreamCreate(")
        self.assertLess(claim, call)
        bind = s.index("if (!gvirtus::backend::fake::stream_bind(gv_ctx, gv_cid_stream, "
                       "gv_v_stream)) return;")
        self.assertLess(call, bind)
        self.assertIn("} else if (gv_p_stream) {", s)  # flag 1: the worker's id, as before

    def test_refused_where_it_cannot_apply(self):
        with self.assertRaises(Exception) as e:
            emit.client_source(*build(api(lines=LINES.replace(
                "1501 fakeDot gen x:in[n]", "1501 fakeDot gen x:in[n] client_id"))))
        self.assertIn("client_id applies to a create", str(e.exception))
        with self.assertRaises(Exception) as e:
            self.build("stream:out client_id async_if=sure()")
        self.assertIn("does not mix", str(e.exception))
        with self.assertRaises(Exception) as e:
            self.build("stream:out")  # fine without the word ...
            build(api().replace("1009 fakeStreamCreate    gen stream:out",
                                "1009 fakeStreamCreate    hand client_id"))
        self.assertIn("client_id applies to gen functions", str(e.exception))
