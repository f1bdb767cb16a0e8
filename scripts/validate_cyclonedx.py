#!/usr/bin/env python3
"""Validate CycloneDX 1.6 JSON documents against the official schema.

Usage: validate_cyclonedx.py FILE...   (exit 0 when all are valid)
       validate_cyclonedx.py --cpe CPE...  (exit 0 when every CPE matches)
Uses cyclonedx-python-lib's strict JSON validator, which bundles the official
bom-1.6.schema.json, spdx.schema.json and jsf-0.82.schema.json.

The JSON schema does not constrain `cpe`; its XML twin does, with the CPE 2.3
naming schema's pattern (cpe-naming_2.3.xsd: the formatted-string binding of
NISTIR 7695). Every `cpe` of a component and every identity evidence of field
`cpe` is matched against that pattern, read from the bundled bom-1.6 XSD.
"""
import json
import os
import re
import sys

import cyclonedx.schema
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def cpe_pattern():
    """The `bom:cpe` simpleType pattern of the bundled CycloneDX 1.6 XSD."""
    res = os.path.join(os.path.dirname(cyclonedx.schema.__file__), "_res")
    with open(os.path.join(res, "bom-1.6.SNAPSHOT.xsd"), encoding="utf-8") as f:
        xsd = f.read()
    m = re.search(r'<xs:simpleType name="cpe">.*?<xs:pattern value="([^"]+)"/>', xsd, re.S)
    if not m:
        raise SystemExit("no cpe pattern in the bundled XSD")
    p = m.group(1)
    for ent, ch in (("&quot;", '"'), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        p = p.replace(ent, ch)
    # XSD patterns are anchored; `$$` in a character class is two dollars.
    return re.compile(p)


def cpes_of(doc):
    for c in doc.get("components", []):
        if "cpe" in c:
            yield c["bom-ref"], c["cpe"]
        for ev in (c.get("evidence") or {}).get("identity", []):
            if ev.get("field") == "cpe":
                yield c["bom-ref"], ev.get("concludedValue", "")


def main(paths):
    pat = cpe_pattern()
    if paths[:1] == ["--cpe"]:
        bad = 0
        for c in paths[1:]:
            ok = pat.fullmatch(c) is not None
            bad += not ok
            print(f"{'valid' if ok else 'INVALID'} CPE: {c}")
        return 1 if bad else 0
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        err = validator.validate_str(text)
        if err is None:
            for ref, cpe in cpes_of(json.loads(text)):
                if not pat.fullmatch(cpe):
                    err = f"component {ref}: cpe {cpe!r} does not match the CPE 2.3 pattern"
                    break
        if err is not None:
            bad += 1
            print(f"{path}: INVALID: {err}")
        else:
            print(f"{path}: valid CycloneDX 1.6")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
