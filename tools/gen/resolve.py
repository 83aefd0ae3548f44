"""Joins the annotation file, the parsed headers and the real library's export list into one
plan per exported function: how each parameter travels, or why the function cannot be generated.
All behaviour comes from annotations and the type tables of the annotation file; no function
name is special here."""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

from apifile import SCALAR_KINDS, AnnotationError, Entry, Library
from cparse import Param, Prototype, norm_type, strip_const

_EXPR_OK = re.compile(r"[\w\s+\-*/()]+$")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_BOOL_TYPES = {"bool", "_Bool"}


@dataclass
class ParamPlan:
    p: Param
    how: str            # scalar, bool, handle, release, ref, dptr, instr, out, in, inout, versioned,
                        # outbuf, inbuf, inoutbuf, iobuf (io[n]: sent, then written back),
                        # mscalar_in, mscalar_out, mscalar_io (pointer-mode scalars: spec
                        # scalar, result, scalar_io; length = their byte count, client-side)
    wire: str = ""      # for scalar: the C type on the wire; for out/in: raw | u64 | handle
    elem: str = ""      # out/in: the value type; outbuf/inbuf: the element type
    kind: str = ""      # handle helper prefix (stream, event, ...)
    length: str = ""    # outbuf/inbuf: element count expression

    @property
    def second_pass(self) -> bool:
        return self.how in ("outbuf", "inbuf", "iobuf", "inoutbuf")


@dataclass
class Function:
    name: str
    mode: str                       # gen hand local unsupported internal
    call_id: Optional[int]
    proto: Optional[Prototype]
    in_tu: bool = False             # the prototype is declared by the headers we #include
    plans: List[ParamPlan] = field(default_factory=list)
    auto: bool = False              # unsupported because nobody annotated it
    note: str = ""                  # from the annotation line's comment
    enqueue: bool = False           # only enqueues GPU work (annotation word `enqueue`)
    waits: bool = False             # only waits for enqueued GPU work (annotation word `waits`)
    lane: bool = False              # a launch that may be sent laned (annotation word `lane`)
    client_id: bool = False         # a create that may name its object itself (`client_id`)
    pointer_mode: str = ""          # the line's pointer_mode=EXPR (else the library's)
    server_pointer_mode: str = ""   # the line's server_pointer_mode=EXPR (else the library's)
    server_check: str = ""          # the line's server_check=EXPR: run before the library call
    after: str = ""                 # the line's after=EXPR: client statement run on success
    failed: str = ""                # the line's failed=EXPR: client statement run on an error
    local: str = ""                 # the line's local=EXPR: std::optional<status> answered first
    async_if: str = ""              # the line's async_if=EXPR: sent without waiting when true


def _fail(lib: Library, e: Entry, msg: str):
    raise AnnotationError(f"{lib.path}:{e.line}: {e.name}: {msg}")


def find_prototype(name: str, protos: Dict[str, Prototype], lib: Library) -> Optional[Prototype]:
    if name in protos:
        return protos[name]
    for suf in lib.alias_suffixes:
        if name.endswith(suf) and name[: -len(suf)] in protos:
            base = protos[name[: -len(suf)]]
            return Prototype(name=name, ret=base.ret, params=base.params, header=base.header,
                             alias_of=base.name)
    return None


