#!/usr/bin/env python3
"""Writes scan/data/spdx-ids.txt: the SPDX license and exception identifiers
(one per line) the agent accepts in SPDX expressions, taken from the SPDX
enumeration that ships with cyclonedx-python-lib (the same list the CycloneDX
schema validates `license.id` against). Run after upgrading that package.
"""
import glob
import json
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
src = sorted(glob.glob(str(root / ".venv/lib/python3*/site-packages/cyclonedx/schema/_res/spdx.SNAPSHOT.schema.json")))
if not src:
    sys.exit("cyclonedx-python-lib not installed in .venv (run scripts/test first)")
schema = json.loads(Path(src[0]).read_text())
ids = sorted(set(schema["enum"]), key=str.lower)
out = root / "scan/data/spdx-ids.txt"
out.write_text(
    f"# SPDX license list {schema.get('$comment', '?')} (licenses and exceptions), from cyclonedx-python-lib\n"
    + "\n".join(ids) + "\n"
)
print(f"wrote {out}: {len(ids)} identifiers")
