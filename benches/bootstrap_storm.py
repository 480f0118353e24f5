#!/usr/bin/env python3
"""A bootstrap storm: N new agents (default 10,000), C at a time (default 64), each doing what
`puppet ssl bootstrap` does on a new TLS connection (GET certificate/ca, GET
certificate_revocation_list/ca, PUT certificate_request with autosign, GET certificate until it
answers 200), against, in the same run:

  1. `clusterca serve` with an ECDSA P-256 CA;
  2. `clusterca serve` with Puppet's RSA-4096 CA (fixtures/puppetserver, `puppetserver ca
     setup`'s);
  3. three `clusterca serve --shared` on one ECDSA CA directory behind haproxy, round robin
     (the configuration of docs/serve.md);
  4. the real Puppet Server 7 (Debian's `puppetserver`) on the same RSA-4096 CA (with
     --puppetserver-agents, default 2,000: it is slow enough that a full storm would take most
     of the run).

The agents are simulated by `storm` (crates/server/examples/storm.rs): one small Rust process
on one thread, its CSRs (P-256 keys) made before the clock starts. It shares the two cores with
the server, so both are measured: agents per second, p50/p99 per agent, the server's CPU time
per agent (every process of it, from /proc) and the generator's. Where the generator is the
bottleneck the figures say so. Every answer must be right (the generator exits 1 otherwise),
and `clusterca check` must be clean after each clusterca run.

    python3 benches/bootstrap_storm.py [AGENTS] [CONCURRENCY] [--puppetserver-agents N]

Needs: apt-get install haproxy puppetserver (Puppet Server is skipped, and said so, without it)
"""
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from peer import ROOT, build, run

FIXTURE = os.path.join(ROOT, "fixtures", "puppetserver")


def build_storm():
    """Builds the load generator (and, for the signing floor, sign_floor); returns its path."""
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "clusterca-server", "--example",
                    "storm"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "examples", "storm")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_of(pids):
    """CPU seconds (user + system) of the processes `pids` and their threads so far."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def wait_port(port, proc=None, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                sys.exit("the server exited while starting")
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def start_serve(exe, d, extra=()):
    """`clusterca serve` on the CA directory d/ca, autosign on; returns (process, port)."""
    port = free_port()
    proc = subprocess.Popen(
        [exe, "serve", "--dir", "ca", "--listen", f"127.0.0.1:{port}", "--cert", "localhost",
         "--alt-name", "IP:127.0.0.1", "--autosign", "true",
         # All agents share 127.0.0.1; Puppet Server has no such cap.
         "--max-connections-per-address", "0", *extra],
        cwd=d, stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, f"serve-{port}.log"), "w"))
    wait_port(port, proc)
    return proc, port


def haproxy_conf(lb, members):
    """docs/serve.md's haproxy configuration, on loopback."""
    servers = "".join(
        f"    server ca{i + 1} 127.0.0.1:{p} check check-ssl verify none inter 2s\n"
        for i, p in enumerate(members))
    return ("global\n    maxconn 4096\n"
            "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n"
            "    timeout server 30s\n    retries 3\n    option redispatch\n"
            f"frontend puppet_ca\n    bind 127.0.0.1:{lb}\n    default_backend puppet_ca\n"
            "backend puppet_ca\n    balance roundrobin\n    option httpchk GET /status/v1/simple/ca\n"
            f"    http-check expect string running\n{servers}")


