#!/usr/bin/env python3
"""GVirtuS code generator. Runs at build time (cmake/GvirtusGen.cmake).

  gvgen.py sources   --api api/cudart.api --include-dir DIR --lib-dir DIR --out-dir DIR
                     [--nm nm] [--depfile FILE] [--exports-file FILE]
      writes <lib>_calls.h, <lib>_client.cc, <lib>_server.cc, <lib>.map, <lib>_status.md and
      <lib>_errtable.h (the configuration of tools/gen/errtable.cc).
  gvgen.py errors    --api api/cudart.api --include-dir DIR --table FILE --out FILE
      turns errtable's output into <lib>_errors.inc.
  gvgen.py exports   LIBRARY        prints the library's exported function names

Exit status 1 with "file:line: message" on stderr for a bad annotation.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import apifile  # noqa: E402
import cparse  # noqa: E402
import emit  # noqa: E402
import resolve  # noqa: E402


class GenError(Exception):
    pass


def read_exports(library: str, nm: str = "nm"):
    """Names of the functions a shared library defines and exports, with their version."""
    try:
        out = subprocess.run([nm, "-D", "--defined-only", library], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise GenError(f"cannot list the exports of {library}: {e}")
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "W", "i"):
            names.add(parts[2].split("@")[0])
    if not names:
        raise GenError(f"{library} exports no functions")
    return names


def find_header(name: str, include_dirs):
    for d in include_dirs:
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    raise GenError(f"header {name} not found in {', '.join(include_dirs)}")


def load(api_path: str, include_dirs, exports_names=None, library=None, nm="nm"):
    """Parses everything; returns (lib, functions, exports, inputs read)."""
    with open(api_path) as f:
        lib = apifile.parse(f.read(), api_path)
    inputs = [api_path]
    in_tu, other, typedefs = {}, {}, {}

    def read(h):
        p = find_header(h, include_dirs)
        inputs.append(p)
        with open(p, errors="replace") as f:
            return f.read()

    for h in lib.includes:
        text = read(h)
        for k, v in cparse.parse_prototypes(text, lib.strip, lib.strip_calls, h,
                                                   lib.plain_prototypes).items():
            in_tu.setdefault(k, v)
        typedefs.update(cparse.parse_pointer_typedefs(text, lib.strip))
    for h in lib.parse_only:
        text = read(h)
        for k, v in cparse.parse_prototypes(text, lib.strip, lib.strip_calls, h,
                                                   lib.plain_prototypes).items():
            other.setdefault(k, v)
    for h in lib.types:
        typedefs.update(cparse.parse_pointer_typedefs(read(h), lib.strip))
    if exports_names is None:
        inputs.append(library)
        exports_names = read_exports(library, nm)
    exports = set(exports_names)
    lib.rename_map = []
    for h in lib.renames:
        for name, target, pt in cparse.parse_renames(read(h)):
            if target in exports:
                lib.rename_map.append((name, target, pt))
    for h in lib.proc_versions:
        lib.version_map += cparse.version_map(cparse.parse_proc_versions(read(h)), exports,
                                              lib.rename_map)
    apply_renames(lib.rename_map, in_tu)
    apply_renames(lib.rename_map, other)
    fns = resolve.resolve(lib, in_tu, other, exports, typedefs)
    return lib, fns, exports, inputs


def apply_renames(renames, protos):
    """A prototype written under a renaming macro's name declares the macro's target (cuda.h's
    `CUresult cuMemAlloc(...)` is cuMemAlloc_v2 once the macro applies); the plain name is then
    the legacy export, whose prototype the header gives only for the library's own build."""
    for name, target, _pt in renames:
        if name == target or name not in protos:
            continue
        p = protos.pop(name)
        if target not in protos:
            protos[target] = cparse.Prototype(name=target, ret=p.ret, params=p.params,
                                              header=p.header)


