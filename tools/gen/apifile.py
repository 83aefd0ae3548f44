"""Reads an annotation file (api/<library>.api) into a Library description.

The format is documented at the top of api/cudart.api and in docs/adding-a-function.md.
Every mistake is reported as AnnotationError with file:line, so a bad annotation stops the build
with a message that says where to look.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

MODES = ("gen", "hand", "local", "unsupported", "internal")
# Modes that need a call id (a server handler exists) and modes that must not have one.
MODES_WITH_ID = ("gen", "hand", "internal")
# `inout`: one value read and written back. `versioned`: a struct whose first member is an
# unsigned int `version` holding the struct's size in its low 24 bits (NVML's
# NVML_STRUCT_VERSION): as many bytes as the version says travel both ways, at most the
# pointee's size or `versioned[BYTES]` (a C++ expression: the largest version known).
SPEC_KINDS = ("out", "in", "io", "inout", "versioned", "instr", "dptr", "release", "scalar", "result",
              "scalar_io")
# Scalars read or written through a pointer whose home (host or device memory) follows the
# library's pointer mode (`pointer_mode`); their [EXPR] is a byte count the client computes.
SCALAR_KINDS = ("scalar", "result", "scalar_io")

_IDENT = re.compile(r"[A-Za-z_]\w*$")

# Directives whose words are appended to a list of Library, and those that set one word.
_LIST_DIRECTIVES = {
    "include": "includes", "parse": "parse_only", "types": "types", "strip": "strip",
    "strip_call": "strip_calls", "alias_suffix": "alias_suffixes",
    "client_include": "client_includes", "server_include": "server_includes",
    "renames": "renames", "proc_versions": "proc_versions",
}
_WORD_DIRECTIVES = {
    "library": "name", "soname": "soname", "client_namespace": "client_ns",
    "server_namespace": "server_ns", "client_fail": "client_fail",
    "exports_from": "exports_from", "server_resolve": "server_resolve",
    "exports_list": "exports_list",
}
# `pointer_mode EXPR`: a C++ expression over the function's parameters, true when scalar
# pointers are device pointers (cuBLAS: gvirtus::cublas::device_pointers(handle)).
# `server_pointer_mode EXPR`: the worker's expression for the same decision, over the
# translated parameters (cuBLAS: gvirtus::backend::cublas::device_pointers(handle), which asks
# cublasGetPointerMode). A library without one takes every scalar from host memory.
# `backend_plugin SONAME...`: the server side is a plugin loaded by the worker on first use
# (docs/adding-a-function.md); SONAME... are the real libraries it needs.
_SPEC = re.compile(r"([A-Za-z_]\w*):([A-Za-z_]\w*)(?:\[(.+)\])?$")


class AnnotationError(Exception):
    pass


@dataclass
class Spec:
    kind: str                    # one of SPEC_KINDS, or a name declared with `ref`
    length: Optional[str] = None  # out[expr] / in[expr]: element count expression


@dataclass
class Entry:
    name: str
    mode: str
    call_id: Optional[int]
    specs: Dict[str, Spec]
    line: int
    note: str = ""  # the line's trailing comment, shown in the status table
    # The word `enqueue` on the line: the call only enqueues GPU work and returns only a status
    # (gemm, convolution): it may be sent without waiting for its reply (issue: performance).
    enqueue: bool = False
    # The word `waits` on the line: the call only waits for GPU work already enqueued and
    # enqueues none (a synchronize): the worker gives up its place in the session-wide order of
    # requests before running it (HandlerEntry flag kEntryWaits).
    waits: bool = False
    # The word `lane` on a hand launch: a launch on a stream the client knows is non-blocking may
    # be sent laned, ordered only after its stream's previous request and the last global one
    # (docs/protocol.md, "Lanes"; HandlerEntry flag kEntryLane). The worker refuses the laned
    # flag on any other call. On a gen line (with `waits`, and a stream parameter): a stream
    # synchronisation, laned the same way towards a backend of protocol 3.8 or later (the stub
    # asks client::sync_lane).
    lane: bool = False
    # The word `client_id` on a gen create (one `out` handle, nothing else brought back): once
    # the same arguments succeeded in this process, the client names the new object itself
    # (kind, bit 55, the request's ticket) and sends the create without waiting
    # (docs/protocol.md, "Client-chosen handle ids"). Only for creates that cannot fail but for
    # the worker's lack of memory when their arguments were accepted before.
    client_id: bool = False
    # The word `hook` on a gen line: after a successful reply the client stub calls
    # `<client_ns>::hook_NAME(args...)` with the function's own arguments (hand-written client
    # state: cuDNN remembers each tensor descriptor's data type to size alpha/beta).
    hook: bool = False
    # `pointer_mode=EXPR` on the line: this function's pointer-mode expression, instead of the
    # library's `pointer_mode` (its descriptor parameter has another name). In either, `$param`
    # stands for the name of the scalar parameter being decided (alpha, beta, ...).
    pointer_mode: str = ""
    # `server_pointer_mode=EXPR` on the line: the same decision made on the worker from the
    # library's own state (the real handle or descriptor, after handle translation), instead of
    # the library's `server_pointer_mode`. The client's tag is never trusted: a scalar sent as a
    # host value where the library takes a device pointer, or the other way round, ends the
    # session (a device "pointer" in host mode would be a worker host address).
    server_pointer_mode: str = ""
    # `server_check=EXPR` on the line: a statement the generated handler runs after translating
    # the handles and before calling the library, `@NAME` standing for the pointer the library
    # gets for parameter NAME (its decoded buffer, or NULL): checks of what a host routine will
    # walk (cuSOLVER's CSR structures on the worker's CPU), throwing SessionFault.
    server_check: str = ""
    # `after=EXPR` on the line: a client-side statement the stub runs after a successful reply
    # (outputs already written): the frontend's bookkeeping of library state (descriptors' scale
    # type and pointer mode). The server side stays generated.
    after: str = ""
    # `failed=EXPR` on the line: a client-side statement the stub runs after a reply with an
    # error status, `$status` standing for that status (bookkeeping of a call whose failure
    # still changed state: cudaStreamEndCapture of an invalidated capture ends the capture).
    failed: str = ""
    # `local=EXPR` on the line: an expression of type std::optional<status> the client stub
    # evaluates before anything is sent; a value is the call's result, without a round trip
    # (answers the client can give exactly: cached device queries). No value: the call goes on.
    local: str = ""
    # `async_if=EXPR` on the line: a bool expression the client stub evaluates before sending;
    # true means the client can tell the call will be accepted, so it is sent without waiting
    # for its reply (it returns success; a failure comes back with a later reply as a deferred
    # error). Only for calls with nothing to bring back.
    async_if: str = ""


@dataclass
class Library:
    name: str = ""
    includes: List[str] = field(default_factory=list)   # parsed and #included by generated code
    parse_only: List[str] = field(default_factory=list)  # parsed for prototypes only
    types: List[str] = field(default_factory=list)      # parsed for pointer typedefs only
    strip: List[str] = field(default_factory=list)      # attribute-like macros to drop
    strip_calls: List[str] = field(default_factory=list)  # macros dropped with their (args)
    soname: str = ""
    id_range: Tuple[int, int] = (0, 0)
    reserved: List[Tuple[int, int, str]] = field(default_factory=list)
    status_type: str = ""
    status_ok: str = ""
    status_unsupported: str = ""
    status_invalid: str = ""
    status_nomem: str = ""
    handles: Dict[str, str] = field(default_factory=dict)  # C type -> helper prefix
    # C type -> (HandleKind enumerator, invalid status): helpers generated in <lib>_handles.h
    handle_kinds: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    status_unavailable: str = ""  # what every call answers when the backend plugin is missing
    # What the client answers for a `versioned` struct whose version names a size larger than
    # the header's struct (a version this build does not know; else `invalid`).
    status_version: str = ""
    pointer_mode: str = ""        # see `pointer_mode` above
    server_pointer_mode: str = ""  # see `server_pointer_mode` above
    plugin_sonames: List[str] = field(default_factory=list)  # `backend_plugin`
    # `default PARAM:SPEC ...`: the spec of a gen function's parameter named PARAM when its line
    # gives none (cuBLAS: alpha:scalar A:dptr ...). A line's own spec always wins.
    defaults: Dict[str, "Spec"] = field(default_factory=dict)
    # Pointer parameters that name a library object by a client-side address (the runtime's
    # host stubs): spec name; client helper NAME_to_wire, server helper NAME_in.
    refs: List[str] = field(default_factory=list)
    alias_suffixes: List[str] = field(default_factory=list)
    client_includes: List[str] = field(default_factory=list)
    server_includes: List[str] = field(default_factory=list)
    client_ns: str = ""          # lost(), finish(), set_last_error live here; Call enum too
    server_ns: str = ""          # handlers and handle helpers live here
    client_fail: str = ""        # called with a failure the client answers itself
    buffer_bound: int = 1 << 20  # bytes, per in[]/out[] buffer
    string_bound: int = 4096     # bytes, per instr string
    # header, enum (`enum NAME {` or `typedef enum {...} NAME;`), name fn, string fn; a name fn
    # of `-`: the library has none, the enumerator's own name is its name (cuDNN).
    errors: Optional[Tuple[str, str, str, str]] = None
    # The library whose exports we copy, relative to a library directory, when it is not the
    # soname (the driver: only lib64/stubs/libcuda.so ships with the toolkit).
    exports_from: str = ""
    # `exports_list FILE`: the export list is this text file (one function name a line, `#`
    # comments; relative to the annotation file), for a library that is not on the build machine
    # (NVML ships with the driver only).
    exports_list: str = ""
    # Version node of every export: the soname (default), or "" for none (a library whose
    # exports carry no version, like the driver).
    version_node: Optional[str] = None
    # Headers whose `#define NAME TARGET` / `#define NAME __CUDA_API_PTDS(TARGET)` lines rename
    # functions (cuda.h: cuMemAlloc -> cuMemAlloc_v2). Prototypes declared under NAME belong
    # to TARGET; NAME itself is the legacy export.
    renames: List[str] = field(default_factory=list)
    # Headers whose `PFN_NAME_vVERSION` typedefs (cudaTypedefs.h) say which ABI versions each
    # function has: cuGetProcAddress picks the export for the cudaVersion it is given
    # (<lib>_versions.inc).
    proc_versions: List[str] = field(default_factory=list)
    # Filled by the loader from `proc_versions`: (base, version, export, per-thread export or "",
    # first version with a per-thread form or 0).
    version_map: List[Tuple[str, int, str, str, int]] = field(default_factory=list)
    # Server handlers call the real function through `FN<decltype(&::NAME)>(ctx, "NAME")`
    # (which sets ctx.status and returns nullptr if it cannot), instead of linking it.
    server_resolve: str = ""
    # `result_enum HEADER ENUM`: the status enum whose names the frontend answers locally
    # (<lib>_results.inc).
    result_enum: Optional[Tuple[str, str]] = None
    # Prototypes need no `extern` (directive `plain_prototypes`).
    plain_prototypes: bool = False
    entries: List[Entry] = field(default_factory=list)
    path: str = ""
    # Filled by the loader from `renames` headers: (name, target, per_thread) whose target is
    # an export.
    rename_map: List[Tuple[str, str, str]] = field(default_factory=list)

    def entry(self, name: str) -> Optional[Entry]:
        for e in self.entries:
            if e.name == name:
                return e
        return None


def _err(path, line, msg):
    raise AnnotationError(f"{path}:{line}: {msg}")


def _parse_range(text, path, line):
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if not m or int(m.group(1)) > int(m.group(2)):
        _err(path, line, f"bad id range {text!r} (want LOW-HIGH)")
    return int(m.group(1)), int(m.group(2))


def _kv(words, path, line):
    out = {}
    for w in words:
        if "=" not in w:
            _err(path, line, f"expected key=value, got {w!r}")
        k, v = w.split("=", 1)
        out[k] = v
    return out


def parse(text: str, path: str = "<api>") -> Library:
    lib = Library(path=path)
    seen_names: Dict[str, int] = {}
    seen_ids: Dict[int, Tuple[str, int]] = {}
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        head = words[0]
        if head[0].isdigit() or head == "-":
            _parse_entry(lib, words, path, lineno, seen_names, seen_ids)
            if "#" in raw:
                lib.entries[-1].note = raw.split("#", 1)[1].strip()
            continue
        args = words[1:]
        if head in _LIST_DIRECTIVES:
            getattr(lib, _LIST_DIRECTIVES[head]).extend(args)
        elif head in _WORD_DIRECTIVES:
            setattr(lib, _WORD_DIRECTIVES[head], args[0])
        elif head == "ids":
            lib.id_range = _parse_range(args[0], path, lineno)
        elif head == "reserve":
            lo, hi = _parse_range(args[0], path, lineno)
            lib.reserved.append((lo, hi, " ".join(args[1:])))
        elif head == "status":
            lib.status_type = args[0]
            kv = _kv(args[1:], path, lineno)
            lib.status_ok = kv.get("ok", "")
            lib.status_unsupported = kv.get("unsupported", "")
            lib.status_invalid = kv.get("invalid", "")
            lib.status_nomem = kv.get("nomem", "")
            lib.status_unavailable = kv.get("unavailable", "")
            lib.status_version = kv.get("version", "")
        elif head == "handle":
            if len(args) not in (2, 4):
                _err(path, lineno, "handle wants: handle C_TYPE helper_prefix "
                                   "[kind=HandleKind invalid=STATUS]")
            lib.handles[args[0]] = args[1]
            if len(args) == 4:
                kv = _kv(args[2:], path, lineno)
                if set(kv) != {"kind", "invalid"}:
                    _err(path, lineno, "handle's options are kind= and invalid=")
                lib.handle_kinds[args[0]] = (kv["kind"], kv["invalid"])
        elif head == "default":
            for w in args:
                m = _SPEC.match(w)
                if not m or (m.group(2) not in SPEC_KINDS and m.group(2) not in lib.refs):
                    _err(path, lineno, f"bad default spec {w!r} (want param:kind)")
                if m.group(3) is not None and \
                        m.group(2) not in ("in", "out", "io", "inout", "versioned") + SCALAR_KINDS:
                    _err(path, lineno, f"{m.group(2)} takes no [length]")
                if m.group(2) == "io" and m.group(3) is None:
                    _err(path, lineno, "io needs [length] (a buffer read and written back)")
                lib.defaults[m.group(1)] = Spec(kind=m.group(2), length=m.group(3))
        elif head == "pointer_mode":
            lib.pointer_mode = " ".join(args)
        elif head == "server_pointer_mode":
            lib.server_pointer_mode = " ".join(args)
        elif head == "backend_plugin":
            if not args:
                _err(path, lineno, "backend_plugin wants: backend_plugin SONAME...")
            lib.plugin_sonames = list(args)
        elif head == "ref":
            if len(args) != 1 or not _IDENT.match(args[0]) or args[0] in SPEC_KINDS:
                _err(path, lineno, "ref wants: ref NAME (a new spec name)")
            lib.refs.append(args[0])
        elif head == "bound":
            kv = _kv(args, path, lineno)
            lib.buffer_bound = int(kv.get("buffer", lib.buffer_bound))
            lib.string_bound = int(kv.get("string", lib.string_bound))
        elif head == "version_node":
            lib.version_node = "" if args[0] == "none" else args[0]
        elif head == "result_enum":
            if len(args) != 2:
                _err(path, lineno, "result_enum wants: result_enum HEADER ENUM")
            lib.result_enum = (args[0], args[1])
        elif head == "plain_prototypes":
            lib.plain_prototypes = True
        elif head == "errors":
            if len(args) != 4:
                _err(path, lineno, "errors wants: errors HEADER ENUM NAME_FN|- STRING_FN")
            lib.errors = tuple(args)
        else:
            _err(path, lineno, f"unknown directive {head!r}")
    for key in ("name", "soname", "status_type", "status_ok", "status_unsupported",
                "client_ns", "server_ns"):
        if not getattr(lib, key):
            _err(path, 1, f"missing directive for {key}")
    if lib.id_range == (0, 0):
        _err(path, 1, "missing directive: ids LOW-HIGH")
    if lib.plugin_sonames and not lib.status_unavailable:
        _err(path, 1, "a backend_plugin library needs status ... unavailable=STATUS")
    for e in lib.entries:
        if e.call_id is None:
            continue
        lo, hi = lib.id_range
        if not lo <= e.call_id <= hi:
            _err(path, e.line, f"{e.name}: call id {e.call_id} outside {lo}-{hi}")
        for rlo, rhi, why in lib.reserved:
            if rlo <= e.call_id <= rhi:
                _err(path, e.line, f"{e.name}: call id {e.call_id} is reserved ({why})")
    return lib


def _parse_entry(lib, words, path, lineno, seen_names, seen_ids):
    if len(words) < 3:
        _err(path, lineno, "function line wants: ID|- NAME MODE [param:spec ...]")
    id_text, name, mode = words[0], words[1], words[2]
    if not _IDENT.match(name):
        _err(path, lineno, f"bad function name {name!r}")
    if mode not in MODES:
        _err(path, lineno, f"{name}: unknown mode {mode!r} (one of {', '.join(MODES)})")
    if id_text == "-":
        call_id = None
    elif id_text.isdigit():
        call_id = int(id_text)
    else:
        _err(path, lineno, f"{name}: bad call id {id_text!r}")
    if mode in MODES_WITH_ID and call_id is None:
        _err(path, lineno, f"{name}: mode {mode} needs a call id")
    if mode not in MODES_WITH_ID and call_id is not None:
        _err(path, lineno, f"{name}: mode {mode} takes no call id (write '-')")
    if name in seen_names:
        _err(path, lineno, f"duplicate name {name} (first on line {seen_names[name]})")
    if call_id is not None and call_id in seen_ids:
        other, oline = seen_ids[call_id]
        _err(path, lineno, f"duplicate call id {call_id}: {name} and {other} (line {oline})")
    specs: Dict[str, Spec] = {}
    enqueue = hook = waits = client_id = lane = False
    hooks = {"pointer_mode": "", "server_pointer_mode": "", "server_check": "", "after": "", "failed": "", "local": "", "async_if": ""}
    for w in words[3:]:
        if w == "hook":
            if mode != "gen":
                _err(path, lineno, f"{name}: hook applies to gen functions")
            hook = True
            continue
        if w == "enqueue":
            if mode not in ("gen", "hand"):
                _err(path, lineno, f"{name}: enqueue applies to gen and hand functions")
            enqueue = True
            continue
        if w == "client_id":
            if mode != "gen":
                _err(path, lineno, f"{name}: client_id applies to gen functions")
            client_id = True
            continue
        if w == "lane":
            if mode not in ("gen", "hand"):
                _err(path, lineno, f"{name}: lane applies to hand launches and gen stream "
                     "synchronisations")
            lane = True
            continue
        if w == "waits":
            if mode not in ("gen", "hand"):
                _err(path, lineno, f"{name}: waits applies to gen and hand functions")
            waits = True
            continue
        key = w.split("=", 1)[0]
        if "=" in w and key in hooks:
            if mode != "gen" or not w[len(key) + 1:]:
                _err(path, lineno, f"{name}: {key}=EXPR applies to gen functions")
            hooks[key] = w[len(key) + 1:]
            continue
        m = _SPEC.match(w)
        if not m:
            _err(path, lineno, f"{name}: bad parameter spec {w!r} (want param:kind)")
        pname, kind, length = m.group(1), m.group(2), m.group(3)
        if kind not in SPEC_KINDS and kind not in lib.refs:
            _err(path, lineno, f"{name}: bad parameter spec {w!r}: unknown kind {kind!r} (want "
                               f"one of {', '.join(SPEC_KINDS + tuple(lib.refs))})")
        if length is not None and kind not in ("in", "out", "io", "inout", "versioned") + SCALAR_KINDS:
            _err(path, lineno, f"{name}: {kind} takes no [length]")
        if kind == "io" and length is None:
            _err(path, lineno, f"{name}: io needs [length] (a buffer read and written back)")
        if pname in specs:
            _err(path, lineno, f"{name}: parameter {pname} annotated twice")
        specs[pname] = Spec(kind=kind, length=length)
    if specs and mode != "gen":
        _err(path, lineno, f"{name}: parameter specs only mean something in gen mode")
    if lane and mode == "gen" and not waits:
        _err(path, lineno, f"{name}: lane on a gen function is for stream synchronisations "
                           "(with waits)")
    seen_names[name] = lineno
    if call_id is not None:
        seen_ids[call_id] = (name, lineno)
    lib.entries.append(Entry(name=name, mode=mode, call_id=call_id, specs=specs, line=lineno,
                             enqueue=enqueue, waits=waits, lane=lane, client_id=client_id, hook=hook, pointer_mode=hooks["pointer_mode"],
                             server_pointer_mode=hooks["server_pointer_mode"],
                             server_check=hooks["server_check"],
                             after=hooks["after"], failed=hooks["failed"], local=hooks["local"],
                             async_if=hooks["async_if"]))
