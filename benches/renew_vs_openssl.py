#!/usr/bin/env python3
"""Whole-process benchmark: renewing certificates, clusterca beside the OpenSSL way, in the
same run, on the same CA and the same certificates (P-256 CA, per-node certificates carrying a
shared name).

- one renewal: `clusterca renew NAME` (the old certificate re-signed with a new serial and
  validity, recorded durably, signed/ replaced) against OpenSSL 3, which cannot re-sign a
  certificate it did not self-sign (`x509 -CA` refuses one) and so needs the node's key:
  `openssl x509 -x509toreq -copy_extensions copyall -signkey NODE.key` then `openssl x509 -req
  -CA ... -copy_extensions copyall` (what certregen and ca_extend do). Median of RUNS each,
  interleaved.
- many: `clusterca renew --all` of N certificates in one process against that OpenSSL pair
  for each of them.

    python3 benches/renew_vs_openssl.py [RUNS] [N]      (default 31 and 1000)
"""
import os
import shutil
import statistics
import sys
import tempfile

from peer import build, run, timed

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 31
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000


def openssl_renew(name, serial):
    """The peer's shell command for one renewal, into ossl/NAME.pem."""
    return (f"openssl x509 -x509toreq -in out/{name}.pem -signkey out/{name}.key.pem "
            f"-copy_extensions copyall -out ossl/{name}.csr 2>/dev/null && "
            f"openssl x509 -req -in ossl/{name}.csr -CA ca/ca_crt.pem -CAkey ca/ca_key.pem "
            f"-set_serial {serial} -days 1825 -sha256 -copy_extensions copyall "
            f"-out ossl/{name}.pem 2>/dev/null")


def main():
    exe = build()
    work = tempfile.mkdtemp(prefix="clusterca-bench-")
    try:
        run([exe, "init", "--dir", "ca"], work)
        for d in ["out", "ossl"]:
            os.mkdir(os.path.join(work, d))
        names = [f"node{i}.example.net" for i in range(N)]
        with open(os.path.join(work, "names.txt"), "w") as f:
            f.write("\n".join(names) + "\n")
        run([exe, "issue", "--from-file", "names.txt", "--alt-name", "puppet.example.net",
             "--dir", "ca", "--out", "out"], work)
        ours, peer = [], []
        for i in range(RUNS):
            name = names[i]
            ours.append(timed([exe, "renew", name, "--dir", "ca"], work))
            peer.append(timed(openssl_renew(name, 10_000_000 + i), work, shell=True))
        # Sanity: both renewals verify for the shared name, with the same public key.
        for cert in ["ca/signed/node0.example.net.pem", "ossl/node0.example.net.pem"]:
            run(["openssl", "verify", "-CAfile", "ca/ca_crt.pem", "-verify_hostname",
                 "puppet.example.net", cert], work)
        all_ours = timed([exe, "renew", "--all", "--dir", "ca"], work)
        with open(os.path.join(work, "peer.sh"), "w") as f:
            f.write("set -e\n" + "".join(openssl_renew(n, 20_000_000 + i) + "\n"
                                         for i, n in enumerate(names)))
        all_peer = timed(["sh", "peer.sh"], work)
        m_ours, m_peer = statistics.median(ours), statistics.median(peer)
        print(f"runs each:                         {RUNS}")
        print(f"clusterca renew NAME (median):     {m_ours * 1000:8.2f} ms")
        print(f"openssl x509toreq + x509 (median): {m_peer * 1000:8.2f} ms")
        print(f"ratio clusterca/openssl:           {m_ours / m_peer:8.3f}  ({m_peer / m_ours:.1f}x faster)")
        print(f"clusterca renew --all of {N}:      {all_ours:8.2f} s  ({N / all_ours:,.0f} certs/s)")
        print(f"openssl pair for each of {N}:      {all_peer:8.2f} s  ({N / all_peer:,.0f} certs/s)")
        print(f"ratio:                             {all_peer / all_ours:8.1f}x faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