def _plan_param(lib, e, p: Param, ptr_typedefs: Dict[str, str]) -> ParamPlan:
    spec = e.specs.get(p.name)
    if spec is None and p.pointer_depth > 0:
        spec = lib.defaults.get(p.name)
    base = strip_const(p.type)
    if p.name == "...":
        _fail(lib, e, "variadic functions cannot be generated; make it hand")
    if p.is_fnptr or ptr_typedefs.get(base) == "function":
        _fail(lib, e, f"parameter {p.name} is a function pointer; make the function hand")
    if base in lib.handles and p.pointer_depth == 0:
        if spec is None:
            return ParamPlan(p, "handle", kind=lib.handles[base])
        if spec.kind == "release":
            return ParamPlan(p, "release", kind=lib.handles[base])
        _fail(lib, e, f"parameter {p.name} is a handle: only 'release' applies to it")
    if spec is not None and spec.kind in lib.refs:
        # a plain pointer, or a by-value typedef that hides one (cusparseMatDescr_t)
        if p.pointer_depth != 1 and not (p.pointer_depth == 0 and
                                         ptr_typedefs.get(base) == "pointer"):
            _fail(lib, e, f"parameter {p.name}: '{spec.kind}' applies to a plain pointer, "
                          f"not {p.type}")
        return ParamPlan(p, "ref", kind=spec.kind)
    if spec is not None and spec.kind == "release":
        _fail(lib, e, f"parameter {p.name}: release applies to handle types only "
                      f"({', '.join(sorted(lib.handles))})")
    if p.pointer_depth == 0:
        if spec is not None:
            _fail(lib, e, f"parameter {p.name} ({p.type}) is not a pointer; "
                          f"'{spec.kind}' does not apply")
        if ptr_typedefs.get(base) == "pointer":
            _fail(lib, e, f"parameter {p.name} has type {base}, an opaque pointer that is not in "
                          "the handle table; add a handle type or make the function hand")
        if base in _BOOL_TYPES:
            return ParamPlan(p, "bool")
        return ParamPlan(p, "scalar", wire=base)
    # pointers from here on
    if spec is None:
        _fail(lib, e, f"pointer parameter {p.name} ({p.type}) is not annotated "
                      "(out, in, out[n], in[n], instr, dptr)")
    pointee = p.pointee()
    if spec.kind in SCALAR_KINDS:
        if p.pointer_depth != 1:
            _fail(lib, e, f"{spec.kind} applies to a plain pointer, {p.name} is {p.type}")
        if spec.kind != "scalar" and p.pointee_is_const():
            _fail(lib, e, f"{p.name} points to const data and cannot be a {spec.kind}")
        if pointee == "void" and spec.length is None:
            _fail(lib, e, f"{p.name} is void*: {spec.kind} needs [BYTES]")
        how = {"scalar": "mscalar_in", "result": "mscalar_out", "scalar_io": "mscalar_io"}
        return ParamPlan(p, how[spec.kind], elem=pointee,
                         length=spec.length or f"sizeof({pointee})")
    if spec.kind == "dptr":
        return ParamPlan(p, "dptr")
    if spec.kind == "instr":
        if pointee != "char" or not p.pointee_is_const() or p.pointer_depth != 1:
            _fail(lib, e, f"instr wants const char*, {p.name} is {p.type}")
        return ParamPlan(p, "instr")
    if pointee == "void":
        if spec.length is None:
            _fail(lib, e, f"{p.name} is void*: use dptr, in[n] or out[n]")
    if spec.kind == "versioned":
        if p.pointer_depth != 1 or p.pointee_is_const() or pointee == "void" or \
                "*" in pointee or pointee in lib.handles or ptr_typedefs.get(pointee):
            _fail(lib, e, f"versioned applies to a pointer to a writable struct, {p.name} is "
                          f"{p.type}")
        return ParamPlan(p, "versioned", elem=pointee,
                         length=spec.length or f"sizeof({pointee})")
    if spec.kind in ("out", "io", "inout") and p.pointee_is_const():
        _fail(lib, e, f"{p.name} points to const data and cannot be an output")
    if spec.kind == "inout" and spec.length is None:
        if "*" in pointee or pointee in lib.handles or ptr_typedefs.get(pointee):
            _fail(lib, e, f"{p.name}: inout applies to plain values, not pointers or handles")
        return ParamPlan(p, "inout", wire="raw", elem=pointee)
    if spec.length is not None:
        if "*" in pointee or pointee in lib.handles or ptr_typedefs.get(pointee):
            _fail(lib, e, f"{p.name}: buffers of pointers or handles cannot be generated")
        _check_expr(lib, e, spec.length)
        elem = "unsigned char" if pointee == "void" else pointee
        return ParamPlan(p, spec.kind + "buf", elem=elem, length=spec.length)
    if pointee in lib.handles:
        if spec.kind == "in":
            _fail(lib, e, f"{p.name}: a handle read through a pointer cannot be generated")
        return ParamPlan(p, spec.kind, wire="handle", elem=pointee, kind=lib.handles[pointee])
    if "*" in pointee or ptr_typedefs.get(pointee) == "pointer":
        return ParamPlan(p, spec.kind, wire="u64", elem=pointee)
    return ParamPlan(p, spec.kind, wire="raw", elem=pointee)


