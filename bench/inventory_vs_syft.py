#!/usr/bin/env python3
"""Inventory benchmark: fieldattest vs Syft on the same rootfs, same run.

Usage: bench/inventory_vs_syft.py ROOTFS [--runs N]
Needs a release build (cargo build --release -p fieldattest-agent) and Syft
(the venv of scripts/test has it: .venv/bin/syft).

Prints wall time (median of N runs) and peak RSS (max over runs, from wait4)
of both tools and the ratios, and checks on the way that both list the same
packages and purls and that the packages equal dpkg-query's list; prints the
dependency graphs' edge counts and agreement (fieldattest's from dpkg's fields,
Syft's dependency-of relationships) and both CycloneDX SBOMs' completeness
(CPE, supplier, publisher, licenses, dependency entries per component).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


GNU_TIME = "/usr/bin/time"


def run(cmd, out_path):
    """Runs cmd with stdout to out_path; returns (wall seconds, peak RSS KiB).

    Peak RSS comes from GNU time (Debian package `time`): a child forked from
    Python inherits Python's resident pages in ru_maxrss, which would inflate
    a small tool's figure ~6x.
    """
    rss_file = out_path + ".rss"
    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.run([GNU_TIME, "-f", "%M", "-o", rss_file] + cmd, stdout=out,
                           stderr=subprocess.DEVNULL,
                           env=dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false"))
        wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed with {p.returncode}")
    return wall, int(open(rss_file).read().split()[-1])


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    root = args[0]
    if not os.path.exists(GNU_TIME):
        sys.exit("needs GNU time: apt-get install time")
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 10
    fa = os.path.join(TOP, "target/release/fieldattest")
    syft = os.environ.get("SYFT", os.path.join(TOP, ".venv/bin/syft"))
    tmp = tempfile.mkdtemp()
    fa_out, sy_out = os.path.join(tmp, "fa.json"), os.path.join(tmp, "syft.json")

    # Warm the page cache for both equally.
    run([fa, "scan", "--root", root, "--format", "json"], fa_out)
    run([syft, "scan", f"dir:{root}", "-o", "json", "-q"], sy_out)

    fa_t, fa_rss, sy_t, sy_rss = [], [], [], []
    for _ in range(runs):
        w, r = run([fa, "scan", "--root", root, "--format", "json"], fa_out)
        fa_t.append(w)
        fa_rss.append(r)
    for _ in range(max(3, runs // 3)):
        w, r = run([syft, "scan", f"dir:{root}", "-o", "json", "-q"], sy_out)
        sy_t.append(w)
        sy_rss.append(r)

    ours = json.load(open(fa_out))["inventory"]["packages"]
    theirs = [a for a in json.load(open(sy_out))["artifacts"] if a["type"] == "deb"]
    q = subprocess.run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W",
                        "-f", "${Package}\t${Version}\t${Architecture}\n"],
                       capture_output=True, text=True, check=True).stdout.split("\n")
    dq = sorted(tuple(l.split("\t")) for l in q if l)
    mine = sorted((p["name"], p["version"], p["arch"]) for p in ours)
    purls_equal = sorted(p["purl"] for p in ours) == sorted(a["purl"] for a in theirs)

    # Dependency graphs (ISSUE19): ours resolved from dpkg's fields, Syft's
    # `dependency-of` relationships (parent is a dependency of child).
    key = lambda p: p.get("binary_name") or p["name"]
    our_edges = {(key(p), t) for p in ours for t in p.get("depends_on", [])}
    sy = json.load(open(sy_out))
    arts = {a["id"]: a["name"] for a in sy["artifacts"] if a["type"] == "deb"}
    syft_edges = {(arts[r["child"]], arts[r["parent"]]) for r in sy.get("artifactRelationships", [])
                  if r["type"] == "dependency-of" and r["parent"] in arts and r["child"] in arts}
    # Multi-Arch: same packages are keyed name:arch by us, by name by Syft.
    plain = {(a.split(":")[0], b.split(":")[0]) for a, b in our_edges}
    common = plain & syft_edges
    # Publisher: our Maintainer field against Syft's.
    sy_maint = {a["name"]: (a.get("metadata") or {}).get("maintainer") for a in sy["artifacts"]
                if a["type"] == "deb"}
    same_maint = sum(1 for p in ours if p.get("maintainer") and p.get("maintainer") == sy_maint.get(p["name"]))

    # SBOM completeness (ISSUE19): both CycloneDX SBOMs, per deb component.
    fa_cdx, sy_cdx = os.path.join(tmp, "fa.cdx.json"), os.path.join(tmp, "syft.cdx.json")
    run([fa, "scan", "--root", root, "--format", "cyclonedx"], fa_cdx)
    run([syft, "scan", f"dir:{root}", "-o", "cyclonedx-json", "-q"], sy_cdx)

    def completeness(path):
        doc = json.load(open(path))
        comps = [c for c in doc.get("components", []) if (c.get("purl") or "").startswith("pkg:deb/")]
        deps = {d["ref"]: d.get("dependsOn", []) for d in doc.get("dependencies", [])}
        refs = {c.get("bom-ref") for c in comps}
        return {
            "components": len(comps),
            "cpe": sum(1 for c in comps if c.get("cpe")),
            "supplier": sum(1 for c in comps if (c.get("supplier") or {}).get("name")),
            "publisher": sum(1 for c in comps if c.get("publisher")),
            "licenses": sum(1 for c in comps if c.get("licenses")),
            "dependency entries": sum(1 for r in deps if r in refs),
            "dependency edges": sum(len(v) for r, v in deps.items() if r in refs),
            "author": bool(doc.get("metadata", {}).get("authors")),
        }

    fc, sc = completeness(fa_cdx), completeness(sy_cdx)
    ft, st = statistics.median(fa_t), statistics.median(sy_t)
    fr, sr = max(fa_rss), max(sy_rss)
    print(f"rootfs: {root}")
    print(f"packages: fieldattest {len(ours)}, syft {len(theirs)}, dpkg-query {len(dq)}; "
          f"equal to dpkg-query: {mine == dq}; purls equal to Syft's: {purls_equal}")
    print(f"dependency edges: fieldattest {len(our_edges)}, syft {len(syft_edges)}, in both {len(common)}; "
          f"only ours {sorted(plain - syft_edges)[:5]}, only Syft's {sorted(syft_edges - plain)[:5]}")
    print(f"maintainer (supplier/publisher): {sum(1 for p in ours if p.get('maintainer'))} of {len(ours)} packages, "
          f"{same_maint} equal to Syft's")
    print("CycloneDX SBOM, deb components: " + ", ".join(
        f"{k} {fc[k]} vs {sc[k]}" for k in fc) + " (fieldattest vs Syft)")
    print(f"{'tool':<12} {'wall (median)':>14} {'peak RSS':>10}")
    print(f"{'fieldattest':<12} {ft*1000:>11.1f} ms {fr/1024:>7.1f} MB   ({runs} runs)")
    print(f"{'syft':<12} {st*1000:>11.1f} ms {sr/1024:>7.1f} MB   ({len(sy_t)} runs)")
    print(f"speed: fieldattest is {st/ft:.0f}x faster (target >= 40x)")
    print(f"memory: fieldattest peak RSS is 1/{sr/fr:.0f} of Syft's (target <= 1/30)")
    ok = mine == dq and purls_equal and plain == syft_edges
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
