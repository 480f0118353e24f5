#!/usr/bin/env python3
"""Bulk issuance, whole process, store durable:

1. `clusterca issue --from-file` of N names (default 10,000) in one process: certs/s;
2. 8 `clusterca issue` processes at once against one CA, N/8 names each: total certs/s
   (shows the store lock is not a convoy);
3. the peer: a loop of `openssl req -newkey ec ... && openssl x509 -req -CA ...` over a
   sample of names (default 100), certs/s, measured in the same run;

and prints the ratios. Every certificate is checked afterwards (`clusterca check`, and
`openssl verify` on a sample).

    python3 benches/bulk_issue.py [N] [PEER_SAMPLE]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from peer import build, openssl_issue, run, write_extensions

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
PEER = int(sys.argv[2]) if len(sys.argv) > 2 else 100


def fresh_ca(exe, work, name):
    d = os.path.join(work, name)
    os.mkdir(d)
    run([exe, "init", "--dir", "ca"], d)
    return d


def names_file(d, prefix, count):
    path = os.path.join(d, f"{prefix}.txt")
    with open(path, "w") as f:
        for i in range(count):
            f.write(f"{prefix}-{i}.example.net\n")
    os.mkdir(os.path.join(d, f"out-{prefix}"))
    return path


def main():
    exe = build()
    work = tempfile.mkdtemp(prefix="clusterca-bulk-")
    try:
        # 1. One process, N names.
        d = fresh_ca(exe, work, "one")
        f = names_file(d, "bulk", N)
        t = time.perf_counter()
        run([exe, "issue", "--from-file", f, "--alt-name", "puppet.example.net",
             "--dir", "ca", "--out", "out-bulk"], d)
        one = time.perf_counter() - t
        run([exe, "check", "--dir", "ca"], d)

        # 2. Eight processes at once, N/8 names each.
        d8 = fresh_ca(exe, work, "eight")
        files = [names_file(d8, f"p{p}", N // 8) for p in range(8)]
        t = time.perf_counter()
        procs = [subprocess.Popen([exe, "issue", "--from-file", f, "--dir", "ca",
                                   "--out", f"out-p{p}", "--alt-name", "puppet.example.net"],
                                  cwd=d8, stdout=subprocess.DEVNULL) for p, f in enumerate(files)]
        for p in procs:
            if p.wait() != 0:
                raise SystemExit("a concurrent issue failed")
        eight = time.perf_counter() - t
        run([exe, "check", "--dir", "ca"], d8)
        with open(os.path.join(d8, "ca", "inventory.txt")) as inv:
            assert len(inv.readlines()) == 1 + 8 * (N // 8)

        # 3. The peer: openssl, one certificate at a time, same CA and extensions.
        dp = fresh_ca(exe, work, "peer")
        write_extensions(os.path.join(dp, "ext.cnf"), "DNS:puppet.example.net")
        os.mkdir(os.path.join(dp, "o"))
        t = time.perf_counter()
        for i in range(PEER):
            run(openssl_issue(f"n{i}.example.net", f"o/{i}", i + 2), dp, shell=True)
        peer = time.perf_counter() - t

        # 4. The filesystem's floor for the same files, in the same run: any tool that writes
        #    N keys, N certificates and N CA copies (two of them via temp file + rename)
        #    pays this. clusterca's time above it is crypto and bookkeeping.
        df = os.path.join(work, "floor")
        os.makedirs(os.path.join(df, "out"))
        os.makedirs(os.path.join(df, "signed"))
        body = b"x" * 700
        t = time.perf_counter()
        for i in range(N):
            for path in (f"out/n{i}.key.pem", f"signed/.n{i}.tmp", f"out/.n{i}.tmp"):
                fd = os.open(os.path.join(df, path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                os.write(fd, body)
                os.close(fd)
            os.rename(os.path.join(df, f"signed/.n{i}.tmp"), os.path.join(df, f"signed/n{i}.pem"))
            os.rename(os.path.join(df, f"out/.n{i}.tmp"), os.path.join(df, f"out/n{i}.pem"))
        os.sync()
        floor = time.perf_counter() - t

        sample = [os.path.join("out-bulk", f"bulk-{i}.example.net.pem") for i in range(0, N, max(1, N // 50))]
        run(["openssl", "verify", "-CAfile", "ca/ca_crt.pem", "-verify_hostname", "puppet.example.net"] + sample, d)

        rate_one, rate_eight, rate_peer = N / one, 8 * (N // 8) / eight, PEER / peer
        print(f"bulk issue, 1 process, {N} certs:       {one:6.2f} s  {rate_one:8.0f} certs/s")
        print(f"bulk issue, 8 processes, {8 * (N // 8)} certs:    {eight:6.2f} s  {rate_eight:8.0f} certs/s")
        print(f"openssl req + x509 loop, {PEER} certs:      {peer:6.2f} s  {rate_peer:8.0f} certs/s")
        print(f"filesystem floor, same {3 * N} files:     {floor:6.2f} s  {N / floor:8.0f} certs/s")
        print(f"ratio (1 process / openssl loop):          {rate_one / rate_peer:8.1f}x")
        print(f"ratio (8 processes / openssl loop):        {rate_eight / rate_peer:8.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