def _check_expr(lib, e, expr):
    if not _EXPR_OK.match(expr):
        _fail(lib, e, f"length expression {expr!r} may only use parameters, numbers, + - * / ( )")


def _check_expr_names(lib, e, plans: List[ParamPlan]):
    scalars = {pl.p.name for pl in plans if pl.how in ("scalar",)}
    for pl in plans:
        if not pl.second_pass:
            continue
        for ident in _IDENT.findall(pl.length):
            if ident not in scalars:
                _fail(lib, e, f"length of {pl.p.name} uses {ident!r}, which is not an integer "
                              f"parameter of {e.name} (have: {', '.join(sorted(scalars)) or 'none'})")


def resolve(lib: Library, protos_in_tu: Dict[str, Prototype], protos_other: Dict[str, Prototype],
            exports: Set[str], ptr_typedefs: Dict[str, str]) -> List[Function]:
    """One Function per exported name plus one per internal entry, ordered by name."""
    all_protos = dict(protos_other)
    all_protos.update(protos_in_tu)
    out: List[Function] = []
    annotated = {e.name for e in lib.entries}
    for e in lib.entries:
        if e.mode == "internal":
            if e.name in exports:
                _fail(lib, e, "internal calls are protocol messages, not exported functions; "
                              "this name is exported by the real library")
            out.append(Function(e.name, e.mode, e.call_id, None, note=e.note))
            continue
        if e.name not in exports:
            _fail(lib, e, f"not exported by the real {lib.soname}")
        proto = find_prototype(e.name, all_protos, lib)
        in_tu = e.name in protos_in_tu
        f = Function(e.name, e.mode, e.call_id, proto, in_tu=in_tu, note=e.note,
                     enqueue=e.enqueue, waits=e.waits, lane=e.lane, client_id=e.client_id,
                     pointer_mode=e.pointer_mode, server_pointer_mode=e.server_pointer_mode,
                     server_check=e.server_check,
                     after=e.after, failed=e.failed,
                     local=e.local, async_if=e.async_if)
        if e.mode == "gen":
            if proto is None:
                _fail(lib, e, "no prototype found in the headers; gen needs one")
            if proto.ret != lib.status_type:
                _fail(lib, e, f"returns {proto.ret}, not {lib.status_type}; make it hand or local")
            names = {p.name for p in proto.params}
            for pname in e.specs:
                if pname not in names:
                    _fail(lib, e, f"annotation names parameter {pname!r}, which {e.name} does "
                                  f"not have (has: {', '.join(p.name for p in proto.params)})")
            f.plans = [_plan_param(lib, e, p, ptr_typedefs) for p in proto.params]
            if e.hook:  # `hook`: the same as after=<client_ns>::hook_NAME(every parameter)
                if e.after:
                    _fail(lib, e, "hook and after= on one line")
                f.after = (f"{lib.client_ns}::hook_{e.name}("
                           f"{', '.join(p.name for p in proto.params)})")
            _check_expr_names(lib, e, f.plans)
        out.append(f)
    for name in sorted(exports - annotated):
        proto = find_prototype(name, all_protos, lib)
        out.append(Function(name, "unsupported", None, proto, in_tu=name in protos_in_tu,
                            auto=True))
    out.sort(key=lambda f: f.name)
    return out


def return_kind(ret: str, lib: Library) -> str:
    """How an unsupported stub fails: status, pointer, void, or value (zero-initialised)."""
    r = norm_type(ret)
    if r == lib.status_type:
        return "status"
    if r == "void":
        return "void"
    if "*" in r:
        return "pointer"
    return "value"


# Types whose name alone is enough to declare a function outside the library's headers.
BUILTIN_VALUE_TYPES = {
    "char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned",
    "unsigned int", "long", "unsigned long", "long long", "unsigned long long", "size_t",
}
