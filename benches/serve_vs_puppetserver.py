#!/usr/bin/env python3
"""CSR signings per second through the CA API: `clusterca serve` with an ECDSA CA and with
Puppet's RSA-4096 CA, beside the real Puppet Server 7 (Debian's `puppetserver`) with the same
RSA-4096 CA, the same number of concurrent clients, measured in the same run.

Each client is one `curl` process that submits its CSRs (`PUT certificate_request/NAME`,
autosign on) and then fetches each signed certificate (`GET certificate/NAME`) over one
kept-alive TLS connection, as agents do in the steps of `puppet ssl bootstrap`. The time is
from the first request to the last certificate fetched; every answer must be 200.

    python3 benches/serve_vs_puppetserver.py [CLIENTS] [CSRS_PER_CLIENT]

Needs: apt-get install puppetserver ruby-puppetserver-ca-cli curl openssl
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from peer import ROOT, build, run
from sign_vs_puppetserver import FIXTURE, start_puppetserver

CLIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 8
EACH = int(sys.argv[2]) if len(sys.argv) > 2 else 50


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_csrs(d, prefix, count):
    """CSRs sharing one P-256 key, two shells at a time; returns the names."""
    os.makedirs(d, exist_ok=True)
    key = os.path.join(d, "agent.key")
    if not os.path.exists(key):
        run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], d)
    names = [f"{prefix}{i}.example.net" for i in range(count)]
    lines = [f"openssl req -new -key agent.key -subj /CN={n} -out {n}.csr" for n in names]
    half = len(lines) // 2
    procs = [subprocess.Popen(["sh", "-e"], cwd=d, stdin=subprocess.PIPE, text=True) for _ in range(2)]
    procs[0].communicate("\n".join(lines[:half]) + "\n")
    procs[1].communicate("\n".join(lines[half:]) + "\n")
    assert all(p.returncode == 0 for p in procs)
    return names


def load(base_url, cacert, csr_dir, names):
    """CLIENTS curl processes, each PUT then GET for its share of `names`; returns seconds."""
    shares = [names[c::CLIENTS] for c in range(CLIENTS)]
    cmds = []
    for share in shares:
        args = []
        for phase in ["put", "get"]:
            for n in share:
                if args:
                    args.append("--next")
                args += ["-s", "-o", "/dev/null", "-w", "%{http_code}\\n", "--cacert", cacert]
                if phase == "put":
                    args += ["-X", "PUT", "-H", "Content-Type: text/plain", "--data-binary",
                             f"@{os.path.join(csr_dir, n + '.csr')}",
                             f"{base_url}/puppet-ca/v1/certificate_request/{n}"]
                else:
                    args += [f"{base_url}/puppet-ca/v1/certificate/{n}"]
        cmds.append(["curl"] + args)
    t = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, text=True) for c in cmds]
    outs = [p.communicate()[0] for p in procs]
    secs = time.perf_counter() - t
    codes = "".join(outs).split()
    bad = [c for c in codes if c != "200"]
    assert not bad and len(codes) == 2 * len(names), f"non-200 answers: {sorted(set(bad))[:5]} ({len(bad)})"
    return secs


def wait_healthy(url, cacert, proc):
    for _ in range(300):
        r = subprocess.run(["curl", "-s", "--cacert", cacert, url], capture_output=True, text=True)
        if r.stdout.strip() == "running":
            return
        if proc.poll() is not None:
            sys.exit("the server exited while starting")
        time.sleep(0.1)
    sys.exit("the server did not become healthy")


def clusterca(exe, work, label, ca_setup):
    d = os.path.join(work, label)
    os.makedirs(d)
    ca_setup(d)
    port = free_port()
    proc = subprocess.Popen([exe, "serve", "--dir", "ca", "--listen", f"127.0.0.1:{port}",
                             "--cert", "localhost", "--alt-name", "IP:127.0.0.1",
                             "--autosign", "true",
                             # All clients share 127.0.0.1; Puppet Server has no such cap.
                             "--max-connections-per-address", "0"],
                            cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cacert = os.path.join(d, "ca", "ca_crt.pem")
        wait_healthy(f"https://localhost:{port}/status/v1/simple/ca", cacert, proc)
        names = make_csrs(os.path.join(work, "csrs"), f"{label}-", CLIENTS * EACH)
        secs = load(f"https://localhost:{port}", cacert, os.path.join(work, "csrs"), names)
    finally:
        proc.terminate()
        proc.wait()
    run([exe, "check", "--dir", "ca"], d)
    return secs


def puppet_ca(exe, d):
    """The committed `puppetserver ca setup` directory, with the key mode Puppet gave it."""
    shutil.copytree(os.path.join(FIXTURE, "ca"), os.path.join(d, "ca"))
    os.chmod(os.path.join(d, "ca", "ca_key.pem"), 0o640)
    run([exe, "import", "--dir", "ca"], d)


def main():
    exe = build()
    work = tempfile.mkdtemp(prefix="clusterca-serve-bench-")
    n = CLIENTS * EACH
    try:
        ec = clusterca(exe, work, "ec", lambda d: run([exe, "init", "--dir", "ca"], d))
        rsa = clusterca(exe, work, "rsa", lambda d: puppet_ca(exe, d))

        pdir = os.path.join(work, "puppetserver")
        shutil.copytree(os.path.join(FIXTURE, "ca"), os.path.join(pdir, "ca"))
        shutil.copytree(os.path.join(FIXTURE, "ssl"), os.path.join(pdir, "ssl"))
        proc, conf, port = start_puppetserver(pdir, autosign=True)
        try:
            names = make_csrs(os.path.join(work, "csrs"), "ps-", n)
            cacert = os.path.join(pdir, "ssl", "certs", "ca.pem")
            ps = load(f"https://localhost:{port}", cacert, os.path.join(work, "csrs"), names)
        finally:
            proc.terminate()
            proc.wait()

        print(f"CSR signings through the CA API, {CLIENTS} concurrent clients x {EACH} CSRs "
              f"(PUT certificate_request with autosign, then GET certificate):")
        print(f"  clusterca serve, ECDSA P-256 CA:     {ec:7.2f} s  {n / ec:7.0f} signings/s")
        print(f"  clusterca serve, Puppet's RSA-4096:  {rsa:7.2f} s  {n / rsa:7.0f} signings/s")
        print(f"  Puppet Server 7.9.5, same RSA-4096:  {ps:7.2f} s  {n / ps:7.0f} signings/s")
        print(f"  ratio (same RSA-4096 CA): clusterca is {ps / rsa:.1f}x faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
