#!/usr/bin/env python3
"""Converts bare "it ended the session" checks in unit tests to EXPECT_FAULT with their reason.

A hostile-input test written as EXPECT_THROW(stmt, be::SessionFault) (or wire::DecodeError, or
EXPECT_ANY_THROW) still passes when its own check is removed and a later one throws.
EXPECT_FAULT(stmt, "text") (tests/unit/expect_fault.h) also requires the message to contain
text. This tool does the mechanical part of the conversion; a person reviews the result.

  1. tools/fault_expectations.py mark tests/unit/foo_test.cc ...
     Rewrites each EXPECT_THROW(stmt, <SessionFault|DecodeError>) and EXPECT_ANY_THROW(stmt) to
     EXPECT_FAULT(stmt, "@@N") (N unique across the files) and adds #include "expect_fault.h"
     where neither it nor handler_test.h is included.
  2. Build and run the unit tests, saving the output:
     build/bin/gvirtus_unit_tests --gtest_filter='<the tests>' > /tmp/faults.log 2>&1
     Each "@@N" fails and prints the actual message.
  3. tools/fault_expectations.py fill /tmp/faults.log tests/unit/foo_test.cc ...
     Replaces each "@@N" with the message it got (less " (never issued in this session)").
     A tag that got several messages (a loop over cases) or none (the test did not run) is left
     and listed: split such a loop into (input, reason) pairs by hand.
  4. Review every text: it must name what only the check under test produces. If two checks of
     one handler share a message, give them two messages in the handler. (fill reflows the lines
     it changed with clang-format, for the 100-column limit.)
"""
import collections
import json
import re
import subprocess
import sys

TYPES = {"be::SessionFault", "backend::SessionFault", "SessionFault", "wire::DecodeError",
         "DecodeError"}
TAG = re.compile(r'"@@(\d+)"')


def closing(src, j):
    """Index of the parenthesis closing the one before src[j], and the last top-level comma."""
    depth, comma = 1, None
    while depth:
        c = src[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 1:
            comma = j
        elif c == '"':  # skip string literals, which may hold brackets or commas
            j += 1
            while src[j] != '"':
                j += 2 if src[j] == "\\" else 1
        j += 1
    return j - 1, comma


def add_include(src):
    """src with #include "expect_fault.h" sorted into its last block of quoted includes."""
    lines = src.split("\n")
    quoted = [k for k, line in enumerate(lines) if line.startswith('#include "')]
    end = quoted[-1]
    start = end
    while start > 0 and lines[start - 1].startswith('#include "'):
        start -= 1
    lines[start:end + 1] = sorted(lines[start:end + 1] + ['#include "expect_fault.h"'])
    return "\n".join(lines)


def mark(paths):
    texts = {p: open(p).read() for p in paths}
    n = max([int(m) for s in texts.values() for m in TAG.findall(s)] + [0])
    for path, src in texts.items():
        out, i = [], 0
        for m in re.finditer(r"\b(EXPECT_THROW|EXPECT_ANY_THROW)\(", src):
            if m.start() < i:
                continue
            close, comma = closing(src, m.end())
            if m.group(1) == "EXPECT_THROW":
                if comma is None or src[comma + 1:close].strip() not in TYPES:
                    continue
                stmt, ws = src[m.end():comma + 1], src[comma + 1:close]
                lead = ws[:len(ws) - len(ws.lstrip())]
            else:
                stmt, lead = src[m.end():close] + ",", " "
            n += 1
            out += [src[i:m.start()], "EXPECT_FAULT(", stmt, lead, f'"@@{n}")']
            i = close + 1
        out.append(src[i:])
        new = "".join(out)
        if new != src and not re.search(r'#include "(expect_fault|handler_test)\.h"', new):
            new = add_include(new)
        if new != src:
            open(path, "w").write(new)
    print(f"{n} tags in all")


def fill(log, paths):
    got = collections.defaultdict(set)
    pattern = re.compile(r'(?:SessionFault|DecodeError) "(.*)" does not contain "@@(\d+)"')
    for line in open(log, errors="replace"):
        m = pattern.search(line)
        if m:
            got[m.group(2)].add(m.group(1).replace(" (never issued in this session)", ""))
    left = []
    for path in paths:
        src = open(path).read()

        def text(m):
            msgs = got.get(m.group(1), set())
            if len(msgs) != 1:
                left.append((path, m.group(0), sorted(msgs)))
                return m.group(0)
            return json.dumps(next(iter(msgs)), ensure_ascii=False)

        new = TAG.sub(text, src)
        if new == src:
            continue
        open(path, "w").write(new)
        # Reflow only the filled lines (the 100-column limit), leaving the rest of the file as is.
        ranges = [f"--lines={k}:{k}" for k, (old, line) in
                  enumerate(zip(src.split("\n"), new.split("\n")), 1) if line != old]
        try:
            subprocess.run(["clang-format", "-i", *ranges, path], check=True)
        except (OSError, subprocess.CalledProcessError):
            print(f"{path}: clang-format failed; reflow the filled lines by hand")
    for path, tag, msgs in left:
        print(f"{path}: {tag} left: {msgs or 'no message (did its test run?)'}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "mark":
        mark(sys.argv[2:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "fill":
        fill(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
