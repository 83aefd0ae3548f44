"""Annotation parsing and checking: every mistake stops generation with file:line."""
import unittest

import fake  # puts tools/gen on sys.path
from apifile import AnnotationError  # noqa: E402


def with_line(line, drop=None):
    api = fake.API
    if drop:
        api = "\n".join(ln for ln in api.split("\n") if drop not in ln)
    return api + "\n" + line + "\n"


def with_line_in(api, line, drop=None):
    if drop:
        api = "\n".join(ln for ln in api.split("\n") if drop not in ln)
    return api + "\n" + line + "\n"


class AnnotationErrorsTest(unittest.TestCase):
    def assertFails(self, api, *fragments, exports=None):
        with self.assertRaises(AnnotationError) as cm:
            fake.build(api=api, exports=exports)
        msg = str(cm.exception)
        self.assertRegex(msg, r"^api/fake\.api:\d+: ")
        for frag in fragments:
            self.assertIn(frag, msg)
        return msg

    def test_the_fake_file_is_valid(self):
        lib, fns = fake.build()
        self.assertEqual(lib.name, "fake")
        self.assertEqual({f.name for f in fns}, fake.EXPORTS | {"gvFakeInternal"})

    def test_line_hooks(self):
        lib, _ = fake.build(api=with_line(
            '1100 fakeHandWritten gen p:dptr pointer_mode=f(n,"$param") after=g(p)',
            drop="1100 fakeHandWritten"))
        e = lib.entry("fakeHandWritten")
        self.assertEqual((e.pointer_mode, e.after), ('f(n,"$param")', "g(p)"))
        self.assertFails(with_line("1100 fakeHandWritten hand after=g(p)",
                                   drop="1100 fakeHandWritten"),
                         "after=EXPR applies to gen functions")
        self.assertFails(with_line("1100 fakeHandWritten gen p:dptr pointer_mode=",
                                   drop="1100 fakeHandWritten"),
                         "pointer_mode=EXPR applies to gen functions")

    def test_duplicate_id(self):
        msg = self.assertFails(with_line("1000 fakeOpaqueUse gen"), "duplicate call id 1000",
                               "fakeGetCount")
        self.assertIn(f"fake.api:{len(fake.API.split(chr(10))) + 1}:", msg)

    def test_hook_only_on_gen(self):
        self.assertFails(with_line("1100 fakeHandWritten hand hook", drop="fakeHandWritten"),
                         "hook applies to gen functions")

    def test_duplicate_name(self):
        self.assertFails(with_line("1500 fakeGetCount gen count:out"), "duplicate name fakeGetCount")

    def test_unannotated_pointer(self):
        self.assertFails(with_line("1000 fakeGetCount gen", drop="fakeGetCount "),
                         "pointer parameter count", "not annotated")

    def test_unknown_parameter_name(self):
        self.assertFails(with_line("1000 fakeGetCount gen count:out cnt:out",
                                   drop="fakeGetCount "), "'cnt'", "has: count")

    def test_name_not_exported(self):
        exports = fake.EXPORTS - {"fakeFill"}
        self.assertFails(fake.API, "fakeFill", "not exported by the real libfake.so.1",
                         exports=exports)

    def test_name_not_in_header(self):
        self.assertFails(with_line("1500 fakeNoPrototype gen"), "fakeNoPrototype",
                         "no prototype")

    def test_internal_name_must_not_be_exported(self):
        self.assertFails(with_line("1500 fakeOpaqueUse internal"), "internal")

    def test_length_expression_uses_unknown_name(self):
        self.assertFails(with_line("1003 fakeGetName gen name:out[size]", drop="fakeGetName "),
                         "'size'", "not an integer parameter")

    def test_length_expression_rejects_code(self):
        self.assertFails(with_line("1003 fakeGetName gen name:out[len;x()]",
                                   drop="fakeGetName "), "may only use")

    def test_spec_on_non_pointer(self):
        self.assertFails(with_line("1002 fakeSetValue gen device:out", drop="fakeSetValue "),
                         "not a pointer")

    def test_release_needs_a_handle(self):
        self.assertFails(with_line("1007 fakeFill gen devPtr:release", drop="fakeFill "),
                         "release applies to handle types only")

    def test_opaque_pointer_typedef_refused(self):
        self.assertFails(with_line("1500 fakeOpaqueUse gen"), "fakeOpaque_t", "opaque pointer")

    def test_function_pointer_refused(self):
        self.assertFails(with_line("1500 fakeAddCallback gen user:dptr"), "function pointer")

    def test_gen_needs_status_return(self):
        self.assertFails(with_line("1500 fakeMakeProps gen", drop="nothing"), "returns",
                         "make it hand or local")

    def test_instr_needs_const_char(self):
        self.assertFails(with_line("1003 fakeGetName gen name:instr", drop="fakeGetName "),
                         "instr wants const char*")

    def test_void_pointer_needs_length_or_dptr(self):
        self.assertFails(with_line("1007 fakeFill gen devPtr:out", drop="fakeFill "),
                         "void*: use dptr")

    def test_out_through_const_pointer(self):
        self.assertFails(with_line("1005 fakeChoose gen device:out props:out",
                                   drop="fakeChoose "), "const data")

    def test_id_rules(self):
        self.assertFails(with_line("- fakeOpaqueUse gen"), "needs a call id")
        self.assertFails(with_line("1500 fakeVoidFn local"), "takes no call id")
        self.assertFails(with_line("5000 fakeVoidFn hand"), "outside 1000-1999")
        self.assertFails(with_line("abc fakeVoidFn hand").replace("abc", "12x"), "bad call id")

    def test_reserved_range(self):
        api = fake.API.replace("ids              1000-1999", "ids              1-1999")
        self.assertFails(api + "\n5 fakeVoidFn hand\n", "reserved")

    def test_unknown_mode_and_directive(self):
        self.assertFails(with_line("1500 fakeVoidFn maybe"), "unknown mode")
        self.assertFails(with_line("frobnicate yes"), "unknown directive")

    def test_bad_spec_syntax(self):
        self.assertFails(with_line("1500 fakeOpaqueUse gen obj"), "bad parameter spec")
        self.assertFails(with_line("1500 fakeOpaqueUse gen obj:sideways"), "bad parameter spec")
        self.assertFails(with_line("1500 fakeHandWritten2 hand p:out"), "only mean something")

    def test_ref_kinds(self):
        api = fake.API.replace("bound            ", "ref              func\nbound            ", 1)
        # A declared ref kind is a spec; an undeclared one is not.
        fake.build(api=with_line_in(api, "1007 fakeFill gen devPtr:func", drop="fakeFill "))
        self.assertFails(with_line("1500 fakeFill gen devPtr:func", drop="fakeFill "),
                         "unknown kind 'func'")
        self.assertFails(with_line_in(api, "1008 fakeAlloc gen devPtr:func", drop="fakeAlloc "),
                         "applies to a plain pointer")
        self.assertFails(api + "\nref out\n", "ref wants")

    def test_trailing_comment_becomes_the_note(self):
        api = "\n".join(ln for ln in fake.API.split("\n") if "fakeLocalOne" not in ln)
        lib, fns = fake.build(api=api + "\n-    fakeLocalOne local   # forwarded | somehow\n")
        self.assertEqual(lib.entry("fakeLocalOne").note, "forwarded | somehow")
        self.assertEqual([f.note for f in fns if f.name == "fakeLocalOne"], ["forwarded | somehow"])

    def test_missing_required_directive(self):
        api = fake.API.replace("soname           libfake.so.1\n", "")
        self.assertFails(api, "soname")


if __name__ == "__main__":
    unittest.main()
