#!/usr/bin/env python3
"""Regenerate collector/tests/data/apk-version-pairs.tsv: Alpine version pairs
with apk-tools' own verdict, from apk-tools' own C code.

    git clone --bare https://github.com/alpinelinux/apk-tools /tmp/apk-tools.git
    scripts/gen-apk-version-pairs.py /tmp/apk-tools.git \
        > collector/tests/data/apk-version-pairs.tsv

The argument is an apk-tools git directory (bare or not). Only the version
comparison is built, from two refs: `2.14-stable` (apk-tools 2.14, Alpine
up to 3.22) and `master` (apk-tools 3, Alpine 3.23 and later): each ref's
src/version.c and src/blob.c (plus src/ctype.c for 3.x) are compiled with a
small harness into a temporary directory (nothing fetched is kept). Needs
git and a C compiler. The pairs are deterministic (fixed seed), so a rerun
against the same commits reproduces the file byte for byte.

Columns: a, b, apk 2.14 `apk_version_compare(a, b)` as `apk version -t`
prints it, apk 2.14 validity of a and b (`apk_version_validate`, "1"/"0"),
then the same two for apk 3.x. (`apk version -t` of 3.x refuses invalid
versions; the raw comparison of its version.c is still recorded.)
"""

import os
import random
import subprocess
import sys
import tempfile

HARNESS = r"""
#include <stdio.h>
#include <string.h>
#include "apk_blob.h"
#include "apk_version.h"
#ifdef APK3
#define CMP(a,b) apk_version_compare(APK_BLOB_STR(a), APK_BLOB_STR(b))
#else
#define CMP(a,b) apk_version_compare(a, b)
#endif
int apk_digest_alg_len(unsigned char a) { (void)a; return 0; }
int main(void) {
	static char line[8192];
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		char *tab = strchr(line, '\t');
		if (!tab) continue;
		*tab = 0;
		char *a = line, *b = tab + 1;
		printf("%s\t%d%d\n", apk_version_op_string(CMP(a, b)),
		       apk_version_validate(APK_BLOB_STR(a)),
		       apk_version_validate(APK_BLOB_STR(b)));
	}
	return 0;
}
"""

REFS = [("2.14-stable", ["version.c", "blob.c"], []), ("master", ["version.c", "blob.c", "ctype.c"], ["-DAPK3"])]

SUFFIXES = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"]


def build(gitdir, ref, sources, flags, tmp):
    src = os.path.join(tmp, ref)
    os.makedirs(src)
    names = subprocess.run(["git", "--git-dir", gitdir, "ls-tree", "--name-only", ref, "src/"],
                           check=True, capture_output=True, text=True).stdout.split()
    for name in names:
        if name.endswith((".c", ".h")):
            data = subprocess.run(["git", "--git-dir", gitdir, "show", f"{ref}:{name}"],
                                  check=True, capture_output=True).stdout
            with open(os.path.join(src, os.path.basename(name)), "wb") as f:
                f.write(data)
    with open(os.path.join(src, "harness.c"), "w") as f:
        f.write(HARNESS)
    exe = os.path.join(tmp, ref + ".bin")
    # The 2.14 harness does not need the digest stub; it is harmless there.
    subprocess.run(["cc", "-O1", "-w", *flags, "-I", src, "-o", exe, os.path.join(src, "harness.c"),
                    *[os.path.join(src, s) for s in sources]], check=True)
    commit = subprocess.run(["git", "--git-dir", gitdir, "rev-parse", ref],
                            check=True, capture_output=True, text=True).stdout.strip()
    return exe, commit


def num(r):
    """A numeric component: mostly small, sometimes leading zeros or long."""
    k = r.random()
    if k < 0.6:
        return str(r.randint(0, 20))
    if k < 0.75:
        return "0" * r.randint(1, 3) + str(r.randint(0, 99))
    if k < 0.85:
        return str(r.randint(0, 9999))
    if k < 0.95:
        return r.choice(["20230101", "20240229", "20191231", "2024"])
    return str(r.randint(0, 10**r.randint(12, 20)))


def version(r):
    parts = [num(r) for _ in range(r.choice([1, 2, 2, 3, 3, 3, 4]))]
    v = ".".join(parts)
    if r.random() < 0.12:
        v += r.choice("abcdz")
    for _ in range(r.choice([0, 0, 0, 1, 1, 2])):
        s = r.choice(SUFFIXES)
        v += "_" + s
        if s in ("git", "p", "cvs", "svn", "hg") and r.random() < 0.5:
            v += r.choice(["20230101", "20240101", "20221231"])
        elif r.random() < 0.7:
            v += num(r)
    if r.random() < 0.08:
        v += "~" + "".join(r.choice("0123456789abcdef") for _ in range(r.choice([7, 8, 12])))
    if r.random() < 0.85:
        v += "-r" + str(r.choice([0, 0, 1, 2, 3, 5, 10, 15, 20, 100]))
    return v


