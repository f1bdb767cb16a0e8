#!/usr/bin/env python3
"""Interop checks of fieldattest tokens with python `cwt` (an independent
COSE/CWT implementation) and `cbor2`.

  cwt_interop.py verify TOKEN PUB.pem KID_HEX
      verify with cwt; print a JSON summary of the claims; check canonical CBOR
  cwt_interop.py expect-fail TOKEN PUB.pem KID_HEX
      exit 0 only if cwt refuses the token (prints the exception class)
  cwt_interop.py mutate KIND TOKEN OUT
      write a defective variant of TOKEN: der (ECDSA signature re-encoded as
      DER), alg-unprotected (alg moved to the unprotected header)
  cwt_interop.py make OUTDIR
      create an ES256 key and a token with cwt.encode (tagged), write
      OUTDIR/token.cwt, OUTDIR/pub.pem and OUTDIR/claims.json
"""
import hashlib
import json
import os
import sys

import cbor2
import cwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSE, COSEKey

PROFILE = "tag:fieldattest.org,2026:eat/v1"


def load_key(pem_path, kid_hex):
    return COSEKey.from_pem(open(pem_path, "rb").read(), kid=bytes.fromhex(kid_hex))


def summary(claims):
    return {
        "profile": claims.get(265),
        "ueid": claims[256].hex(),
        "seq": claims[-65537],
        "iat_is_int": isinstance(claims[6], int),
        "nonce": claims[10].hex() if 10 in claims else None,
        "measurements": len(claims.get(273, [])),
        "rules": sum(len(g[1]) for g in claims.get(274, [])),
        "int_keys_only": all(isinstance(k, int) for k in claims),
        "private_keys_ok": all(k > -65536 or k <= -65537 for k in claims),
        "hostname": claims.get(-65545),
        "listeners": claims.get(-65546, []),
        "cve_status": claims.get(-65547, []),
    }


def verify(tok_path, pem, kid):
    tok = open(tok_path, "rb").read()
    key = load_key(pem, kid)
    claims = cwt.decode(tok, key)
    # Determinism: canonical re-encoding of the payload gives the same bytes.
    outer = cbor2.loads(tok)
    assert outer.tag == 61 and outer.value.tag == 18, "want 61(18(...))"
    _, _, payload = COSE.new().decode_with_headers(cbor2.dumps(outer.value), key)
    canonical = cbor2.dumps(cbor2.loads(payload), canonical=True) == payload
    s = summary(claims)
    s["canonical"] = canonical
    print(json.dumps(s))


def expect_fail(tok_path, pem, kid):
    tok = open(tok_path, "rb").read()
    try:
        cwt.decode(tok, load_key(pem, kid))
    except Exception as e:  # any refusal is what we want
        print(type(e).__name__)
        return 0
    print("ACCEPTED")
    return 1


def mutate(kind, tok_path, out_path):
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    outer = cbor2.loads(open(tok_path, "rb").read())
    protected, unprotected, payload, sig = outer.value.value
    if kind == "der":
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        sig = encode_dss_signature(r, s)
    elif kind == "alg-unprotected":
        hdr = cbor2.loads(protected)
        unprotected = {1: hdr.pop(1)}
        protected = cbor2.dumps(hdr, canonical=True)
    else:
        sys.exit(f"unknown mutation {kind}")
    data = cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(18, [protected, unprotected, payload, sig])))
    open(out_path, "wb").write(data)


def thumbprint(pub):
    n = pub.public_numbers()
    m = {1: 2, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")}
    return hashlib.sha256(cbor2.dumps(m, canonical=True)).digest()


def make(outdir):
    os.makedirs(outdir, exist_ok=True)
    priv = ec.generate_private_key(ec.SECP256R1())
    pub = priv.public_key()
    kid = thumbprint(pub)
    priv_pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pub_pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = COSEKey.from_pem(priv_pem, kid=kid)
    claims = {
        7: os.urandom(16),
        256: b"\x01" + os.urandom(32),
        265: PROFILE,
        275: 1,
        270: "python-cwt",
        271: ["3.3.0", 1],
        274: [["tag:fieldattest.org,2026:catalog/ccsc@test", [["ssh.permit-root-login", 1]]]],
        -65537: 7,
        -65540: 3,
        -65545: "py-device",
        # A listener with its package (fifth element), one without (four).
        -65546: [["tcp", "0.0.0.0", 502, "modbusd", "plc-runtime"], ["udp6", "::", 161, None]],
        -65547: [
            ["CVE-2023-0464", "openssl", 1, "backported-patch", "CVE-2023-0464.patch"],
            ["CVE-2023-5678", "openssl", 2, "not-applicable-config", "no DH"],
            ["CVE-2024-0001", "plc-runtime", 3, "", ""],
        ],
        -70000: "unknown private claim, ignored",
    }
    tok = cwt.encode(claims, key, tagged=True)
    open(os.path.join(outdir, "token.cwt"), "wb").write(tok)
    open(os.path.join(outdir, "pub.pem"), "wb").write(pub_pem)
    json.dump({"ueid": claims[256].hex(), "seq": 7, "kid": kid.hex()}, open(os.path.join(outdir, "claims.json"), "w"))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "verify":
        verify(*sys.argv[2:5])
    elif cmd == "expect-fail":
        sys.exit(expect_fail(*sys.argv[2:5]))
    elif cmd == "mutate":
        mutate(*sys.argv[2:5])
    elif cmd == "make":
        make(sys.argv[2])
    else:
        sys.exit(__doc__)
