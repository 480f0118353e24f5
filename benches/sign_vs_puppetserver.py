#!/usr/bin/env python3
"""`sign --all` of N queued CSRs (default 1,000) with Puppet's RSA-4096 CA, beside the real
Puppet Server (Debian's `puppetserver` 7) signing the same queue with `puppetserver ca sign
--all`, measured in the same run.

Both start from a copy of fixtures/puppetserver/ca (made by `puppetserver ca setup`: RSA-4096
intermediate, PKCS#1 key) with the same N CSRs (P-256 keys, as agents may use, CN = certname)
filed in requests/, exactly where `PUT certificate_request` files them. Puppet Server is
started first (its JVM start is not timed) on a loopback port; `puppetserver ca sign --all`
lists the queue through the CA API and signs it through the API, which is how an operator
signs with Puppet. Afterwards both directories are checked: N new inventory lines with
distinct serials, and `openssl verify` on a sample.

    python3 benches/sign_vs_puppetserver.py [N]

Needs: apt-get install puppetserver ruby-puppetserver-ca-cli openssl
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from peer import ROOT, build, run

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
FIXTURE = os.path.join(ROOT, "fixtures", "puppetserver")
PACKAGE_CONF = "/etc/puppet/puppetserver/conf.d"


def make_csrs(work, count):
    """N CSRs sharing one P-256 key (signing cost does not depend on the agent's key)."""
    d = os.path.join(work, "csrs")
    os.mkdir(d)
    key = os.path.join(d, "agent.key")
    run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], d)
    script = "".join(
        f"openssl req -new -key agent.key -subj /CN=node{i}.example.net -out node{i}.example.net.pem\n"
        for i in range(count))
    # Two shells, one per core.
    lines = script.splitlines()
    half = len(lines) // 2
    procs = [subprocess.Popen(["sh", "-e"], cwd=d, stdin=subprocess.PIPE, text=True)
             for _ in range(2)]
    procs[0].communicate("\n".join(lines[:half]) + "\n")
    procs[1].communicate("\n".join(lines[half:]) + "\n")
    assert all(p.returncode == 0 for p in procs)
    return d


def cadir(work, name, csrs, count):
    d = os.path.join(work, name)
    shutil.copytree(os.path.join(FIXTURE, "ca"), os.path.join(d, "ca"))
    shutil.copytree(os.path.join(FIXTURE, "ssl"), os.path.join(d, "ssl"))
    req = os.path.join(d, "ca", "requests")
    os.makedirs(req, exist_ok=True)
    for i in range(count):
        shutil.copy(os.path.join(csrs, f"node{i}.example.net.pem"), req)
    return d


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_keys(src, dst, edits):
    text = open(src).read()
    for key, value in edits.items():
        start = text.index(key + ":")
        end = text.index("\n", start)
        text = text[:start] + f"{key}: {value}" + text[end:]
    with open(dst, "w") as f:
        f.write(text)