ALPHABET = "0123456789._-~rabcdefgpz" + "AZ+:"


def mutate(r, v):
    """One or two small edits: the near-misses where orderings disagree."""
    for _ in range(r.choice([1, 1, 2])):
        k = r.random()
        pos = r.randint(0, len(v))
        if k < 0.3 and v:
            # change a digit by one, or a character to another
            i = r.randrange(len(v))
            c = v[i]
            if c.isdigit():
                c = str((int(c) + r.choice([1, 9])) % 10)
            else:
                c = r.choice(ALPHABET)
            v = v[:i] + c + v[i + 1:]
        elif k < 0.5:
            v = v[:pos] + r.choice(ALPHABET) + v[pos:]
        elif k < 0.6 and v:
            i = r.randrange(len(v))
            v = v[:i] + v[i + 1:]
        elif k < 0.7:
            v = v[:pos] + "0" + v[pos:]
        elif k < 0.8:
            # drop or add the revision
            if "-r" in v:
                v = v[: v.rindex("-r")]
            else:
                v += "-r0"
        elif k < 0.9:
            v = v[:pos] + "_" + r.choice(SUFFIXES) + r.choice(["", "0", "1"]) + v[pos:]
        else:
            v = v[:pos]
    return v


FIXED = [
    ("1.004-r0", "1.01-r0"), ("1.0", "1.0-r0"), ("1.0_rc", "1.0_rc0"), ("1.0", "1.00"),
    ("1.0~abc123-r1", "1.0-r1"), ("1.2.3_rc1-r2", "1.2.3-r2"), ("1.2.3_p1-r0", "1.2.3-r5"),
    ("1.0a-r0", "1.0-r0"), ("1.0a-r0", "1.0.1-r0"), ("2.0_git20240101-r0", "2.0-r0"),
    ("1.2.3_p20230101-r1", "1.2.3_p20230102-r0"), ("1.0_alpha", "1.0_beta"), ("1.0_pre1", "1.0_rc1"),
    ("1.0_cvs", "1.0_svn"), ("1.0_hg", "1.0_p"), ("1.0_patch1", "1.0_p1"), ("1.0_foo", "1.0"),
    ("", "1"), ("", ""), ("foo", "bar"), ("1.0-r", "1.0"), ("1.0-", "1.0"), ("1..0", "1.0"),
    ("1.0.", "1.0"), ("1.0A", "1.0"), ("1.01", "1.1"), ("1.010", "1.01"), ("0.0", "0"),
    ("1.0_rc1_p2", "1.0_rc1"), ("1.0~", "1.0"), ("1.0~g", "1.0"), ("1.0~ABC", "1.0"),
    ("123456789012345678", "123456789012345679"), ("1.123456789012345678901", "1.1"),
    ("18446744073709551616", "0"), ("1.2.3-r1-r2", "1.2.3-r1"), ("1.0ab", "1.0a"),
    ("1.0a1", "1.0a"), ("1.0_rc1.2", "1.0_rc1"), ("1_rc", "1"), ("1.0-r01", "1.0-r1"),
]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    gitdir = sys.argv[1]
    r = random.Random(20261202)
    base = [version(r) for _ in range(2500)]
    pairs = list(FIXED)
    seen = set(pairs)
    while len(pairs) < 6000:
        k = r.random()
        a = r.choice(base)
        if k < 0.5:
            b = mutate(r, a)
        elif k < 0.7:
            b = r.choice(base)
        elif k < 0.85:
            a, b = mutate(r, a), mutate(r, a)
        else:
            b = version(r)
        if "\t" in a + b or "\n" in a + b or (a, b) in seen:
            continue
        seen.add((a, b))
        pairs.append((a, b))
    stdin = "".join(f"{a}\t{b}\n" for a, b in pairs)
    with tempfile.TemporaryDirectory() as tmp:
        cols, commits = [], []
        for ref, sources, flags in REFS:
            exe, commit = build(gitdir, ref, sources, flags, tmp)
            out = subprocess.run([exe], input=stdin, check=True, capture_output=True, text=True).stdout
            lines = out.splitlines()
            assert len(lines) == len(pairs), (ref, len(lines), len(pairs))
            cols.append(lines)
            commits.append(f"{ref}={commit}")
    print("# apk-tools version comparison verdicts, generated by scripts/gen-apk-version-pairs.py")
    print("# from " + " ".join(commits))
    print("# a\tb\tapk2.14\tvalid2.14\tapk3\tvalid3")
    for (a, b), x, y in zip(pairs, *cols):
        print(f"{a}\t{b}\t{x}\t{y}")


if __name__ == "__main__":
    main()
