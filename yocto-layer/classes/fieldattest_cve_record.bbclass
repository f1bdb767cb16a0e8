# fieldattest_cve_record.bbclass: records, for every target recipe, what a
# vulnerability match needs to know about it and cannot find in the image:
# PN, PV, CVE_VERSION (when set), CVE_PRODUCT (default BPN, as OE-core's
# cve-check and vex classes have it) and its CVE_STATUS as OE-core decodes it
# (CVE_STATUS_GROUPS and CVE_CHECK_IGNORE applied by
# oe.cve_check.extend_cve_status, statuses mapped by CVE_CHECK_STATUSMAP
# through oe.cve_check.decode_cve_status, CVEs fixed by patch files found by
# oe.cve_check.get_patched_cves). The image class fieldattest_image_check
# assembles the records of the recipes whose packages an image installs into
# /usr/share/fieldattest/cve-record.jsonl, which the agent reads and attests
# and the build-time scan puts into the SBOM (CPEs, VEX).
#
# Enable it for every recipe (local.conf or distro configuration):
#   INHERIT += "fieldattest_cve_record"
#
# One file per recipe: ${FIELDATTEST_CVE_RECORD_DIR}/${PACKAGE_ARCH}/${PN}.json,
# a single JSON line whose last key is an empty "packages" list (the image
# fills in the packages it installs). The task is not an sstate task: it
# reads only metadata, patch files and the recipe's pkgdata, so it runs in
# every build directory whose recipes it covers, also when their packages
# come from the shared state cache.
#
# A record line is kept within FIELDATTEST_CVE_RECORD_MAX_LINE bytes (the
# agent's reader refuses longer lines), leaving
# FIELDATTEST_CVE_RECORD_PACKAGES_ROOM bytes for the package list. A recipe
# with more CVE_STATUS entries than fit (linux-yocto lists over 12,000 on
# scarthgap) keeps, in this order: the Ignored and Unpatched entries, the
# Patched ones by patch (backported-patch, fix-file-included), then the
# Patched ones a version comparison decides (fixed-version,
# cpe-stable-backport); descriptions of Patched entries go first, and
# "cve_status_omitted" counts what was left out.

FIELDATTEST_CVE_RECORD_DIR ??= "${TMPDIR}/fieldattest-cve-record"
FIELDATTEST_CVE_RECORD_MAX_LINE ??= "65536"
FIELDATTEST_CVE_RECORD_PACKAGES_ROOM ??= "16384"

# As OE-core's cve-check and vex classes default it.
CVE_PRODUCT ??= "${BPN}"

# At parse time, as OE-core's vex and SPDX classes do it, so the task
# signature follows CVE_STATUS_GROUPS too.
# nooelint: oelint.task.noanonpython
python () {
    # CVE_STATUS_GROUPS and CVE_CHECK_IGNORE into CVE_STATUS flags (once per
    # recipe; the SPDX and vex classes call the same function).
    from oe.cve_check import extend_cve_status
    extend_cve_status(d)
    for c in ("native", "nativesdk", "cross", "crosssdk", "cross-canadian", "image"):
        if bb.data.inherits_class(c, d):
            d.setVarFlag("do_fieldattest_cve_record", "noexec", "1")
}

# CVE status details whose Patched verdict comes from a version comparison
# (the collector's own version match decides those too): the first Patched
# entries left out of an over-long record.
FIELDATTEST_CVE_RECORD_VERSION_DETAILS ??= "fixed-version cpe-stable-backport version-not-in-range"

