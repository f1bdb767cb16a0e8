#!/usr/bin/env python3
"""Validate CycloneDX 1.6 JSON documents against the official schema.

Usage: validate_cyclonedx.py FILE...   (exit 0 when all are valid)
Uses cyclonedx-python-lib's strict JSON validator, which bundles the official
bom-1.6.schema.json, spdx.schema.json and jsf-0.82.schema.json.
"""
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def main(paths):
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        err = validator.validate_str(text)
        if err is not None:
            bad += 1
            print(f"{path}: INVALID: {err}")
        else:
            print(f"{path}: valid CycloneDX 1.6")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
