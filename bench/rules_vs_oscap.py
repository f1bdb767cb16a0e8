#!/usr/bin/env python3
"""Rule-scan benchmark: fieldattest vs oscap-chroot (SCAP Security Guide) on the
same Debian minbase rootfs, and the planted problems of the factory-default
fixture that each tool reports.

Usage: bench/rules_vs_oscap.py ROOTFS [--runs N]
Needs: release build (cargo build --release -p fieldattest-agent), GNU time,
Debian packages openscap-scanner openscap-utils ssg-debian, and the test
binaries (the factory fixture is written by tests/tests/rules_e2e.rs).

ssg-debian in Debian 12 ships content for Debian 10/11 only; its CPE check marks
every rule "notapplicable" on bookworm. To make oscap evaluate its rules, the
script runs it on a copy of the rootfs labelled as Debian 11 (os-release and
debian_version), which is the most favourable setting for oscap.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
GNU_TIME = "/usr/bin/time"
DS = "/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml"
PROFILE = "xccdf_org.ssgproject.content_profile_standard"


def timed(cmd, ok=(0,)):
    rss_file = tempfile.mktemp()
    t0 = time.perf_counter()
    p = subprocess.run([GNU_TIME, "-f", "%M", "-o", rss_file] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode not in ok:
        sys.exit(f"{cmd[0]} exited {p.returncode}: {p.stderr[-500:]}")
    rss = int(open(rss_file).read().split()[-1])
    os.unlink(rss_file)
    return wall, rss, p.stdout


def as_debian11(src, dst):
    # cp -a keeps device nodes as nodes (copytree would read /dev/zero forever).
    subprocess.run(["cp", "-a", src, dst], check=True)
    with open(os.path.join(dst, "etc/debian_version"), "w") as f:
        f.write("11.9\n")
    osr = os.path.join(dst, "etc/os-release")
    if os.path.islink(osr):
        os.unlink(osr)
    with open(osr, "w") as f:
        f.write('PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\n'
                'VERSION_ID="11"\nVERSION="11 (bullseye)"\nVERSION_CODENAME=bullseye\nID=debian\n')


def oscap(root):
    wall, rss, out = timed(["oscap-chroot", root, "xccdf", "eval", "--profile", PROFILE, DS], ok=(0, 2))
    # Fields are "Rule<CR><TAB>id" (text mode turns the CR into a newline).
    results = re.findall(r"^Rule\s+(\S+)\s*\n(?:Ident\s+.*\n)*Result\s+(\S+)", out, re.M)
    return wall, rss, results


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    root = os.path.abspath(args[0])
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 10
    fa = os.path.join(TOP, "target/release/fieldattest")
    tmp = tempfile.mkdtemp()

    # 1. Full scan of the minbase tree (no usable password hashes there, so the
    #    default-credential check costs nothing; see cred_throughput for it).
    timed([fa, "scan", "--root", root, "--format", "json"])
    fa_t, fa_rss = [], []
    for _ in range(runs):
        w, r, _ = timed([fa, "scan", "--root", root, "--format", "json"])
        fa_t.append(w)
        fa_rss.append(r)
    _, _, out = timed([fa, "scan", "--root", root, "--format", "json"])
    import json
    rep = json.loads(out)
    statuses = {}
    for r in rep["rules"]:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1

    deb11 = os.path.join(tmp, "deb11")
    as_debian11(root, deb11)
    os_t, os_rss = [], []
    results = []
    for _ in range(max(3, runs // 5)):
        w, r, results = oscap(deb11)
        os_t.append(w)
        os_rss.append(r)
    os_counts = {}
    for _, res in results:
        os_counts[res] = os_counts.get(res, 0) + 1

    # 2. Factory-default fixture: planted problems reported by each tool.
    fixture = os.path.join(tmp, "factory")
    env = dict(os.environ, FIELDATTEST_FIXTURE_OUT=fixture)
    subprocess.run(["cargo", "test", "-q", "-p", "fieldattest-tests", "--test", "rules_e2e",
                    "factory_default_device_produces_every_planted_finding"],
                   cwd=TOP, env=env, check=True, capture_output=True)
    expected = open(os.path.join(fixture, ".expected")).read().split()
    _, _, out = timed([fa, "scan", "--root", fixture, "--format", "json"], ok=(0, 1))
    ours = {f["rule"] for f in json.loads(out)["findings"]}
    fa_found = [e for e in expected if e in ours]
    fixture11 = os.path.join(tmp, "factory11")
    as_debian11(fixture, fixture11)
    _, _, fx_results = oscap(fixture11)
    fx_fail = sorted(r for r, res in fx_results if res == "fail")

    ft, ot = statistics.median(fa_t), statistics.median(os_t)
    print(f"rootfs: {root}")
    print(f"fieldattest: {len(rep['rules'])} rules {statuses}, {len(rep['findings'])} findings")
    print(f"oscap-chroot ({os.path.basename(DS)}, profile standard): {len(results)} rules {os_counts}")
    print(f"{'tool':<14} {'wall (median)':>14} {'peak RSS':>10}")
    print(f"{'fieldattest':<14} {ft*1000:>11.1f} ms {max(fa_rss)/1024:>7.1f} MB   ({runs} runs)")
    print(f"{'oscap-chroot':<14} {ot*1000:>11.1f} ms {max(os_rss)/1024:>7.1f} MB   ({len(os_t)} runs)")
    print(f"speed: fieldattest is {ot/ft:.0f}x faster (target >= 10x); full scan {ft:.3f} s (target <= 0.15 s)")
    print(f"memory: fieldattest peak RSS is 1/{max(os_rss)/max(fa_rss):.0f} of oscap's")
    print(f"factory-default fixture: {len(expected)} planted problems")
    print(f"  fieldattest reports {len(fa_found)}/{len(expected)}")
    print(f"  oscap-chroot (fixture labelled Debian 11) fails {len(fx_fail)} rules: {', '.join(r.replace('xccdf_org.ssgproject.content_rule_', '') for r in fx_fail)}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