def fieldattest_cve_statuses(d):
    """{cve: (status, detail, description)} of the recipe as OE-core decodes
    its CVE_STATUS and patch files, on scarthgap (get_patched_cves returns a
    set, decode_cve_status a tuple) and on later releases (both return
    dictionaries; get_patched_cves then holds every CVE_STATUS entry whose
    vendor/product concerns this recipe's CVE_PRODUCT)."""
    import os
    import oe.cve_check
    out = {}
    patched = oe.cve_check.get_patched_cves(d)
    if isinstance(patched, dict):
        for cve, s in patched.items():
            res = s.get("resource") or []
            if isinstance(res, str):
                res = [res]
            description = s.get("justification") or " ".join(os.path.basename(r) for r in res)
            out[cve] = (s.get("abbrev-status") or "", s.get("status") or "", description)
    else:
        for cve in patched:
            out[cve] = ("Patched", "fix-file-included", "")
        for cve in sorted(d.getVarFlags("CVE_STATUS") or {}):
            decoded = oe.cve_check.decode_cve_status(d, cve)
            if isinstance(decoded, dict):
                decoded = (decoded.get("mapping"), decoded.get("detail"), decoded.get("description"))
            mapping, detail, description = decoded
            if mapping:
                out[cve] = (mapping, detail or "", description or "")
    return out

def fieldattest_cve_record_line(d, statuses, max_line, version_details):
    """The recipe's record as one JSON line of at most max_line bytes, with
    an empty "packages" list last; returns (line, entries left out)."""
    import json
    head = {"pn": d.getVar("PN"), "pv": d.getVar("PV")}
    cve_version = d.getVar("CVE_VERSION")
    if cve_version:
        head["cve_version"] = cve_version
    head["cve_product"] = (d.getVar("CVE_PRODUCT") or "").split()
    entries = [
        {"id": cve, "status": s, "detail": detail, "description": description}
        for cve, (s, detail, description) in sorted(statuses.items())
    ]

    def dump(es, omitted):
        rec = dict(head)
        rec["cve_status"] = es
        if omitted:
            rec["cve_status_omitted"] = omitted
        rec["packages"] = []
        return json.dumps(rec, separators=(",", ":"))

    line = dump(entries, 0)
    if len(line) <= max_line:
        return line, 0
    for e in entries:
        if e["status"] == "Patched":
            e["description"] = ""

    def rank(e):
        if e["status"] != "Patched":
            return 0
        return 2 if e["detail"] in version_details else 1

    # Room for the rest with a six-digit count of what is left out.
    room = max_line - len(dump([], 999999))
    kept = []
    for e in sorted(entries, key=lambda e: (rank(e), e["id"])):
        size = len(json.dumps(e, separators=(",", ":"))) + 1
        if size <= room:
            kept.append(e)
            room -= size
    kept.sort(key=lambda e: e["id"])
    omitted = len(entries) - len(kept)
    return dump(kept, omitted), omitted

python do_fieldattest_cve_record () {
    import os
    statuses = fieldattest_cve_statuses(d)
    max_line = int(d.getVar("FIELDATTEST_CVE_RECORD_MAX_LINE")) - int(d.getVar("FIELDATTEST_CVE_RECORD_PACKAGES_ROOM"))
    line, omitted = fieldattest_cve_record_line(d, statuses, max_line,
        (d.getVar("FIELDATTEST_CVE_RECORD_VERSION_DETAILS") or "").split())
    if omitted:
        bb.note("fieldattest: %d of %d CVE_STATUS entries of %s left out of the image record (FIELDATTEST_CVE_RECORD_MAX_LINE)"
                % (omitted, len(statuses), d.getVar("PN")))
    out = d.expand("${FIELDATTEST_CVE_RECORD_DIR}/${PACKAGE_ARCH}")
    bb.utils.mkdirhier(out)
    path = os.path.join(out, d.getVar("PN") + ".json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(line + "\n")
    os.replace(path + ".tmp", path)
}
addtask fieldattest_cve_record after do_packagedata before do_build
do_fieldattest_cve_record[doc] = "Records the recipe's CVE_PRODUCT, PV, CVE_VERSION and decoded CVE_STATUS for fieldattest's image CVE record"
do_fieldattest_cve_record[vardeps] += "CVE_STATUS CVE_PRODUCT CVE_VERSION PV SRC_URI \
    FIELDATTEST_CVE_RECORD_MAX_LINE FIELDATTEST_CVE_RECORD_PACKAGES_ROOM \
    FIELDATTEST_CVE_RECORD_VERSION_DETAILS"

# Images wait for the records of every recipe they are built from.
do_rootfs[recrdeptask] += "do_fieldattest_cve_record"
