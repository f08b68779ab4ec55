#!/usr/bin/env python3
"""Prints the public headers no other public header includes, one per line (keyward/x.hpp).

Every header under include/keyward is reached from one of them, so clang-tidy over their
header-check TUs (tools/test.sh) sees every header's code: once, instead of once for each of the
headers that include it.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "include")
include = re.compile(r'^\s*#\s*include\s*["<](keyward/[^">]+)[">]', re.MULTILINE)
# keyward/impl/src.hpp is not a header: it is the separate-compilation TU's (a .cpp includes it).
headers = sorted(str(p.relative_to(root)) for p in (root / "keyward").rglob("*.hpp")
                 if p.name != "src.hpp" or p.parent.name != "impl")
# A header that only an impl/*.ipp includes is reached through that .ipp's own header.
sources = headers + sorted(str(p.relative_to(root)) for p in (root / "keyward").rglob("*.ipp"))
included = {name for h in sources for name in include.findall((root / h).read_text())}
for header in headers:
    if header not in included:
        print(header)
