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
            Autosign::File(path) => std::fs::read_to_string(path).is_ok_and(|text| {
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
            Autosign::Exec(path) => run_policy(path, name, csr_pem),
        }
    }
}

/// Runs a policy executable with a 30 s limit; anything but exit 0 in time is a no.
fn run_policy(path: &PathBuf, name: &str, csr_pem: &str) -> bool {
    let Ok(mut child) = Command::new(path)
        .arg(name)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(csr_pem.as_bytes());
    }
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if start.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
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
}
