"""Shared by the benchmark scripts: building clusterca, running quietly, and the OpenSSL peer
that issues the same certificate (same CA, same profile) one process pair at a time."""
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The profile clusterca issues, as an openssl -extfile.
EXTENSIONS = ("basicConstraints=critical,CA:FALSE\n"
              "keyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=serverAuth,clientAuth\n"
              "subjectKeyIdentifier=hash\n"
              "authorityKeyIdentifier=keyid\n")


def build():
    """Builds the release binary; returns its path. CLUSTERCA_BIN=PATH measures that binary
    instead (an older build, to compare two versions on the same machine)."""
    if os.environ.get("CLUSTERCA_BIN"):
        os.sync()
        return os.environ["CLUSTERCA_BIN"]
    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "clusterca"], cwd=ROOT, check=True)
    # clusterca's group commit is one syncfs(2), which also flushes whatever else is dirty on
    # the filesystem: flush the build's output now so no run pays for it.
    os.sync()
    return os.path.join(ROOT, "target", "release", "clusterca")


def run(cmd, cwd, **kw):
    """Runs a command with stdout discarded; fails loudly."""
    return subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, **kw)


def timed(cmd, cwd, shell=False):
    """Runs a command with its output discarded; returns the seconds it took."""
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, shell=shell,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def write_extensions(path, san):
    """Writes the openssl -extfile for the profile with subjectAltName `san`."""
    with open(path, "w") as f:
        f.write(EXTENSIONS + f"subjectAltName={san}\n")


def openssl_issue(name, out_prefix, serial, ext="ext.cnf"):
    """The peer's shell command: new P-256 key and CSR, then signed by ca/ with `ext`."""
    return (f"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
            f"-keyout {out_prefix}.key -out {out_prefix}.csr -subj /CN={name} 2>/dev/null && "
            f"openssl x509 -req -in {out_prefix}.csr -CA ca/ca_crt.pem -CAkey ca/ca_key.pem "
            f"-set_serial {serial} -days 1825 -sha256 -extfile {ext} -out {out_prefix}.pem 2>/dev/null")


def ca_with_fleet(exe, work, count, out="out", alt_name=None):
    """`init` a CA in work/ca and `issue --from-file` node0..node{count-1}.example.net (with
    `alt_name` on each, if given) into work/out."""
    run([exe, "init", "--dir", "ca"], work)
    with open(os.path.join(work, "names.txt"), "w") as f:
        for i in range(count):
            f.write(f"node{i}.example.net\n")
    os.mkdir(os.path.join(work, out))
    extra = ["--alt-name", alt_name] if alt_name else []
    run([exe, "issue", "--from-file", "names.txt", *extra, "--out", out], work)
