#!/usr/bin/env python3
"""Validate SPDX documents with independent implementations (ISSUE19).

Usage: validate_spdx.py FILE...   (exit 0 when every file is valid)

- SPDX 2.3 JSON: parsed and validated by the official spdx-tools
  (`spdx_tools.spdx.parser.parse_anything` + `validate_full_spdx_document`,
  the checks `pyspdxtools -i FILE` prints; pyspdxtools itself exits 0 even
  when it prints errors, so the API is used).
- SPDX 3.0.1 JSON-LD (a document with `@context`): the published SPDX 3.0.1
  JSON schema (Draft 2020-12, via `jsonschema-rs`, ~500x faster than the
  pure-Python `jsonschema` on a document with every package's files;
  the copy is pinned by the
  SHA-256 of its canonical JSON, which equals that of
  https://spdx.org/schema/3.0.1/spdx-json-schema.json), then loaded,
  linked and re-serialised by spdx-python-model's 3.0.1 bindings (generated
  by shacl2code from the official SHACL model: types, vocabularies,
  cardinalities, references to undefined elements).

The schema path: $FIELDATTEST_SPDX3_SCHEMA, else .venv/share/spdx/3.0.1/spdx-json-schema.json
(scripts/test extracts it from the npm registry package @cyclonedx/cdxgen@12.8.4).
"""
import hashlib
import io
import json
import os
import sys

SCHEMA_CANONICAL_SHA256 = "ac91f185e7ee0e3afca7c426de77dbec69e097cb7f46562c353790752fc00cb7"


def canonical_sha256(obj):
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def schema_path():
    p = os.environ.get("FIELDATTEST_SPDX3_SCHEMA")
    if p:
        return p
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", ".venv", "share", "spdx", "3.0.1", "spdx-json-schema.json")


def validate_spdx2(path):
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        doc = parse_file(path)
    except Exception as e:  # noqa: BLE001 - every parse error is a finding
        return [f"parse: {type(e).__name__}: {e}"]
    return [m.validation_message for m in validate_full_spdx_document(doc, "SPDX-2.3")]


def validate_spdx3(path, text):
    import jsonschema_rs
    import spdx_python_model
    from spdx_python_model import v3_0_1 as model

    with open(schema_path(), encoding="utf-8") as f:
        schema = json.load(f)
    if canonical_sha256(schema) != SCHEMA_CANONICAL_SHA256:
        raise SystemExit(f"{schema_path()}: not the SPDX 3.0.1 JSON schema")
    doc = json.loads(text)
    errors = []
    validator = jsonschema_rs.validator_for(schema)
    for i, e in enumerate(validator.iter_errors(doc)):
        if i == 12:
            break
        path = "/".join(str(p) for p in getattr(e, "instance_path", []))
        errors.append(f"schema: /{path}: {getattr(e, 'message', str(e))[:300]}")
    try:
        _, objset = spdx_python_model.load_data(doc)
        missing = objset.link()
        model.JSONLDSerializer().write(objset, io.BytesIO())
        if missing:
            errors.append(f"model: references to undefined elements: {sorted(missing)[:10]}")
    except Exception as e:  # noqa: BLE001
        errors.append(f"model: {type(e).__name__}: {str(e)[:300]}")
    return errors


def main(paths):
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        v3 = "@context" in json.loads(text)
        errors = validate_spdx3(path, text) if v3 else validate_spdx2(path)
        if errors:
            bad += 1
            print(f"{path}: INVALID")
            for e in errors[:12]:
                print(f"  {e[:400]}")
            if len(errors) > 12:
                print(f"  … {len(errors) - 12} more")
        else:
            print(f"{path}: valid {'SPDX 3.0.1' if v3 else 'SPDX 2.3'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