def start_puppetserver(d, autosign=False):
    """Starts Puppet Server on d/ca and d/ssl; returns (process, puppet.conf, port)."""
    port = free_port()
    ps = os.path.join(d, "ps")
    for sub in ["conf.d", "code", "var", "run", "log"]:
        os.makedirs(os.path.join(ps, sub))
    conf = os.path.join(ps, "puppet.conf")
    with open(conf, "w") as f:
        f.write(f"[main]\nssldir = {d}/ssl\nvardir = {ps}/var\nlogdir = {ps}/log\n"
                f"rundir = {ps}/run\ncodedir = {ps}/code\nserver = localhost\n"
                f"ca_server = localhost\nca_port = {port}\nserverport = {port}\n"
                f"[server]\ncadir = {d}/ca\ncertname = puppet01.example.net\n"
                f"autosign = {'true' if autosign else 'false'}\n")
    for name in os.listdir(PACKAGE_CONF):
        shutil.copy(os.path.join(PACKAGE_CONF, name), os.path.join(ps, "conf.d", name))
    set_keys(os.path.join(PACKAGE_CONF, "puppetserver.conf"), os.path.join(ps, "conf.d", "puppetserver.conf"), {
        "server-conf-dir": ps, "server-code-dir": f"{ps}/code", "server-var-dir": f"{ps}/var",
        "server-run-dir": f"{ps}/run", "server-log-dir": f"{ps}/log"})
    shutil.copy("/etc/puppet/puppetserver/request-logging.xml", ps)
    set_keys(os.path.join(PACKAGE_CONF, "webserver.conf"), os.path.join(ps, "conf.d", "webserver.conf"), {
        "ssl-host": "127.0.0.1", "ssl-port": str(port),
        "access-log-config": f"{ps}/request-logging.xml"})
    with open(os.path.join(ps, "logback.xml"), "w") as f:
        f.write('<configuration><appender name="F" class="ch.qos.logback.core.FileAppender">'
                f'<file>{ps}/server.log</file><encoder><pattern>%d %-5p %m%n</pattern></encoder>'
                '</appender><root level="warn"><appender-ref ref="F"/></root></configuration>\n')
    set_keys(os.path.join(PACKAGE_CONF, "global.conf"), os.path.join(ps, "conf.d", "global.conf"),
             {"logging-config": f"{ps}/logback.xml"})
    out = open(os.path.join(ps, "stdout.log"), "w")
    proc = subprocess.Popen(
        ["java", "-Xms1g", "-Xmx1g", "-Djruby.lib=/usr/share/jruby/lib", "-jar",
         "/usr/share/puppetserver/puppetserver.jar", "--config", os.path.join(ps, "conf.d"),
         "--bootstrap-config", "/etc/puppet/puppetserver/services.d"],
        cwd="/usr/share/puppetserver", stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while time.time() < deadline:
        r = subprocess.run(["puppetserver", "ca", "list", "--config", conf],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode in (0, 1) and proc.poll() is None:
            # `list` exits 0 once the CA API answers (1 only on errors before that).
            if r.returncode == 0:
                return proc, conf, port
        if proc.poll() is not None:
            sys.exit(f"puppetserver exited: see {ps}/stdout.log")
        time.sleep(2)
    proc.kill()
    sys.exit("puppetserver did not start in 300 s")


def check(d, count, label):
    lines = open(os.path.join(d, "ca", "inventory.txt")).read().split("\n")
    serials = [l.split()[0] for l in lines if "node" in l]
    assert len(serials) == count, f"{label}: {len(serials)} inventory lines for {count} CSRs"
    assert len(set(s.upper() for s in serials)) == count, f"{label}: a serial repeats"
    sample = [os.path.join(d, "ca", "signed", f"node{i}.example.net.pem")
              for i in range(0, count, max(1, count // 20))]
    run(["openssl", "verify", "-CAfile", os.path.join(d, "ca", "ca_crt.pem")] + sample, d)


def main():
    exe = build()
    work = tempfile.mkdtemp(prefix="clusterca-sign-bench-")
    try:
        csrs = make_csrs(work, N)
        ours = cadir(work, "clusterca", csrs, N)
        theirs = cadir(work, "puppetserver", csrs, N)
        os.sync()

        t = time.perf_counter()
        run([exe, "sign", "--all", "--dir", "ca"], ours)
        ours_s = time.perf_counter() - t
        check(ours, N, "clusterca")

        proc, conf, _ = start_puppetserver(theirs)
        try:
            os.sync()
            t = time.perf_counter()
            run(["puppetserver", "ca", "sign", "--all", "--config", conf], theirs)
            theirs_s = time.perf_counter() - t
        finally:
            proc.terminate()
            proc.wait()
        check(theirs, N, "puppetserver")

        print(f"sign --all of {N} CSRs, RSA-4096 CA (Puppet's, from `puppetserver ca setup`):")
        print(f"  clusterca sign --all:        {ours_s:8.2f} s  {N / ours_s:8.0f} certs/s")
        print(f"  puppetserver ca sign --all:  {theirs_s:8.2f} s  {N / theirs_s:8.0f} certs/s")
        print(f"  ratio: clusterca is {theirs_s / ours_s:.1f}x faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
