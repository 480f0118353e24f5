#!/usr/bin/env python3
"""CSR signings per second through the CA API: `clusterca serve` with an ECDSA P-256 CA and
with Puppet's RSA-4096 CA, beside the real Puppet Server 7 (Debian's `puppetserver`) on the
same RSA-4096 CA with the same clients, and beside the in-process RSA-4096 signing floor on
all cores (`sign_floor`: the CA key signing and nothing else), measured in the same run.

Each client keeps one TLS connection and, for each of its agents, sends `PUT
certificate_request/NAME` (autosign on) and then `GET certificate/NAME`, as agents do in the
steps of `puppet ssl bootstrap`; the clients are the `storm` load generator
(crates/server/examples/storm.rs, one Rust thread) in `sign` mode. Every answer must be 200.
The clusterca rows are measured at 8, 16 and 64 clients, Puppet Server at 8 and 64; every
server gets an untimed warm-up first (Puppet Server's JVM compiles its hot code then).

    python3 benches/serve_vs_puppetserver.py [SIGNINGS] [--puppetserver-signings N]

Needs: apt-get install puppetserver (its row is skipped, and said so, without it)
"""
import os
import shutil
import subprocess
import sys
import tempfile
import json

from bootstrap_storm import FIXTURE, arguments, build_storm, puppetserver, single
from peer import ROOT, build, run

CLIENTS = [8, 16, 64]


def floor(work):
    """The in-process RSA-4096 signing rate of the fixture's CA key on every core."""
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "clusterca-pki", "--example",
                    "sign_floor"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "release", "examples", "sign_floor")
    out = subprocess.run([exe, os.path.join(FIXTURE, "ca"), "400"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def main():
    (n,), ps_n = arguments([4_000], "--puppetserver-signings", 1_000)
    exe = build()
    gen = build_storm()
    os.sync()
    work = tempfile.mkdtemp(prefix="clusterca-serve-bench-")
    try:
        rows = []
        for c in CLIENTS:
            rows.append((f"clusterca serve, ECDSA P-256 CA, {c} clients",
                         single(exe, gen, work, f"ec{c}", False, "sign", n, c)))
        for c in CLIENTS:
            rows.append((f"clusterca serve, Puppet's RSA-4096 CA, {c} clients",
                         single(exe, gen, work, f"rsa{c}", True, "sign", n // 4, c)))
        best_rsa = max(r["per_second"] for label, r in rows if "RSA" in label)
        fl = floor(work)
        ps = {}
        if shutil.which("puppetserver"):
            for c in [8, 64]:
                ps[c] = puppetserver(gen, work, "sign", ps_n, c, label=f"ps{c}")
        else:
            print("Puppet Server not installed (apt-get install puppetserver): its row is skipped")
        print("CSR signings through the CA API (PUT certificate_request with autosign, then GET "
              "certificate, one kept-alive connection a client):")
        for label, r in rows:
            print(f"  {label:<46} {r['agents']:>6} in {r['seconds']:6.2f} s  "
                  f"{r['per_second']:7.0f} signings/s  p50 {r['p50_ms']:6.1f} ms  "
                  f"server CPU {1000 * r['server_cpu'] / r['agents']:5.2f} ms each  "
                  f"groups of {r['groups'][1]:4.1f} in {r['groups'][2]:5.1f} ms")
        print(f"  in-process RSA-4096 floor, {fl['threads']} threads, no I/O:"
              f"{'':<10}{fl['per_second']:7.0f} signatures/s")
        print(f"  clusterca's best RSA-4096 rate is {100 * best_rsa / fl['per_second']:.0f}% of the floor")
        for c, r in ps.items():
            print(f"  {'Puppet Server 7, same RSA-4096 CA, ' + str(c) + ' clients':<46} {r['agents']:>6} in "
                  f"{r['seconds']:6.2f} s  {r['per_second']:7.0f} signings/s  "
                  f"p50 {r['p50_ms']:6.1f} ms  server CPU {1000 * r['server_cpu'] / r['agents']:5.2f} ms each")
            ours = [x for label, x in rows if "RSA" in label and f" {c} clients" in label][0]
            print(f"  ratio (same RSA-4096 CA, {c} clients): clusterca is "
                  f"{ours['per_second'] / r['per_second']:.1f}x Puppet Server")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
