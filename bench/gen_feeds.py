#!/usr/bin/env python3
"""Generates NVD CVE API 2.0 JSON for the import/matching benchmark (issue 18).

    bench/gen_feeds.py N OUT.json [--products FILE] [--seed S] [--gzip]

N records `CVE-2090-<n>`, each with one to three `cpeMatch` criteria on
products drawn from the product list (one `vendor:product` a line; default:
a list of common embedded components), in the shapes NVD writes: version
ranges (`versionStartIncluding` / `versionEndExcluding`, or an inclusive
end), exact versions, running-on AND configurations with a non-vulnerable
`o:linux:linux_kernel` platform node, CVSS v3.1 (and for some, v4.0)
metrics. Written as a stream, so N = 250,000 needs little memory.
Deterministic for a seed.
"""
import argparse
import gzip
import json
import random
import sys

PRODUCTS = """busybox:busybox
openssl:openssl
openbsd:openssh
dropbear_ssh_project:dropbear_ssh
gnu:glibc
musl-libc:musl
linux:linux_kernel
haxx:curl
haxx:libcurl
zlib:zlib
sqlite:sqlite
gnu:bash
thekelleys:dnsmasq
isc:dhcp
ntp:ntp
lighttpd:lighttpd
nginx:nginx
apache:http_server
samba:samba
gnu:binutils
libexpat_project:libexpat
xmlsoft:libxml2
libpng:libpng
libjpeg-turbo:libjpeg-turbo
freetype:freetype
pcre:pcre2
systemd_project:systemd
util-linux_project:util-linux
openvpn:openvpn
wireshark:wireshark
mosquitto:mosquitto
eclipse:mosquitto
gnutls:gnutls
libssh:libssh
libssh2:libssh2
json-c_project:json-c
lua:lua
python:python
perl:perl
tcpdump:tcpdump""".split()


def version(rng):
    return ".".join(str(rng.randint(0, 12)) for _ in range(rng.choice((2, 3, 3, 3))))


def cpe(vendor, product, ver="*", part="a"):
    return f"cpe:2.3:{part}:{vendor}:{product}:{ver}:*:*:*:*:*:*:*"


def criterion(rng, vendor, product, i):
    part = "o" if product == "linux_kernel" else "a"
    m = {"vulnerable": True, "matchCriteriaId": f"{i:08X}-0000-4000-8000-{rng.getrandbits(48):012X}"}
    shape = rng.random()
    if shape < 0.15:
        m["criteria"] = cpe(vendor, product, version(rng), part)
        return m
    m["criteria"] = cpe(vendor, product, "*", part)
    lo, hi = sorted((version(rng), version(rng)), key=lambda v: [int(x) for x in v.split(".")])
    if shape < 0.75:
        m["versionStartIncluding"] = lo
        m["versionEndExcluding"] = hi
    elif shape < 0.9:
        m["versionEndExcluding"] = hi
    else:
        m["versionEndIncluding"] = hi
    return m


def record(rng, n, products):
    cid = f"CVE-2090-{n:06d}"
    matches = []
    for k in range(rng.choice((1, 1, 2, 3))):
        vendor, product = rng.choice(products).split(":", 1)
        matches.append(criterion(rng, vendor, product, n * 4 + k))
    nodes = [{"operator": "OR", "negate": False, "cpeMatch": matches}]
    conf = {"nodes": nodes}
    if rng.random() < 0.2:
        conf["operator"] = "AND"
        nodes.append({"operator": "OR", "negate": False, "cpeMatch": [
            {"vulnerable": False, "criteria": cpe("linux", "linux_kernel", "*", "o"),
             "matchCriteriaId": "22222222-2222-4222-8222-222222222222"}]})
    av = rng.choice("NALP")
    metrics = {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {
        "version": "3.1", "vectorString": f"CVSS:3.1/AV:{av}/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "baseScore": 9.8, "baseSeverity": "CRITICAL"}, "exploitabilityScore": 3.9, "impactScore": 5.9}]}
    if rng.random() < 0.3:
        metrics["cvssMetricV40"] = [{"source": "cna@example.org", "type": "Secondary", "cvssData": {
            "version": "4.0", "vectorString": f"CVSS:4.0/AV:{av}/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "baseScore": 9.3, "baseSeverity": "CRITICAL"}}]
    day = 1 + n % 28
    return {"cve": {
        "id": cid, "sourceIdentifier": "cve@mitre.org",
        "published": f"2090-01-{day:02d}T10:00:00.000", "lastModified": f"2090-02-{day:02d}T10:00:00.000",
        "vulnStatus": "Analyzed",
        "descriptions": [{"lang": "en", "value": f"Generated vulnerability {n} in {matches[0]['criteria'].split(':')[4]}."}],
        "metrics": metrics,
        "weaknesses": [{"source": "nvd@nist.gov", "type": "Primary", "description": [{"lang": "en", "value": "CWE-787"}]}],
        "configurations": [conf],
        "references": [{"url": f"https://example.org/advisories/{cid}", "source": "cve@mitre.org", "tags": ["Vendor Advisory"]}],
    }}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--products", help="file: one vendor:product a line")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--gzip", action="store_true")
    a = ap.parse_args()
    products = PRODUCTS
    if a.products:
        with open(a.products) as f:
            products = [l.strip() for l in f if ":" in l and not l.startswith("#")]
    rng = random.Random(a.seed)
    opener = gzip.open if a.gzip else open
    with opener(a.out, "wt") as out:
        out.write(json.dumps({"resultsPerPage": a.n, "startIndex": 0, "totalResults": a.n,
                              "format": "NVD_CVE", "version": "2.0",
                              "timestamp": "2090-03-01T00:00:00.000"})[:-1])
        out.write(',"vulnerabilities":[')
        for n in range(a.n):
            if n:
                out.write(",\n")
            out.write(json.dumps(record(rng, n, products), separators=(",", ":")))
        out.write("]}\n")
    print(f"{a.out}: {a.n} NVD 2.0 records over {len(products)} products", file=sys.stderr)


if __name__ == "__main__":
    main()
