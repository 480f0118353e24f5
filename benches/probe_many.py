#!/usr/bin/env python3
"""`clusterca probe` of N loopback TLS endpoints (default 200), wall time at a few concurrency
bounds, beside a loop of `openssl s_client` over the same endpoints, in the same run.

The endpoints: one Python process (asyncio + the ssl module) listening on N loopback ports,
each presenting a certificate clusterca issued for the shared name; every connection is closed
after the handshake.

    python3 benches/probe_many.py [N]
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from peer import build, run

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
SHARED = "puppet.example.net"

SERVER = r'''
import asyncio, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ports = [int(p) for p in sys.argv[3:]]
async def handle(reader, writer):
    try:
        await reader.read(1)
    except Exception:
        pass
    writer.close()
async def main():
    servers = [await asyncio.start_server(handle, "127.0.0.1", p, ssl=ctx, backlog=256) for p in ports]
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
'''


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def main():
    exe = build()
    work = tempfile.mkdtemp(prefix="clusterca-probe-bench-")
    server = None
    try:
        run([exe, "init", "--dir", "ca"], work)
        run([exe, "issue", "web.example.net", "--alt-name", SHARED], work)
        ports = free_ports(N)
        with open(os.path.join(work, "server.py"), "w") as f:
            f.write(SERVER)
        server = subprocess.Popen(
            [sys.executable, "server.py", "web.example.net.pem", "web.example.net.key.pem"]
            + [str(p) for p in ports], cwd=work, stdout=subprocess.PIPE, text=True)
        assert server.stdout.readline().strip() == "ready"
        targets = [f"127.0.0.1:{p}" for p in ports]

        results = []
        for j in [8, 32, 200]:
            args = [exe, "probe", *targets, "--expect-name", SHARED, "--ca", "ca/ca_crt.pem",
                    "-j", str(j), "--format", "json"]
            subprocess.run(args, cwd=work, check=True, capture_output=True)  # warm
            times = []
            for _ in range(3):
                t = time.perf_counter()
                out = subprocess.run(args, cwd=work, check=True, capture_output=True, text=True)
                times.append(time.perf_counter() - t)
            assert out.stdout.count('"agreement": "one-shared-certificate"') == N, out.stdout[:400]
            times.sort()
            results.append((j, times[1]))

        script = "".join(
            f"openssl s_client -connect {t} -servername {SHARED} -CAfile ca/ca_crt.pem "
            f"-verify_hostname {SHARED} -verify_return_error </dev/null >/dev/null 2>&1\n"
            for t in targets)
        t = time.perf_counter()
        subprocess.run(["sh", "-e"], input=script, text=True, check=True, cwd=work)
        loop = time.perf_counter() - t

        print(f"probe of {N} loopback TLS endpoints (handshake, chain capture, verification):")
        for j, secs in results:
            print(f"  clusterca probe -j {j:<3}       {secs:7.3f} s  (median of 3)  ratio {loop / secs:5.1f}x")
        print(f"  openssl s_client loop:     {loop:7.3f} s")
    finally:
        if server:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
