"""The command line as the build runs it: a bad annotation fails with file:line on stderr, a
good one writes every output and a depfile. Builds a small shared library to read exports from."""
import io
import os
import shutil
import subprocess
import tempfile
import unittest
from contextlib import redirect_stderr

import fake  # puts tools/gen on sys.path
import gvgen  # noqa: E402


@unittest.skipUnless(shutil.which("gcc") and shutil.which("nm"), "needs gcc and nm")
class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.inc = os.path.join(cls.dir, "include")
        cls.libdir = os.path.join(cls.dir, "lib")
        os.makedirs(cls.inc)
        os.makedirs(cls.libdir)
        with open(os.path.join(cls.inc, "fake.h"), "w") as f:
            f.write(fake.HEADER)
        src = os.path.join(cls.dir, "lib.c")
        with open(src, "w") as f:
            f.write("".join(f"void {n}(void) {{}}\n" for n in sorted(fake.EXPORTS)))
            f.write("int fakeDataSymbol = 1;\n")
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", os.path.join(cls.libdir, "libfake.so.1"),
                        src], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def run_gen(self, api_text):
        api = os.path.join(self.dir, "fake.api")
        with open(api, "w") as f:
            f.write(api_text)
        out = os.path.join(self.dir, "gen")
        err = io.StringIO()
        with redirect_stderr(err):
            rc = gvgen.main(["sources", "--api", api, "--include-dir", self.inc,
                             "--lib-dir", self.libdir, "--out-dir", out,
                             "--depfile", os.path.join(out, "fake.d")])
        return rc, err.getvalue(), out

    def test_exports_are_functions_only(self):
        names = gvgen.read_exports(os.path.join(self.libdir, "libfake.so.1"))
        self.assertEqual(names, fake.EXPORTS)

    def test_good_file_writes_everything(self):
        rc, err, out = self.run_gen(fake.API)
        self.assertEqual(rc, 0, err)
        for name in ("fake_calls.h", "fake_client.cc", "fake_server.cc", "fake.map",
                     "fake_status.md"):
            self.assertTrue(os.path.exists(os.path.join(out, name)), name)
        with open(os.path.join(out, "fake.d")) as f:
            dep = f.read()
        self.assertTrue(dep.startswith(os.path.join(out, "fake_calls.h") + ":"))
        self.assertIn(os.path.join(self.inc, "fake.h"), dep)
        self.assertIn("libfake.so.1", dep)
        self.assertIn("gvgen.py", dep)

    def test_name_not_in_exports_fails_with_location(self):
        rc, err, _ = self.run_gen(fake.API + "1500 fakeMissing gen\n")
        self.assertEqual(rc, 1)
        self.assertRegex(err, r"gvgen: error: .*fake\.api:\d+: fakeMissing: not exported")

    def test_missing_header_fails(self):
        rc, err, _ = self.run_gen(fake.API.replace("include          fake.h",
                                                   "include          nothere.h"))
        self.assertEqual(rc, 1)
        self.assertIn("header nothere.h not found", err)

    def test_missing_library_fails(self):
        rc, err, _ = self.run_gen(fake.API.replace("libfake.so.1", "libnothere.so.1"))
        self.assertEqual(rc, 1)
        self.assertIn("libnothere.so.1 not found", err)


if __name__ == "__main__":
    unittest.main()
