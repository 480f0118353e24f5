#!/usr/bin/env python3
"""Whole-process benchmark: one `clusterca issue` (new ECDSA P-256 key + certificate signed
by the CA, serial and inventory recorded durably) beside the OpenSSL peer doing the same job
(`openssl req -newkey ec ... && openssl x509 -req -CA ...`, same CA, same SANs), measured in
the same run. Prints the median of each and the ratio.

    python3 benches/issue_vs_openssl.py [RUNS]      (default 41 runs each, interleaved)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from peer import build, openssl_issue, run, timed, write_extensions

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 41


def main():
    exe = build()
    work = tempfile.mkdtemp(prefix="clusterca-bench-")
    try:
        run([exe, "init", "--dir", "ca"], work)
        os.mkdir(os.path.join(work, "out"))
        os.mkdir(os.path.join(work, "ossl"))
        write_extensions(os.path.join(work, "ext.cnf"), "DNS:node.example.net,DNS:puppet.example.net")
        ours, peer = [], []
        for i in range(RUNS):
            name = f"node{i}.example.net"
            ours.append(timed([exe, "issue", name, "--alt-name", "puppet.example.net",
                               "--dir", "ca", "--out", "out"], work))
            peer.append(timed(openssl_issue(name, f"ossl/{i}", 100000 + i), work, shell=True))
        # Sanity: what both made verifies.
        for cert in ["out/node0.example.net.pem", "ossl/0.pem"]:
            run(["openssl", "verify", "-CAfile", "ca/ca_crt.pem", "-verify_hostname",
                 "puppet.example.net", cert], work)
        # A single issuance on a busy filesystem: 1 GiB of unrelated data written, not yet
        # flushed. Small batches fsync their own files only, so this should not wait for it.
        with open(os.path.join(work, "unrelated"), "wb") as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(1024):
                f.write(chunk)
        busy = timed([exe, "issue", "busy.example.net", "--dir", "ca", "--out", "out"], work)
        os.sync()
        m_ours, m_peer = statistics.median(ours), statistics.median(peer)
        print(f"runs each:                  {RUNS}")
        print(f"clusterca issue (median):   {m_ours * 1000:7.2f} ms")
        print(f"openssl req + x509 (median):{m_peer * 1000:7.2f} ms")
        print(f"clusterca issue, 1 GiB unrelated dirty data: {busy * 1000:7.2f} ms")
        print(f"ratio clusterca/openssl:    {m_ours / m_peer:7.3f}  ({m_peer / m_ours:.1f}x faster)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
