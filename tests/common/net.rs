//! Real network peers for tests, all on loopback: an `sshd` (Debian's openssh-server) with a
//! throwaway host key and client key, and `haproxy` in TCP round-robin mode.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Scratch;

/// Child processes killed when the test ends, pass or fail.
pub struct Procs(pub Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_listening(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn keygen(s: &Scratch, file: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(s.path(file))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts an sshd on a free loopback port that lets root in with `sshd/client_key`; returns
/// it (killed on drop) and its port.
pub fn start_sshd(s: &Scratch) -> (Procs, u16) {
    std::fs::create_dir_all(s.path("sshd")).unwrap();
    keygen(s, "sshd/host_key");
    keygen(s, "sshd/client_key");
    std::fs::copy(
        s.path("sshd/client_key.pub"),
        s.path("sshd/authorized_keys"),
    )
    .unwrap();
    // sshd's privilege separation directory (made by the package's service unit at boot).
    let _ = std::fs::create_dir_all("/run/sshd");
    let port = free_port();
    let config = s.path("sshd/sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile none\nAuthorizedKeysFile {ak}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nLogLevel ERROR\n",
            hk = s.path("sshd/host_key").display(),
            ak = s.path("sshd/authorized_keys").display()
        ),
    )
    .unwrap();
    let sshd = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("sshd"))
        .find(|p| p.exists())
        .unwrap_or_else(|| "/usr/sbin/sshd".into());
    let child = Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sshd");
    let procs = Procs(vec![child]);
    wait_listening(port);
    (procs, port)
}

/// `--ssh-option` arguments of `push` that reach the sshd of [`start_sshd`].
pub fn ssh_options(s: &Scratch, port: u16) -> Vec<String> {
    let key = format!("IdentityFile={}", s.path("sshd/client_key").display());
    let mut args = Vec::new();
    for opt in [
        format!("Port={port}"),
        key,
        "IdentitiesOnly=yes".into(),
        "StrictHostKeyChecking=no".into(),
        "UserKnownHostsFile=/dev/null".into(),
        "LogLevel=ERROR".into(),
    ] {
        args.push("--ssh-option".to_owned());
        args.push(opt);
    }
    args
}

/// Starts haproxy on `lb` in TCP mode, round robin over `backends` (loopback ports), after
/// `haproxy -c` accepts its configuration; waits until it listens.
pub fn start_haproxy(s: &Scratch, lb: u16, backends: &[u16]) -> Child {
    let servers: String = backends
        .iter()
        .enumerate()
        .map(|(i, p)| format!("  server m{} 127.0.0.1:{p}\n", i + 1))
        .collect();
    let conf = format!(
            "global\n  maxconn 256\ndefaults\n  mode tcp\n  retries 3\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\nfrontend fe\n  bind 127.0.0.1:{lb}\n  default_backend be\nbackend be\n  balance roundrobin\n{servers}"
        );
    let child = start_haproxy_with(s, &conf);
    wait_listening(lb);
    child
}

/// Starts haproxy with the configuration `conf` (written to `haproxy.cfg` in the scratch
/// directory) after `haproxy -c` accepts it.
pub fn start_haproxy_with(s: &Scratch, conf: &str) -> Child {
    std::fs::write(s.path("haproxy.cfg"), conf).unwrap();
    let check = Command::new("haproxy")
        .args(["-c", "-f"])
        .arg(s.path("haproxy.cfg"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "haproxy -c refused the configuration: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(s.path("haproxy.cfg"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start haproxy")
}
