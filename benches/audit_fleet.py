#!/usr/bin/env python3
"""`clusterca audit` of a generated fleet of N certificate files (default 100,000), warm cache,
beside the shell loop operators use today:

    for f in ...; do openssl x509 -in "$f" -noout -ext subjectAltName -enddate; done

timed over a sample (default 500 files) and scaled to N, in the same run. clusterca does more
per file than that loop: it also verifies each certificate's signature against the CA and
checks revocation, key matching and modes.

The fleet: `clusterca issue --from-file` of N names, all carrying the shared name; the files
audited are the CA's copies in signed/ (N certificate files, nothing else).

    python3 benches/audit_fleet.py [N] [SAMPLE]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from peer import build, ca_with_fleet, run

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
SAMPLE = int(sys.argv[2]) if len(sys.argv) > 2 else 500
SHARED = "puppet.example.net"


def main():
    exe = build()
    work = tempfile.mkdtemp(prefix="clusterca-audit-bench-")
    try:
        t = time.perf_counter()
        ca_with_fleet(exe, work, N, alt_name=SHARED)
        print(f"fleet: {N} certificates issued in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        # The keys are not audited here: keep the fleet to N certificate files.
        shutil.rmtree(os.path.join(work, "out"))
        fleet = os.path.join(work, "ca", "signed")
        args = [exe, "audit", fleet, "--expect-name", SHARED, "--ca", "ca/ca_crt.pem",
                "--crl", "ca/ca_crl.pem", "--format", "json"]
        # Warm the cache, then time three runs and keep the best and the median.
        run(args, work)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            out = subprocess.run(args, cwd=work, check=True, capture_output=True, text=True).stdout
            times.append(time.perf_counter() - t)
        assert '"findings": []' in out, out[:500]
        assert f'"certificates": {N}' in out, out[:300]
        times.sort()
        ours = times[1]

        files = sorted(os.listdir(fleet))[:SAMPLE]
        script = "".join(
            f'openssl x509 -in "{os.path.join(fleet, f)}" -noout -ext subjectAltName -enddate\n'
            for f in files)
        t = time.perf_counter()
        subprocess.run(["sh", "-e"], input=script, text=True, check=True,
                       stdout=subprocess.DEVNULL, cwd=work)
        per_file = (time.perf_counter() - t) / len(files)
        theirs = per_file * N

        print(f"audit of {N} certificate files (warm cache, signature + SAN + expiry + CRL checks):")
        print(f"  clusterca audit:   {ours:8.2f} s (median of 3; best {times[0]:.2f} s)  {N / ours:10.0f} files/s")
        print(f"  openssl x509 loop: {theirs:8.2f} s (sampled {len(files)} files, {per_file * 1000:.2f} ms each)  {1 / per_file:10.0f} files/s")
        print(f"  ratio: clusterca is {theirs / ours:.0f}x faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
