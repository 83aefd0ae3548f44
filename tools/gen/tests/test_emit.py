"""What the generator writes for the fake library: the shape of each output, and an end-to-end
run of the generated client stubs against the generated server handlers (needs g++)."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import fake  # noqa: F401  (puts tools/gen on sys.path)
import emit  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def generate():
    lib, fns = fake.build()
    return lib, fns, {
        "calls": emit.calls_header(lib, fns),
        "client": emit.client_source(lib, fns),
        "server": emit.server_source(lib, fns),
        "map": emit.version_script(lib, fake.EXPORTS),
        "status": emit.status_table(lib, fns),
    }


def function_body(text, signature_start):
    i = text.index(signature_start)
    j = text.index("\n}\n", i)
    return text[i:j + 3]


class RefTest(unittest.TestCase):
    """A `ref` parameter: translated by NAME_to_wire on the client, NAME_in on the server."""

    def test_ref_parameter(self):
        api = fake.API.replace("bound            ", "ref              func\nbound            ", 1)
        api = "\n".join(ln for ln in api.split("\n") if not ln.startswith("1007 fakeFill"))
        api += "\n1007 fakeFill gen devPtr:func\n"
        lib, fns = fake.build(api=api)
        client = function_body(emit.client_source(lib, fns), 'extern "C" GV_API fakeStatus_t fakeFill(')
        self.assertIn("gvirtus::fake::func_to_wire(devPtr, &gv_r_devPtr);", client)
        self.assertLess(client.index("func_to_wire"), client.index("gvirtus::client::Call"))
        self.assertIn("if (gv_e != fakeOk) return gv_fail(gv_e);", client)
        self.assertIn("gv_a.put<uint64_t>(gv_r_devPtr);", client)
        server = function_body(emit.server_source(lib, fns), "void handle_fakeFill(")
        self.assertIn("const uint64_t gv_w_devPtr = gv_in.get<uint64_t>();", server)
        self.assertIn("if (!gvirtus::backend::fake::func_in(gv_ctx, gv_w_devPtr, &devPtr)) return;",
                      server)
        self.assertLess(server.index("gv_in.expect_end();"), server.index("func_in("))


class HookTest(unittest.TestCase):
    """The word `hook`: the client stub calls <client_ns>::hook_NAME(args) after a success."""

    def test_hook(self):
        api = "\n".join(ln for ln in fake.API.split("\n") if not ln.startswith("1007 fakeFill"))
        api += "\n1007 fakeFill gen hook devPtr:dptr\n"
        lib, fns = fake.build(api=api)
        client = function_body(emit.client_source(lib, fns), 'extern "C" GV_API fakeStatus_t fakeFill(')
        # the same path as after=: run once the call succeeded, before finish()
        self.assertIn("if (gv_c.status() == fakeOk) gvirtus::fake::hook_fakeFill(devPtr, value, "
                      "count);", client)
        self.assertIn("return gvirtus::fake::finish(gv_c);", client)

    def test_errors_without_name_function(self):
        api = fake.API + "\nerrors fake.h fakeStatus - fakeGetErrorString\n"
        lib, _fns = fake.build(api=api)
        cfg = emit.errtable_config(lib, [("fakeOk", 0)])
        self.assertIn("#define GV_ERR_NAME_FN(e) #e", cfg)
        self.assertIn("#define GV_ERR_STRING_FN fakeGetErrorString", cfg)


class PointerModeAndAfterTest(unittest.TestCase):
    """A line's pointer_mode=EXPR replaces the library's, `$param` making one decision per
    scalar; after=EXPR runs on the client once the call succeeded (cuBLASLt's descriptors)."""

    def build(self, line):
        api = "\n".join(ln for ln in fake.API.split("\n")
                        if not ln.startswith("1100 fakeHandWritten"))
        api = api.replace("bound            ", "pointer_mode     gv_lib_home()\nbound            ", 1)
        lib, fns = fake.build(api=api + "\n" + line + "\n")
        return function_body(emit.client_source(lib, fns),
                             'extern "C" GV_API fakeStatus_t fakeHandWritten(')

    def test_library_expression(self):
        client = self.build("1100 fakeHandWritten gen p:scalar[n]")
        self.assertIn("const bool gv_dev = gv_lib_home();", client)
        self.assertIn("} else if (gv_dev) {", client)
        self.assertNotIn("gv_c.status() == fakeOk", client)

    def test_line_expression_per_parameter_and_after(self):
        client = self.build('1100 fakeHandWritten gen p:scalar[n] pointer_mode=home(n,"$param") '
                            'after=note(p,n)')
        self.assertNotIn("gv_lib_home", client)
        self.assertIn('const bool gv_dev_p = home(n,"p");', client)
        self.assertIn("if (p != nullptr && !gv_dev_p && (gv_z_p == 0", client)
        self.assertIn("} else if (gv_dev_p) {", client)
        hook = client.index("if (gv_c.status() == fakeOk) note(p,n);")
        self.assertLess(client.index("gv_c.invoke()"), hook)
        self.assertLess(hook, client.index("return gvirtus::fake::finish(gv_c);"))

    def test_failed_runs_on_an_error_reply_with_its_status(self):
        client = self.build("1100 fakeHandWritten gen p:scalar[n] after=keep(p) "
                            "failed=undo(p,$status)")
        failed = client.index("if (gv_c.status() != fakeOk) undo(p,gv_c.status());")
        self.assertLess(client.index("gv_c.invoke()"), failed)
        self.assertLess(client.index("if (gv_c.status() == fakeOk) keep(p);"), failed)
        self.assertLess(failed, client.index("return gvirtus::fake::finish(gv_c);"))
        self.assertNotIn("undo(", self.build("1100 fakeHandWritten gen p:scalar[n]"))

    def test_local_answer_comes_before_anything_is_sent(self):
        client = self.build("1100 fakeHandWritten gen p:scalar[n] local=known(p,n) after=keep(p,n)")
        local = client.index("if (const auto gv_local = known(p,n)) return *gv_local;")
        self.assertLess(local, client.index("const bool gv_dev"))
        self.assertLess(local, client.index("gvirtus::client::Call"))
        self.assertIn("if (gv_c.status() == fakeOk) keep(p,n);", client)
        plain = self.build("1100 fakeHandWritten gen p:scalar[n]")
        self.assertNotIn("gv_local", plain)

    def test_async_if_sends_without_waiting_when_true(self):
        client = self.build("1100 fakeHandWritten gen p:scalar[n] async_if=sure(n) after=note(n)")
        branch = client.index("if (sure(n)) {")
        send = client.index("if (!gv_c.send_async()) return gvirtus::fake::lost();")
        self.assertLess(branch, send)
        self.assertLess(send, client.index("note(n);", send))  # bookkeeping after the send
        self.assertLess(send, client.index("return fakeOk;", send))
        self.assertLess(send, client.index("gv_c.invoke()"))  # otherwise: waits as usual
        self.assertNotIn("send_async", self.build("1100 fakeHandWritten gen p:scalar[n]"))

    def test_async_if_refused_on_calls_with_outputs(self):
        with self.assertRaises(Exception) as e:
            self.build("1100 fakeHandWritten gen p:result[n] async_if=sure(n)")
        self.assertIn("async_if= on a call that brings something back", str(e.exception))

    def test_local_applies_to_gen_lines_only(self):
        with self.assertRaises(Exception) as e:
            self.build("1100 fakeHandWritten hand local=known()")
        self.assertIn("local=EXPR applies to gen functions", str(e.exception))


class DriverDirectivesTest(unittest.TestCase):
    """Directives the driver API needs: an anonymous version script, calls through a resolver,
    renaming macros undone in generated code, the renames and results tables."""

    def build(self):
        api = fake.API.replace("bound            ",
                               "version_node     none\n"
                               "server_resolve   gvirtus::backend::fake::real\n"
                               "bound            ", 1)
        lib, fns = fake.build(api=api)
        lib.rename_map = [("fakeOld", "fakeGetCount", ""), ("fakeSum", "fakeSum", "ptsz")]
        return lib, fns

    def test_anonymous_version_script(self):
        lib, _ = self.build()
        text = emit.version_script(lib, ["fakeA", "fakeB"])
        self.assertIn("\n{\n  global:\n    fakeA;\n    fakeB;\n  local:\n    *;\n};", text)

    def test_server_calls_through_the_resolver(self):
        lib, fns = self.build()
        server = function_body(emit.server_source(lib, fns), "void handle_fakeGetCount(")
        self.assertIn("const auto gv_fn = gvirtus::backend::fake::real<decltype(&::fakeGetCount)>"
                      "(gv_ctx, \"fakeGetCount\");", server)
        self.assertIn("if (gv_fn == nullptr) return;", server)
        self.assertIn("gv_fn(gv_p_count ? &gv_v_count : nullptr)", server)

    def test_renames(self):
        lib, fns = self.build()
        self.assertIn("#undef fakeOld", emit.client_source(lib, fns))
        self.assertNotIn("#undef fakeSum", emit.client_source(lib, fns))  # not a rename
        self.assertIn("#undef fakeOld", emit.server_source(lib, fns))
        inc = emit.renames_inc(lib, {"fakeGetCount", "fakeSum", "fakeSum_ptsz"})
        self.assertIn('{"fakeOld", "fakeGetCount", "fakeGetCount"},', inc)
        self.assertIn('{"fakeSum", "fakeSum", "fakeSum_ptsz"},', inc)

    def test_results(self):
        lib, _ = self.build()
        inc = emit.results_inc(lib, [("A", 0), ("B", 2), ("B_ALIAS", 2), ("C", 1)])
        self.assertEqual([ln for ln in inc.split("\n") if ln.startswith("{")],
                         ['{0, "A"},', '{1, "C"},', '{2, "B"},'])


class ShapeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lib, cls.fns, cls.out = generate()

    def test_banner(self):
        for name, text in self.out.items():
            self.assertIn("generated by tools/gen, do not edit", text.split("\n")[0], name)

    def test_call_enum_has_every_id_and_nothing_else(self):
        calls = self.out["calls"]
        ids = dict(re.findall(r"kCall_(\w+) = (\d+),", calls))
        self.assertEqual(ids["fakeGetCount"], "1000")
        self.assertEqual(ids["fakeHandWritten"], "1100")
        self.assertEqual(ids["gvFakeInternal"], "1900")
        self.assertNotIn("fakeLocalOne", ids)
        self.assertNotIn("fakeOpaqueUse", ids)
        self.assertEqual(len(ids), 17)
        self.assertIn('case kCall_fakeSum: return "fakeSum";', calls)
        self.assertIn("namespace gvirtus::fake {", calls)
        self.assertIn("Reserved 1-99: control calls", calls)

    def test_client_stub(self):
        body = function_body(self.out["client"], 'extern "C" GV_API fakeStatus_t fakeGetCount(')
        self.assertIn("gvirtus::client::Call gv_c(gvirtus::fake::kCall_fakeGetCount);", body)
        self.assertIn("gv_a.put<uint8_t>(count != nullptr);", body)
        self.assertIn("if (!gv_c.invoke()) return gvirtus::fake::lost();", body)
        self.assertIn("if (gv_c.status() == fakeOk) {", body)
        # Copied as bytes: the application's object may be less aligned than its type says.
        self.assertIn("if (count != nullptr) std::memcpy(static_cast<void*>(count), "
                      "gv_r.get_bytes(sizeof(int)), sizeof(int));", body)
        self.assertIn("return gvirtus::fake::finish(gv_c);", body)
        self.assertIn("catch (...)", body)

    def test_client_buffer_checks_before_sending(self):
        body = function_body(self.out["client"], 'extern "C" GV_API fakeStatus_t fakeGetName(')
        check = body.index("gv_n_name < 0")
        self.assertLess(check, body.index("gvirtus::client::Call"))
        self.assertIn("4096u / sizeof(char)", body)
        self.assertIn("return gv_fail(fakeErrInvalid);", body)

    def test_server_handler(self):
        body = function_body(self.out["server"], "void handle_fakeStreamGetFlags(")
        self.assertIn("const uint64_t gv_w_stream = gv_in.get<uint64_t>();", body)
        self.assertLess(body.index("gv_in.expect_end();"), body.index("stream_in("))
        self.assertIn("if (!gvirtus::backend::fake::stream_in(gv_ctx, gv_w_stream, &stream)) "
                      "return;", body)
        self.assertIn("const fakeStatus_t gv_r = fakeStreamGetFlags(stream, "
                      "gv_p_flags ? &gv_v_flags : nullptr);", body)
        self.assertLess(body.index("if (gv_r != fakeOk) return;"),
                        body.index("gv_ctx.out.put<unsigned int>(gv_v_flags)"))

    def test_server_handles_out_and_release(self):
        server = self.out["server"]
        self.assertIn("gv_ctx.out.put<uint64_t>(gvirtus::backend::fake::stream_out(gv_ctx, "
                      "gv_v_stream));", function_body(server, "void handle_fakeStreamCreate("))
        self.assertIn("stream_release(gv_ctx, gv_w_stream, &stream)",
                      function_body(server, "void handle_fakeStreamDestroy("))

    def test_server_buffers_are_bounded(self):
        body = function_body(self.out["server"], "void handle_fakeSum(")
        self.assertIn('gv_count(static_cast<long long>(n), sizeof(int), "fakeSum: values")', body)
        self.assertIn("size_t gv_count(long long n, size_t elem, const char* what)",
                      self.out["server"])
        self.assertIn("4096u / elem", self.out["server"])

    def test_server_table_and_registration(self):
        server = self.out["server"]
        self.assertIn("void handle_fakeHandWritten(CallContext& ctx);", server)
        self.assertIn("void handle_gvFakeInternal(CallContext& ctx);", server)
        self.assertIn('{gvirtus::fake::kCall_gvFakeInternal, "gvFakeInternal", '
                      "&handle_gvFakeInternal},", server)
        self.assertIn('r.add_plugin("fake", kHandlers', server)
        self.assertNotIn("handle_fakeLocalOne", server)

    def test_alias_variant_is_declared(self):
        decl = 'extern "C" fakeStatus_t fakeStreamSync_ptsz(fakeStream_t stream);'
        self.assertIn(decl, self.out["server"])
        self.assertIn(decl, self.out["client"])

    def test_unsupported_stubs(self):
        client = self.out["client"]
        body = function_body(client, 'extern "C" GV_API fakeStatus_t fakeOpaqueUse(')
        self.assertIn('gvirtus::client::unsupported("fakeOpaqueUse");', body)
        self.assertIn("return gv_fail(fakeErrUnsupported);", body)
        self.assertIn("return {};", function_body(
            client, 'extern "C" GV_API struct fakeProps fakeMakeProps(int major)'))
        # declared outside the included headers: spelled without parameters
        self.assertIn('extern "C" GV_API fakeStatus_t fakeGLThing() {', client)
        self.assertIn('extern "C" GV_API unsigned char fakeInitModule() {', client)
        self.assertIn('extern "C" GV_API void* fakeRegister() {', client)
        self.assertIn('extern "C" GV_API fakeStatus_t fakeNoPrototype() {  // prototype not found',
                      client)

    def test_hand_written_functions_are_referenced(self):
        client = self.out["client"]
        for name in ("fakeHandWritten", "fakeLocalOne", "fakeGetString"):
            self.assertIn(f"reinterpret_cast<void (*)()>(&{name}),", client)
            self.assertNotIn(f'extern "C" GV_API fakeStatus_t {name}(', client)
        self.assertNotIn("gvFakeInternal", client.split("namespace {")[-1])

    def test_version_script(self):
        m = self.out["map"]
        self.assertIn("libfake.so.1 {", m)
        names = re.findall(r"^    (\w+);$", m, re.M)
        self.assertEqual(sorted(names), sorted(fake.EXPORTS))
        self.assertIn("local:\n    *;", m)

    def test_status_table(self):
        st = self.out["status"]
        self.assertIn("| `fakeGetCount` | 1000 | forwarded-generated |", st)
        self.assertIn("| `fakeHandWritten` | 1100 | forwarded-hand-written |", st)
        self.assertIn("| `fakeLocalOne` |  | hand-written in the frontend |", st)
        self.assertIn("| `fakeOpaqueUse` |  | not supported (not annotated) |", st)
        self.assertIn("| `gvFakeInternal` | 1900 |", st)

    def test_struct_return_outside_headers_is_refused(self):
        other = fake.OTHER_HEADER + "extern FAKEAPI struct glThing fakeGLMake(int x);\n"
        lib, fns = fake.build(other=other, exports=fake.EXPORTS | {"fakeGLMake"})
        with self.assertRaisesRegex(ValueError, "fakeGLMake returns struct glThing"):
            emit.client_source(lib, fns)

    def test_error_table(self):
        lib = self.lib
        text = emit.errors_inc(lib, [(0, "fakeOk", "no error"), (1, "fakeErrInvalid",
                                                                 'bad "value"\tand\\more')])
        self.assertIn('{0, "fakeOk", "no error"},', text)
        self.assertIn(r'{1, "fakeErrInvalid", "bad \"value\"\tand\\more"},', text)


@unittest.skipUnless(shutil.which("g++") and shutil.which("objcopy"), "needs g++ and objcopy")
class EndToEndTest(unittest.TestCase):
    """Compiles the generated client and server for the fake library with -Wall -Wextra -Werror
    and runs tools/gen/tests/e2e/harness.cc, which calls the stubs and checks what arrives."""

    def test_round_trip(self):
        lib, fns, out = generate()
        e2e = os.path.join(HERE, "e2e")
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "fake.h"), "w") as f:
                f.write(fake.HEADER)
            for name, text in (("fake_calls.h", out["calls"]), ("fake_client.cc", out["client"]),
                               ("fake_server.cc", out["server"])):
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
            cxx = ["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-O1", "-fvisibility=hidden",
                   "-DGVIRTUS_CUDART_VERSION=13000",  # wire.h: the build defines it (CMakeLists.txt)
                   "-I", d, "-I", e2e, "-I", os.path.join(REPO, "src")]

            def run(cmd):
                r = subprocess.run(cmd, capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, " ".join(cmd) + "\n" + r.stdout + r.stderr)
                return r.stdout

            objs = []
            for src in ("fake_client.cc", "fake_server.cc"):
                obj = os.path.join(d, src + ".o")
                run(cxx + ["-c", os.path.join(d, src), "-o", obj])
                objs.append(obj)
            # the server calls the "real" library: impl_* in the harness
            gen_names = [f.name for f in fns if f.mode == "gen"]
            run(["objcopy"] + [f"--redefine-sym={n}=impl_{n}" for n in gen_names] + [objs[1]])
            exe = os.path.join(d, "harness")
            run(cxx + [os.path.join(e2e, "harness.cc"), *objs,
                       os.path.join(REPO, "src/common/wire.cc"),
                       os.path.join(REPO, "src/common/status.cc"), "-o", exe])
            stdout = run([exe])
            self.assertIn("OK: 0 failed checks", stdout)


if __name__ == "__main__":
    unittest.main()