def storm(gen, mode, port, cafile, agents, concurrency, prefix, server_pids):
    """Runs the generator, after an untimed warm-up of a fifth as many agents (at most 500:
    Puppet Server's JVM compiles its hot code in the first few hundred requests); returns the
    timed run's JSON with the server's and the generator's CPU seconds."""
    warm = subprocess.run(
        [gen, mode, "--url", f"https://localhost:{port}", "--ca", cafile,
         "--agents", str(min(500, max(1, agents // 5))), "--concurrency", str(concurrency),
         "--prefix", f"warm-{prefix}"], capture_output=True, text=True)
    if warm.returncode != 0:
        sys.exit(f"storm warm-up failed: {warm.stdout}{warm.stderr}")
    before = cpu_of(server_pids)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [gen, mode, "--url", f"https://localhost:{port}", "--ca", cafile,
         "--agents", str(agents), "--concurrency", str(concurrency), "--prefix", prefix],
        capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"storm failed: {out.stdout}{out.stderr}")
    r = json.loads(out.stdout)
    r["server_cpu"] = cpu_of(server_pids) - before
    # The generator's own time, less what making its CSRs cost (before the clock):
    # reported whole, as an upper bound.
    r["generator_cpu"] = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return r


def clusterca_dir(exe, work, label, rsa):
    d = os.path.join(work, label)
    os.makedirs(d)
    if rsa:
        shutil.copytree(os.path.join(FIXTURE, "ca"), os.path.join(d, "ca"))
        # The modes Puppet gave its keys (git keeps 0644).
        for key in ["ca_key.pem", "root_key.pem"]:
            os.chmod(os.path.join(d, "ca", key), 0o640)
        run([exe, "import", "--dir", "ca"], d)
    else:
        run([exe, "init", "--dir", "ca"], d)
    return d


def single(exe, gen, work, label, rsa, mode, agents, conc):
    d = clusterca_dir(exe, work, label, rsa)
    proc, port = start_serve(exe, d)
    try:
        r = storm(gen, mode, port, os.path.join(d, "ca", "ca_crt.pem"), agents, conc, f"{label}-",
                  [proc.pid])
    finally:
        proc.terminate()
        proc.wait()
    run([exe, "check", "--dir", "ca"], d)
    r["groups"] = group_commits(os.path.join(d, f"serve-{port}.log"))
    return r


def group_commits(log):
    """(groups, mean signings a group, mean ms a group) from serve's `group-commit` events
    (warm-up included; a group of one is not logged)."""
    groups = [json.loads(l) for l in open(log) if '"group-commit"' in l]
    if not groups:
        return (0, 0.0, 0.0)
    return (len(groups), sum(g["ops"] for g in groups) / len(groups),
            sum(g["ms"] for g in groups) / len(groups))


def shared(exe, gen, work, label, agents, conc, members=3):
    d = clusterca_dir(exe, work, label, False)
    procs, ports = [], []
    try:
        for _ in range(members):
            # One after another: the first issues the servers' certificate.
            p, port = start_serve(exe, d, ["--shared"])
            procs.append(p)
            ports.append(port)
        lb = free_port()
        with open(os.path.join(d, "haproxy.cfg"), "w") as f:
            f.write(haproxy_conf(lb, ports))
        hp = subprocess.Popen(["haproxy", "-db", "-f", "haproxy.cfg"], cwd=d,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(hp)
        wait_port(lb, hp)
        time.sleep(0.5)  # haproxy's first health checks
        r = storm(gen, "bootstrap", lb, os.path.join(d, "ca", "ca_crt.pem"), agents, conc,
                  f"{label}-", [p.pid for p in procs])
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    run([exe, "check", "--dir", "ca"], d)
    return r


def puppetserver(gen, work, mode, agents, conc, label="ps"):
    from sign_vs_puppetserver import start_puppetserver
    d = os.path.join(work, label)
    shutil.copytree(os.path.join(FIXTURE, "ca"), os.path.join(d, "ca"))
    shutil.copytree(os.path.join(FIXTURE, "ssl"), os.path.join(d, "ssl"))
    proc, _conf, port = start_puppetserver(d, autosign=True)
    try:
        return storm(gen, mode, port, os.path.join(d, "ssl", "certs", "ca.pem"), agents, conc,
                     f"{label}-", [proc.pid])
    finally:
        proc.terminate()
        proc.wait()


def line(label, r):
    rate = r["per_second"]
    per_agent = r["server_cpu"] / r["agents"]
    # What the server's own CPU time allows on every core of this machine, were the generator
    # on another: the figure beside the measured one where the generator takes its share.
    alone = (os.cpu_count() or 1) / per_agent
    share = 100 * r["generator_cpu"] / (r["generator_cpu"] + r["server_cpu"])
    return (f"  {label:<44} {r['agents']:>6} agents {r['seconds']:7.2f} s {rate:7.0f}/s  "
            f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
            f"server CPU {1000 * per_agent:5.2f} ms/agent (alone on {os.cpu_count()} cores: "
            f"{alone:5.0f}/s)  generator CPU {r['generator_cpu']:5.1f} s ({share:.0f}% of the "
            f"CPU used)  100,000 agents: {100_000 / rate:5.0f} s")


def arguments(defaults, flag, flag_default):
    """The positional arguments (each int, `defaults` where not given) and the int value of
    `flag` (`flag_default` where not given)."""
    value = sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else None
    args = [a for a in sys.argv[1:] if not a.startswith("--") and a != value]
    given = [int(a) for a in args] + defaults[len(args):]
    return given, int(value) if value else flag_default


def main():
    (agents, conc), ps_agents = arguments([10_000, 64], "--puppetserver-agents", 2_000)
    exe = build()
    gen = build_storm()
    os.sync()
    work = tempfile.mkdtemp(prefix="clusterca-storm-")
    try:
        results = [
            ("clusterca serve, ECDSA P-256 CA", single(exe, gen, work, "ec", False, "bootstrap", agents, conc)),
            ("clusterca serve, Puppet's RSA-4096 CA", single(exe, gen, work, "rsa", True, "bootstrap", agents, conc)),
            ("3 x serve --shared behind haproxy, ECDSA CA", shared(exe, gen, work, "shared", agents, conc)),
        ]
        if shutil.which("puppetserver"):
            results.append(("Puppet Server 7, same RSA-4096 CA", puppetserver(gen, work, "bootstrap", ps_agents, conc)))
        else:
            print("Puppet Server not installed (apt-get install puppetserver): its row is skipped")
        print(f"bootstrap storm: {conc} agents at a time, each on a new TLS connection "
              f"(GET CA, GET CRL, PUT CSR with autosign, GET certificate):")
        for label, r in results:
            print(line(label, r))
        if len(results) == 4:
            print(f"  ratio (same RSA-4096 CA): clusterca serve is "
                  f"{results[1][1]['per_second'] / results[3][1]['per_second']:.1f}x Puppet Server")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