def write_if_changed(path: str, text: str):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def read_exports_list(path: str):
    """Function names from an `exports_list` file: one a line, `#` starts a comment."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise GenError(f"cannot read the export list {path}: {e}")
    names = {line.split("#", 1)[0].strip() for line in text.splitlines()}
    names.discard("")
    if not names:
        raise GenError(f"{path} lists no functions")
    return names


def cmd_sources(a):
    with open(a.api) as f:
        listed = apifile.parse(f.read(), a.api).exports_list
    if listed:
        # The real library is not on the build machine: its export list is committed.
        path = os.path.join(os.path.dirname(os.path.abspath(a.api)), listed)
        lib, fns, exports, inputs = load(a.api, a.include_dir,
                                         exports_names=read_exports_list(path))
        inputs.append(path)
    else:
        lib, fns, exports, inputs = load(a.api, a.include_dir, library=_library_path(a),
                                         nm=a.nm)
    os.makedirs(a.out_dir, exist_ok=True)
    outs = {
        f"{lib.name}_calls.h": emit.calls_header(lib, fns),
        f"{lib.name}_client.cc": emit.client_source(lib, fns),
        f"{lib.name}_server.cc": emit.server_source(lib, fns),
        f"{lib.name}.map": emit.version_script(lib, exports),
        f"{lib.name}_status.md": emit.status_table(lib, fns),
    }
    if lib.handle_kinds:
        outs[f"{lib.name}_handles.h"] = emit.handles_header(lib)
    if lib.plugin_sonames:
        outs[f"{lib.name}_plugin.inc"] = emit.plugin_inc(lib)
    if lib.renames:
        outs[f"{lib.name}_renames.inc"] = emit.renames_inc(lib, exports)
    if lib.proc_versions:
        outs[f"{lib.name}_versions.inc"] = emit.versions_inc(lib)
    if lib.result_enum:
        text = open(find_header(lib.result_enum[0], a.include_dir), errors="replace").read()
        outs[f"{lib.name}_results.inc"] = emit.results_inc(
            lib, cparse.parse_enum(text, lib.result_enum[1]))
    if lib.errors:
        text = open(find_header(lib.errors[0], a.include_dir), errors="replace").read()
        outs[f"{lib.name}_errtable.h"] = emit.errtable_config(
            lib, cparse.parse_enum(text, lib.errors[1], lib.strip))
    for name, text in outs.items():
        write_if_changed(os.path.join(a.out_dir, name), text)
    if a.depfile:
        target = os.path.join(a.out_dir, f"{lib.name}_calls.h")
        here = os.path.dirname(os.path.abspath(__file__))
        deps = inputs + [os.path.join(here, f) for f in sorted(os.listdir(here))
                         if f.endswith(".py")]
        with open(a.depfile, "w") as f:
            f.write(target.replace(" ", "\\ ") + ": " +
                    " \\\n  ".join(d.replace(" ", "\\ ") for d in deps) + "\n")


def _library_path(a):
    with open(a.api) as f:
        lib = apifile.parse(f.read(), a.api)
    want = lib.exports_from or lib.soname
    for d in a.lib_dir:
        p = os.path.join(d, want)
        if os.path.exists(p):
            return os.path.realpath(p)
    raise GenError(f"{want} not found in {', '.join(a.lib_dir)}")


def parse_table(text: str):
    """errtable output: code TAB enumerator TAB name TAB string, with \\\\ \\t \\n escapes."""
    def unesc(s):
        out, i = [], 0
        while i < len(s):
            if s[i] == "\\" and i + 1 < len(s):
                out.append({"n": "\n", "t": "\t", "\\": "\\"}.get(s[i + 1], s[i + 1]))
                i += 2
            else:
                out.append(s[i])
                i += 1
        return "".join(out)
    rows = []
    for line in text.split("\n"):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 4:
            raise GenError(f"bad errtable line {line!r}")
        rows.append((int(parts[0]), parts[1], unesc(parts[2]), unesc(parts[3])))
    return rows


def cmd_errors(a):
    with open(a.api) as f:
        lib = apifile.parse(f.read(), a.api)
    if not lib.errors:
        raise GenError(f"{a.api} has no errors directive")
    text = open(find_header(lib.errors[0], a.include_dir), errors="replace").read()
    enumerators = cparse.parse_enum(text, lib.errors[1], lib.strip)
    with open(a.table) as f:
        rows = parse_table(f.read())
    expected = {n: v for n, v in enumerators}
    got = {r[1]: r[0] for r in rows}
    if got != expected:
        raise GenError(f"{a.table} does not match enum {lib.errors[1]} of {lib.errors[0]}; "
                       "rebuild the errtable program")
    by_code = {}
    for code, _enumerator, name, string in rows:
        by_code.setdefault(code, (name, string))
    out = sorted((c, n, s) for c, (n, s) in by_code.items())
    write_if_changed(a.out, emit.errors_inc(lib, out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sources")
    s.add_argument("--api", required=True)
    s.add_argument("--include-dir", action="append", required=True)
    s.add_argument("--lib-dir", action="append", required=True)
    s.add_argument("--out-dir", required=True)
    s.add_argument("--nm", default="nm")
    s.add_argument("--depfile")
    e = sub.add_parser("errors")
    e.add_argument("--api", required=True)
    e.add_argument("--include-dir", action="append", required=True)
    e.add_argument("--table", required=True)
    e.add_argument("--out", required=True)
    x = sub.add_parser("exports")
    x.add_argument("library")
    x.add_argument("--nm", default="nm")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "sources":
            cmd_sources(a)
        elif a.cmd == "errors":
            cmd_errors(a)
        else:
            print("\n".join(sorted(read_exports(a.library, a.nm))))
    except (apifile.AnnotationError, GenError, cparse.ParseError, ValueError) as err:
        print(f"gvgen: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
