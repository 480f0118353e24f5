#!/usr/bin/env python3
"""What the serial rule costs: one `clusterca issue` into a CA that already holds N certificates
(default 20,000: the rule reads the serial of every file in signed/, every inventory line and
the CRL) beside the same issue into a CA holding 2, and the peer that also keeps a database of
what it issued, `openssl ca` (index.txt, read and rewritten on every issuance), with an index of
N entries and of 2, measured in the same run. Prints medians and ratios.

    python3 benches/issue_into_big_ca.py [N] [RUNS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from peer import EXTENSIONS, build, run, timed

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 15


def clusterca_ca(exe, work, name, count):
    d = os.path.join(work, name)
    os.mkdir(d)
    run([exe, "init", "--dir", "ca"], d)
    os.mkdir(os.path.join(d, "out"))
    with open(os.path.join(d, "names.txt"), "w") as f:
        for i in range(count):
            f.write(f"old{i}.example.net\n")
    run([exe, "issue", "--from-file", "names.txt", "--dir", "ca", "--out", "out"], d)
    return d


def openssl_ca(work, name, count):
    """An `openssl ca` directory whose index.txt holds `count` issued certificates."""
    d = os.path.join(work, name)
    os.mkdir(d)
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
         "-subj", "/CN=Bench CA"], d, stderr=subprocess.DEVNULL)
    with open(os.path.join(d, "index.txt"), "w") as f:
        for i in range(count):
            f.write(f"V\t310101000000Z\t\t{i + 2:04X}\tunknown\t/CN=old{i}.example.net\n")
    with open(os.path.join(d, "serial"), "w") as f:
        f.write(f"{count + 2:04X}\n")
    os.mkdir(os.path.join(d, "certs"))
    with open(os.path.join(d, "openssl.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = index.txt\n"
                "serial = serial\nnew_certs_dir = certs\ncertificate = ca.crt\n"
                "private_key = ca.key\ndefault_md = sha256\ndefault_days = 1825\n"
                "policy = p\nunique_subject = no\nemail_in_dn = no\ncopy_extensions = none\n"
                "x509_extensions = ext\n[p]\ncommonName = supplied\n[ext]\n"
                + EXTENSIONS)
    return d


def openssl_issue(i):
    return (f"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
            f"-keyout n{i}.key -out n{i}.csr -subj /CN=n{i}.example.net 2>/dev/null && "
            f"openssl ca -batch -config openssl.cnf -in n{i}.csr -out n{i}.pem 2>/dev/null")


def main():
    exe = build()
    work = tempfile.mkdtemp(prefix="clusterca-bench-")
    try:
        small, big = clusterca_ca(exe, work, "small", 2), clusterca_ca(exe, work, "big", N)
        osmall, obig = openssl_ca(work, "osmall", 2), openssl_ca(work, "obig", N)
        os.sync()
        times = {k: [] for k in ("small", "big", "osmall", "obig")}
        for i in range(RUNS):
            for key, d in (("small", small), ("big", big)):
                times[key].append(timed([exe, "issue", f"new{i}.example.net", "--dir", "ca",
                                         "--out", "out"], d))
            for key, d in (("osmall", osmall), ("obig", obig)):
                times[key].append(timed(openssl_issue(i), d, shell=True))
        # Sanity: the rule handed out the next serial, and openssl verifies what was issued.
        run(["openssl", "verify", "-CAfile", "ca/ca_crt.pem", "out/new0.example.net.pem"], big)
        serial = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in",
                                 "out/new0.example.net.pem"], cwd=big, check=True,
                                capture_output=True, text=True).stdout.strip()
        assert serial == f"serial={N + 2:04X}", serial
        m = {k: statistics.median(v) * 1000 for k, v in times.items()}
        print(f"certificates already issued: {N}; runs each: {RUNS}")
        print(f"clusterca issue, CA of 2:        {m['small']:8.2f} ms")
        print(f"clusterca issue, CA of {N}:  {m['big']:8.2f} ms  (+{m['big'] - m['small']:.2f} ms)")
        print(f"openssl req + ca, index of 2:    {m['osmall']:8.2f} ms")
        print(f"openssl req + ca, index of {N}: {m['obig']:8.2f} ms  (+{m['obig'] - m['osmall']:.2f} ms)")
        print(f"ratio at {N}: clusterca/openssl {m['big'] / m['obig']:.3f} "
              f"({m['obig'] / m['big']:.1f}x faster)")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
