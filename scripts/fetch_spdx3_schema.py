#!/usr/bin/env python3
"""Extract the SPDX 3.0.1 JSON schema from an npm registry package.

spdx.org is not reachable from the test machines; the npm registry is. The
package @cyclonedx/cdxgen@12.8.4 ships the published schema
(package/data/spdx-export.schema.json, whitespace aside identical to
https://spdx.org/schema/3.0.1/spdx-json-schema.json). The tarball is pinned
by its registry integrity (sha512) and the schema by the SHA-256 of its
canonical JSON; validate_spdx.py checks the latter again.

Usage: fetch_spdx3_schema.py OUT
"""
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request

URL = "https://registry.npmjs.org/@cyclonedx/cdxgen/-/cdxgen-12.8.4.tgz"
INTEGRITY = "9EMER2beUSU7fvKgVaYOnYCFqAHrY3bQ7ERenh29/Edku0ctEXzYdov6vCmjmo/hSBH+JtvA7+j1U884MVYFOA=="
MEMBER = "package/data/spdx-export.schema.json"
CANONICAL_SHA256 = "ac91f185e7ee0e3afca7c426de77dbec69e097cb7f46562c353790752fc00cb7"


def main(out):
    with urllib.request.urlopen(URL, timeout=120) as r:
        tgz = r.read()
    got = base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    if got != INTEGRITY:
        raise SystemExit(f"{URL}: sha512 {got} is not the pinned integrity")
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as t:
        data = t.extractfile(MEMBER).read()
    schema = json.loads(data)
    canon = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if hashlib.sha256(canon.encode()).hexdigest() != CANONICAL_SHA256:
        raise SystemExit(f"{MEMBER}: not the SPDX 3.0.1 JSON schema")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)
    print(f"SPDX 3.0.1 JSON schema: {out}")


if __name__ == "__main__":
    main(sys.argv[1])
