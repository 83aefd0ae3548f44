"""Reads C prototypes and enums out of library headers, without a C preprocessor.

Only what the generator needs: `extern` function declarations (return type, name, parameters)
and the enumerators of named enums. Comments and preprocessor lines are dropped, both branches of
every #if are read (the first declaration of a name wins), attribute-like macros are removed
(the list comes from the annotation file's `strip` directive plus STRIP_ALWAYS), and anything
that does not look like a plain prototype is skipped rather than guessed at.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

# Noise removed from every header, whatever the library.
STRIP_ALWAYS = {"extern", "inline", "__inline__", "static", "noexcept"}
# Macros that take an argument list and vanish with it (default arguments, attributes).
STRIP_CALLS_ALWAYS = {"__attribute__", "__declspec", "__dv", "__asm__", "__asm", "throw"}

_IDENT = re.compile(r"[A-Za-z_]\w*")
# Words that may appear in a type and so are never a parameter's name.
_TYPE_WORDS = {
    "const", "volatile", "struct", "enum", "union", "unsigned", "signed", "short", "long",
    "int", "char", "float", "double", "void", "bool", "restrict", "__restrict", "__restrict__",
}


class ParseError(Exception):
    pass


@dataclass
class Param:
    name: str
    type: str          # normalised C type without the name, e.g. "const struct cudaDeviceProp*"
    decl: str          # declaration with the name, e.g. "void (*fn)(void*)" or "int* count"
    is_fnptr: bool = False

    @property
    def pointer_depth(self) -> int:
        return 0 if self.is_fnptr else self.type.count("*")

    @property
    def is_pointer(self) -> bool:
        return self.is_fnptr or "*" in self.type or self.type.endswith("]")

    def pointee(self) -> str:
        """The type one level of indirection down, without its top-level const."""
        assert self.pointer_depth > 0
        t = self.type[: self.type.rindex("*")].strip()
        return strip_const(t)

    def pointee_is_const(self) -> bool:
        t = self.type[: self.type.rindex("*")].strip()
        toks = t.replace("*", " * ").split()
        # "const T*" or "T const*": const applies to the pointee if it follows the last '*'
        last_star = max((i for i, x in enumerate(toks) if x == "*"), default=-1)
        return "const" in toks[last_star + 1:]


@dataclass
class Prototype:
    name: str
    ret: str
    params: List[Param] = field(default_factory=list)
    header: str = ""
    alias_of: Optional[str] = None  # set for NAME_ptsz / NAME_ptds taken from NAME's prototype

    def signature(self, name: Optional[str] = None) -> str:
        ps = ", ".join(p.decl for p in self.params) or "void"
        return f"{self.ret} {name or self.name}({ps})"


def strip_const(t: str) -> str:
    toks = t.replace("*", " * ").split()
    # drop const qualifiers that apply to the outermost object only
    last_star = max((i for i, x in enumerate(toks) if x == "*"), default=-1)
    keep = [x for i, x in enumerate(toks) if not (x == "const" and i > last_star)]
    return norm_type(" ".join(keep))


def norm_type(t: str) -> str:
    t = re.sub(r"\s+", " ", t.strip())
    t = re.sub(r"\s*\*\s*", "*", t)
    t = re.sub(r"\*(?=\w)", "* ", t)
    return t


def strip_comments(text: str) -> str:
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(" " + "\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_preprocessor(text: str) -> str:
    text = text.replace("\\\n", " ")
    return "\n".join("" if ln.lstrip().startswith("#") else ln for ln in text.split("\n"))


def _remove_call_macros(s: str, names) -> str:
    """Removes NAME(...) with balanced parentheses for each macro name."""
    for name in names:
        pat = re.compile(r"\b" + re.escape(name) + r"\s*\(")
        while True:
            m = pat.search(s)
            if not m:
                break
            depth, j = 0, m.end() - 1
            while j < len(s):
                if s[j] == "(":
                    depth += 1
                elif s[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            s = s[: m.start()] + " " + s[j + 1:]
    return s


def split_statements(text: str) -> List[str]:
    """Top-level statements ending in ';'. Brace blocks are skipped, except the bodies of
    `extern "C" {`, whose contents are read as top-level statements."""
    stmts, buf = [], []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == ";":
            stmts.append("".join(buf))
            buf = []
        elif c == "{":
            head = "".join(buf).strip()
            if re.search(r'(^|[\s;)])extern\s*"C(\+\+)?"$', head):
                buf = []  # the block's statements are top-level ones (and whatever junk
                # without a ';' came before `extern "C"` is dropped)
            else:
                depth, j = 1, i + 1
                while j < n and depth:
                    if text[j] == "{":
                        depth += 1
                    elif text[j] == "}":
                        depth -= 1
                    j += 1
                i = j
                if re.search(r"\)\s*(const)?\s*$", head):
                    buf = []  # an inline function's body: the statement ends here
                else:
                    buf.append(" {} ")  # struct/enum body: the statement goes on to ';'
                continue
        elif c == "}":
            buf = []  # end of an extern "C" block
        else:
            buf.append(c)
        i += 1
    return stmts


def split_top(s: str, sep: str = ",") -> List[str]:
    parts, depth, cur = [], 0, []
    for c in s:
        if c in "([<":
            depth += 1
        elif c in ")]>":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return parts


def parse_param(text: str, index: int) -> Optional[Param]:
    t = text.strip()
    # a C++ default argument "= value" (after __dv and friends are gone)
    eq = split_top(t, "=")
    t = eq[0].strip()
    t = re.sub(r"\s+", " ", t)
    if t in ("", "void"):
        return None
    if t == "...":
        return Param(name="...", type="...", decl="...")
    # function pointer: RET (*name)(ARGS)  or  RET (*)(ARGS)
    m = re.fullmatch(r"(.*?)\(\s*\*\s*([A-Za-z_]\w*)?\s*\)\s*(\(.*\))", t)
    if m:
        name = m.group(2) or f"arg{index}"
        ret = norm_type(m.group(1))
        args = m.group(3)
        return Param(name=name, type=f"{ret} (*)" + args, decl=f"{ret} (*{name}){args}",
                     is_fnptr=True)
    # arrays: "T name[N]" is passed as "T* name"
    arr = re.fullmatch(r"(.*?)\s*\[[^\]]*\]\s*", t)
    if arr:
        t = arr.group(1)
    words = _IDENT.findall(t)
    tail = t.rstrip()
    last = words[-1] if words else ""
    if (last and last not in _TYPE_WORDS and len(words) >= 2 and tail.endswith(last)
            and not re.search(r"\b(struct|enum|union)\s+" + re.escape(last) + r"$", tail)):
        name = last
        typ = tail[: len(tail) - len(last)]
    else:
        name = f"arg{index}"
        typ = tail
    if arr:
        typ += "*"
    typ = norm_type(typ)
    if not typ:
        return None
    return Param(name=name, type=typ, decl=f"{typ} {name}")


def parse_prototype(stmt: str, strip_words, strip_calls, plain=False) -> Optional[Prototype]:
    """plain: declarations need no `extern` (headers like cuda.h declare functions inside an
    extern "C" block without it)."""
    s = re.sub(r'^\s*extern\s*"C"\s*', "extern ", stmt.strip())
    if plain and not s.startswith("extern"):
        s = "extern " + s
    if not s.startswith("extern") or "(" not in s or s.startswith("extern typedef"):
        return None
    if re.match(r"\s*typedef\b", s):
        return None
    s = _remove_call_macros(s, set(strip_calls) | STRIP_CALLS_ALWAYS)
    words = set(strip_words) | STRIP_ALWAYS
    s = _IDENT.sub(lambda m: " " if m.group(0) in words else m.group(0), s)
    s = re.sub(r"\s+", " ", s).strip()
    # NAME ( ... ) at the end
    if not s.endswith(")"):
        return None
    depth, j = 0, len(s) - 1
    while j >= 0:
        if s[j] == ")":
            depth += 1
        elif s[j] == "(":
            depth -= 1
            if depth == 0:
                break
        j -= 1
    if j <= 0:
        return None
    head, args = s[:j].strip(), s[j + 1:-1]
    m = re.fullmatch(r"(.*?[\w*&\s])\s*([A-Za-z_]\w*)", head)
    if not m or not m.group(1).strip() or "(" in head or "{" in head or "=" in head:
        return None
    ret, name = norm_type(m.group(1)), m.group(2)
    params = []
    for i, a in enumerate(split_top(args)):
        p = parse_param(a, i)
        if p is not None:
            params.append(p)
    return Prototype(name=name, ret=ret, params=params)


def parse_prototypes(text: str, strip_words=(), strip_calls=(), header: str = "",
                     plain=False) -> Dict[str, Prototype]:
    text = strip_preprocessor(strip_comments(text))
    out: Dict[str, Prototype] = {}
    for stmt in split_statements(text):
        p = parse_prototype(stmt, strip_words, strip_calls, plain)
        if p and p.name not in out:
            p.header = header
            out[p.name] = p
    return out


def parse_enum(text: str, enum_name: str, strip: Sequence[str] = ()) -> List[tuple]:
    """Enumerators (name, value) of `enum NAME { ... }` or `typedef enum [TAG] { ... } NAME;`,
    in order. Values may be decimal, hex, another enumerator of the same enum, or omitted
    (previous + 1). Words in `strip` (attribute macros after an enumerator) are dropped."""
    text = strip_preprocessor(strip_comments(text))
    for w in strip:
        text = re.sub(r"\b" + re.escape(w) + r"\b", " ", text)
    m = re.search(r"\benum\b[^{;]*?\b" + re.escape(enum_name) + r"\s*\{", text)
    if m:
        end = text.find("}", m.end())
        body = text[m.end():end]
    else:
        m = re.search(r"\btypedef\s+enum\b[^{;]*\{([^}]*)\}\s*" + re.escape(enum_name) +
                      r"\s*;", text)
        if not m:
            raise ParseError(f"enum {enum_name} not found")
        body = m.group(1)
    out, known, nxt = [], {}, 0
    for item in body.split(","):
        item = item.strip()
        if not item:
            continue
        if "=" in item:
            name, val = (x.strip() for x in item.split("=", 1))
            val = val.strip("() ")
            if val in known:
                v = known[val]
            else:
                try:
                    v = int(val.rstrip("uUlL"), 0)
                except ValueError:
                    raise ParseError(f"enum {enum_name}: cannot evaluate {item!r}")
        else:
            name, v = item, nxt
        if not _IDENT.fullmatch(name):
            raise ParseError(f"enum {enum_name}: bad enumerator {item!r}")
        out.append((name, v))
        known[name] = v
        nxt = v + 1
    return out


def parse_pointer_typedefs(text: str, strip_words=()) -> Dict[str, str]:
    """Typedef names that hide a pointer: {name: "pointer" | "function"}. A by-value parameter
    of such a type is really an address, and the generator must not forward it as plain bytes."""
    text = strip_preprocessor(strip_comments(text))
    words = set(strip_words) | STRIP_ALWAYS
    out: Dict[str, str] = {}
    for stmt in split_statements(text):
        s = _IDENT.sub(lambda m: " " if m.group(0) in words else m.group(0), stmt)
        s = re.sub(r"\s+", " ", s).strip()
        if not s.startswith("typedef "):
            continue
        m = re.search(r"\(\s*\*\s*([A-Za-z_]\w*)\s*\)\s*\(", s)
        if m:
            out[m.group(1)] = "function"
            continue
        m = re.fullmatch(r"typedef (.*?)([A-Za-z_]\w*)\s*", s)
        if m and "*" in m.group(1):
            out[m.group(2)] = "pointer"
    return out


_RENAME = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)\s+(?:(__CUDA_API_PT(?:DS|SZ))\s*\(\s*"
                     r"([A-Za-z_]\w*)\s*\)|([A-Za-z_]\w*))\s*$", re.M)


def parse_renames(text: str) -> List[tuple]:
    """Object-like macros that rename a function: (name, target, per_thread) for
    `#define NAME TARGET` and `#define NAME __CUDA_API_PTDS(TARGET)` (per_thread "ptds"; PTSZ:
    "ptsz"). In order of appearance; a name defined twice keeps its first definition (the
    header's main branch comes before its per-thread and internal ones). Targets that already
    name a per-thread export (NAME_ptsz) are the per-thread branch's and are left out."""
    text = strip_comments(text)
    out, seen = [], set()
    for m in _RENAME.finditer(text):
        name = m.group(1)
        target = m.group(3) or m.group(4)
        pt = {"__CUDA_API_PTDS": "ptds", "__CUDA_API_PTSZ": "ptsz"}.get(m.group(2) or "", "")
        if name.startswith("__") or target.endswith(("_ptsz", "_ptds")) or name in seen:
            continue
        seen.add(name)
        out.append((name, target, pt))
    return out


_PFN = re.compile(r"\*\s*PFN_([A-Za-z_]\w*?)_v(\d+)(_ptds|_ptsz)?\s*\)")


def parse_proc_versions(text: str) -> dict:
    """cudaTypedefs.h's `typedef ... (*PFN_NAME_vVERSION[_ptds|_ptsz])(...)`: {NAME: {False:
    versions, True: per-thread versions}}, versions as sets of ints."""
    out = {}
    for m in _PFN.finditer(strip_comments(text)):
        out.setdefault(m.group(1), {}).setdefault(bool(m.group(3)), set()).add(int(m.group(2)))
    return out


def version_map(pfn: dict, exports, rename_map) -> List[tuple]:
    """(base, version, export, per-thread export or "", first per-thread version or 0) for every
    function with versions. The driver's exports of one base name form a chain NAME, NAME_v2,
    NAME_v3...; its typedef versions, in ascending order, are the chain's last exports (cuCtxCreate
    2000, 3020, 11040, 12050: cuCtxCreate, _v2, _v3, _v4; cuCtxGetDevice 2000, 13000:
    cuCtxGetDevice, cuCtxGetDevice_v2). A base that cuda.h renames to another function
    (cuGraphInstantiate -> cuGraphInstantiateWithFlags) gets that function from the next major
    version on. Names whose chain does not fit their versions are left out (no version map)."""
    renamed = {n: t for n, t, _ in rename_map}
    out = []
    for base in sorted(pfn):
        vs = sorted(pfn[base].get(False, ()))
        if not vs:
            continue
        chain = [c for c in [base] + [f"{base}_v{k}" for k in range(2, 10)] if c in exports]
        if len(chain) < len(vs):
            continue
        target = renamed.get(base, base)
        names = chain[len(chain) - len(vs):]
        if target in chain and names[-1] != target and target != base:
            continue
        pts = sorted(pfn[base].get(True, ()))
        first_pt = pts[0] if pts else 0
        rows = list(zip(vs, names))
        if target not in chain and target in exports:
            rows.append(((vs[-1] // 1000 + 1) * 1000, target))
        for v, name in rows:
            pt = ""
            for suffix in ("_ptds", "_ptsz"):
                if first_pt and name + suffix in exports:
                    pt = name + suffix
            out.append((base, v, name, pt, first_pt if pt else 0))
    return out
