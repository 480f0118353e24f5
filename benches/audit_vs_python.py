#!/usr/bin/env python3
"""`clusterca audit` of N nodes (default 20,000), each a certificate and its private key, with
`--ca` and `--expect-name`, beside one Python process using `cryptography` (the library most
fleet scripts are written with) that applies the same rules to the same files, in the same run:

  - SAN: the certificate carries the shared name;
  - expiry: notAfter is in the future (and not within 30 days);
  - signature: the certificate's signature verifies with the CA's public key;
  - key match: the private key beside it has the certificate's public key.

The fleet: `clusterca issue --from-file` of N names, all carrying the shared name, into one
directory of NAME.pem + NAME.key.pem (the layout `issue --out` writes). Both tools find every
file clean; both read every file. The time is the median of three warm runs of each.

    python3 benches/audit_vs_python.py [N]

Needs: apt-get install python3-cryptography
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from peer import build, ca_with_fleet, run

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
SHARED = "puppet.example.net"
# Debian's python3 with python3-cryptography (the packaged peer), else this interpreter.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# The Python peer: one process, the same four rules over the same files.
PEER = r'''
import datetime, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

fleet, ca_file, shared = sys.argv[1], sys.argv[2], sys.argv[3]
ca = x509.load_pem_x509_certificate(open(ca_file, "rb").read())
ca_key = ca.public_key()
now = datetime.datetime.utcnow()
soon = now + datetime.timedelta(days=30)
spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
bad = 0
certs = 0
for name in sorted(os.listdir(fleet)):
    if not name.endswith(".pem") or name.endswith(".key.pem"):
        continue
    cert = x509.load_pem_x509_certificate(open(os.path.join(fleet, name), "rb").read())
    certs += 1
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if shared not in sans.get_values_for_type(x509.DNSName):
        bad += 1
    if cert.not_valid_after <= soon:
        bad += 1
    try:
        if isinstance(ca_key, ec.EllipticCurvePublicKey):
            ca_key.verify(cert.signature, cert.tbs_certificate_bytes,
                          ec.ECDSA(cert.signature_hash_algorithm))
        else:
            ca_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                          cert.signature_hash_algorithm)
    except Exception:
        bad += 1
    key_file = os.path.join(fleet, name[:-4] + ".key.pem")
    if os.path.exists(key_file):
        key = serialization.load_pem_private_key(open(key_file, "rb").read(), None)
        if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
            bad += 1
print(certs, bad)
'''


def median_of_three(cmd, cwd):
    times, out = [], None
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)  # warm the cache
    for _ in range(3):
        t = time.perf_counter()
        out = subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout
        times.append(time.perf_counter() - t)
    times.sort()
    return times[1], out


def main():
    exe = build()
    work = tempfile.mkdtemp(prefix="clusterca-audit-py-")
    try:
        ca_with_fleet(exe, work, N, out="fleet", alt_name=SHARED)
        with open(os.path.join(work, "peer.py"), "w") as f:
            f.write(PEER)

        ours, out = median_of_three(
            [exe, "audit", "fleet", "--ca", "ca/ca_crt.pem", "--expect-name", SHARED,
             "--format", "json"], work)
        assert '"findings": []' in out, out[:500]
        assert f'"certificates": {N}' in out and f'"keys": {N}' in out, out[:300]
        theirs, out = median_of_three(
            [PYTHON, "peer.py", "fleet", "ca/ca_crt.pem", SHARED], work)
        assert out.split() == [str(N), "0"], out

        print(f"audit of {N} nodes (certificate + key each; SAN, expiry, signature, key match), "
              f"median of 3 warm runs:")
        print(f"  clusterca audit --ca --expect-name:   {ours:7.2f} s  {N / ours:9.0f} nodes/s")
        print(f"  Python cryptography, one process:     {theirs:7.2f} s  {N / theirs:9.0f} nodes/s")
        print(f"  ratio: clusterca is {theirs / ours:.1f}x faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
