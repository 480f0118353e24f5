#!/usr/bin/env python3
"""`check` and `list --all` of a CA of N certificates (default 100,000; an ECDSA P-256 CA, as
`init` makes), warm cache, median of three runs each, beside in the same run:

  - the signature-checking floor: N checks of a certificate's signature against that CA on
    every core, in-process, nothing else (`sign_floor --verify`): `check` verifies every
    certificate in signed/, so it cannot take less;
  - the shell loops an operator would write: `openssl verify -CAfile` for each file (what
    `check` verifies) and `openssl x509 -noout -serial -enddate -ext subjectAltName` for each
    (what `list --all` shows), timed over a sample (default 300 files) and scaled to N.

    python3 benches/check_list_big_ca.py [N] [SAMPLE]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from peer import ROOT, build, ca_with_fleet, run

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
SAMPLE = int(sys.argv[2]) if len(sys.argv) > 2 else 300


def median_of_three(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=False, stdout=subprocess.DEVNULL)  # warm the cache
    times = []
    for _ in range(3):
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
        assert r.returncode == 0, f"{cmd}: exit {r.returncode}"
    return sorted(times)[1]


def loop(script, cwd, count):
    t = time.perf_counter()
    subprocess.run(["sh", "-e"], input=script, text=True, check=True, cwd=cwd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t) / count


def main():
    exe = build()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "clusterca-pki", "--example",
                    "sign_floor"], cwd=ROOT, check=True)
    floor_exe = os.path.join(ROOT, "target", "release", "examples", "sign_floor")
    work = tempfile.mkdtemp(prefix="clusterca-big-ca-")
    try:
        ca_with_fleet(exe, work, N)
        check = median_of_three([exe, "check", "--dir", "ca"], work)
        listing = median_of_three([exe, "list", "--all", "--dir", "ca"], work)
        floor = json.loads(subprocess.run([floor_exe, os.path.join(work, "ca"), str(N), "--verify"],
                                          capture_output=True, text=True, check=True).stdout)
        signed = os.path.join(work, "ca", "signed")
        files = sorted(os.listdir(signed))[:SAMPLE]
        verify = loop("".join(f'openssl verify -CAfile ca/ca_crt.pem "ca/signed/{f}"\n'
                              for f in files), work, len(files))
        show = loop("".join(f'openssl x509 -in "ca/signed/{f}" -noout -serial -enddate -ext subjectAltName\n'
                            for f in files), work, len(files))
        print(f"a CA of {N} certificates (ECDSA P-256), warm cache, median of 3:")
        print(f"  clusterca check:            {check:7.2f} s   (signature floor, {floor['threads']} cores, no I/O: "
              f"{N / floor['per_second']:.2f} s; openssl verify loop: {verify * N:7.0f} s, {verify / (check / N):.0f}x slower)")
        print(f"  clusterca list --all:       {listing:7.2f} s   (openssl x509 loop: {show * N:7.0f} s, "
              f"{show / (listing / N):.0f}x slower)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
