//! Puppet's autosign setting: `true`, `false`, a file of certnames and `*.domain` globs (one a
//! line, `#` comments; re-read for every request, as Puppet does), or an executable that gets
//! the certname as its argument and the CSR on standard input (exit 0 signs).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How submitted CSRs are autosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Autosign {
    /// Never: an admin signs.
    Off,
    /// Every CSR (still under the alt-name policy).
    All,
    /// Names and `*.domain` globs from a file.
    File(PathBuf),
    /// An executable decides.
    Exec(PathBuf),
}

impl Autosign {
    /// `true`, `false`, or a path: executable files run, other files are read as globs.
    pub fn parse(text: &str) -> Autosign {
        use std::os::unix::fs::PermissionsExt;
        match text {
            "true" => Autosign::All,
            "false" => Autosign::Off,
            path => {
                let p = PathBuf::from(path);
                let exec = std::fs::metadata(&p)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
                if exec {
                    Autosign::Exec(p)
                } else {
                    Autosign::File(p)
                }
            }
        }
    }

    /// Whether `name` (with request `csr_pem`) is to be signed now.
    pub fn allows(&self, name: &str, csr_pem: &str) -> bool {
        match self {
            Autosign::Off => false,
            Autosign::All => true,
            Autosign::File(path) => read_globs(path).is_some_and(|text| {
                text.lines()
                    .map(|l| l.split('#').next().unwrap_or_default().trim())
                    .filter(|l| !l.is_empty())
                    .any(|glob| match glob.strip_prefix("*.") {
                        Some(domain) => name
                            .strip_suffix(domain)
                            .is_some_and(|head| head.ends_with('.') && head.len() > 1),
                        None => glob == name,
                    })
            }),
            Autosign::Exec(path) => run_policy(path, name, csr_pem, POLICY_LIMIT),
        }
    }
}

/// The most of an autosign file read; a larger one signs nothing.
const MAX_GLOBS: u64 = 1 << 20;

/// The autosign file's text: a regular file (opened without blocking, so a FIFO cannot hang
/// a request) of at most [`MAX_GLOBS`] bytes, else `None` (nothing is autosigned).
fn read_globs(path: &PathBuf) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_GLOBS + 1).read_to_string(&mut text).ok()?;
    (text.len() as u64 <= MAX_GLOBS).then_some(text)
}

/// How long a policy executable may take.
const POLICY_LIMIT: Duration = Duration::from_secs(30);

/// Runs a policy executable with a 30 s limit, counted from its start (the CSR is written to
/// its stdin by another thread, so a policy that does not read cannot stop the clock);
/// anything but exit 0 in time is a no, and a policy still running then is killed.
fn run_policy(path: &PathBuf, name: &str, csr_pem: &str, limit: Duration) -> bool {
    use std::os::unix::process::CommandExt;
    // Its own process group: what it starts is ended with it.
    let Ok(mut child) = Command::new(path)
        .arg(name)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
    else {
        return false;
    };
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    // Whatever the policy left running (a child holding the CSR pipe) ends with the answer.
    let end_group = || {
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    };
    let start = Instant::now();
    if let Some(mut stdin) = child.stdin.take() {
        let csr = csr_pem.as_bytes().to_vec();
        // Ends when the policy reads it all, exits, or is killed (EPIPE).
        std::thread::spawn(move || {
            let _ = stdin.write_all(&csr);
        });
    }
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                end_group();
                return status.success();
            }
            Ok(None) if start.elapsed() < limit => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                end_group();
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_labels() {
        let dir = std::env::temp_dir().join(format!("autosign-{}", std::process::id()));
        std::fs::write(&dir, "# agents\n*.agents.example.net\nexact.example.net\n").unwrap();
        let a = Autosign::File(dir.clone());
        assert!(a.allows("n1.agents.example.net", ""));
        assert!(a.allows("exact.example.net", ""));
        assert!(!a.allows("agents.example.net", ""));
        assert!(!a.allows("evilagents.example.net", ""));
        assert!(!a.allows("other.example.net", ""));
        std::fs::remove_file(dir).unwrap();
    }

    fn script(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn a_policy_that_does_not_read_its_stdin_cannot_stop_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        // A CSR larger than a pipe's buffer, to a policy that never reads it and says yes
        // late: a no, at the limit.
        let big = "A".repeat(300 * 1024);
        let late = script(dir.path(), "late", "sleep 5; exit 0");
        let start = Instant::now();
        assert!(!run_policy(
            &late,
            "n.example.net",
            &big,
            Duration::from_millis(500)
        ));
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        // One that reads it all and says yes in time: a yes.
        let reader = script(dir.path(), "reader", "cat >/dev/null; exit 0");
        assert!(run_policy(
            &reader,
            "n.example.net",
            &big,
            Duration::from_secs(10)
        ));
        let no = script(dir.path(), "no", "exit 1");
        assert!(!run_policy(
            &no,
            "n.example.net",
            "",
            Duration::from_secs(10)
        ));
    }

    #[test]
    fn what_a_policy_starts_ends_with_it() {
        // A child left holding the CSR pipe (a CSR larger than the pipe's buffer) is killed.
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        let leaves = script(
            dir.path(),
            "leaves",
            &format!("sleep 1000 & echo $! > {}; exit 1", pidfile.display()),
        );
        let big = "A".repeat(300 * 1024);
        assert!(!run_policy(
            &leaves,
            "n.example.net",
            &big,
            Duration::from_secs(10)
        ));
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        let start = Instant::now();
        // Gone, or a zombie waiting for its reaper.
        while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z ")) {
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "the policy's child lives on"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn an_autosign_file_is_read_bounded_and_never_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let start = Instant::now();
        assert!(!Autosign::File(fifo).allows("a.example.net", ""));
        assert!(start.elapsed() < Duration::from_secs(2));
        // Past 1 MiB: nothing is autosigned, even a name on its last line.
        let big = dir.path().join("big");
        let mut text = "# padding\n".repeat(120_000);
        text.push_str("a.example.net\n");
        std::fs::write(&big, text).unwrap();
        assert!(!Autosign::File(big).allows("a.example.net", ""));
        let small = dir.path().join("small");
        std::fs::write(&small, "a.example.net\n").unwrap();
        assert!(Autosign::File(small).allows("a.example.net", ""));
    }
}
