//! The README's tour, run as written, line by line, in order, with `bash` in a fresh
//! directory holding what the tour names (its paragraph lists them). Each line must succeed:
//! exit 0, or 1 where the command's exit 1 means "ran and found problems" (`check`, `audit`,
//! `probe`, `verify`, `push` to hosts that are not there). A `serve` line must start and
//! keep serving until stopped; then it is stopped with SIGTERM and must exit 0.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Scratch;

/// The tour's command lines: the first `sh` block after `## Tour`, `\` continuations joined.
fn tour() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = readme.split("\n## Tour\n").nth(1).expect("a Tour section");
    let block = after
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a sh block in the Tour");
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                lines.push(std::mem::take(&mut current));
            }
        }
    }
    lines.retain(|l| !l.trim().is_empty());
    lines
}

/// What the tour's paragraph says the directory holds.
fn fixtures(s: &Scratch) {
    common::copy_puppet_fixture_to(s, "ca", "puppetserver/ca");
    // An OpenSSL CA: certificate, key and an empty CRL.
    s.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=OpenSSL Tour CA",
        "-days",
        "3650",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])
    .ok();
    std::fs::create_dir(s.path("ossl")).unwrap();
    std::fs::write(s.path("ossl/index.txt"), "").unwrap();
    std::fs::write(s.path("ossl/crlnumber"), "01\n").unwrap();
    std::fs::write(
        s.path("ossl/openssl.cnf"),
        "[ca]\ndefault_ca = tour\n[tour]\ndatabase = ossl/index.txt\ncrlnumber = ossl/crlnumber\n\
         default_md = sha256\ndefault_crl_days = 30\n",
    )
    .unwrap();
    s.openssl(&[
        "ca",
        "-gencrl",
        "-config",
        "ossl/openssl.cnf",
        "-keyfile",
        "ca.key",
        "-cert",
        "ca.crt",
        "-out",
        "ca.crl",
    ])
    .ok();
    let names: String = (1..=50)
        .map(|i| format!("node{i:02}.example.net\n"))
        .collect();
    std::fs::write(s.path("nodes.txt"), names).unwrap();
    s.ec_csr("node1.key", "node1.csr", "node1.example.net", &[]);
    std::fs::write(s.path("autosign.conf"), "*.example.net\n").unwrap();
    for node in ["puppet01", "node1"] {
        std::fs::create_dir_all(s.path(&format!("collected/{node}"))).unwrap();
    }
}

#[test]
fn the_readme_tour_runs_as_written() {
    let s = Scratch::new();
    fixtures(&s);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_clusterca"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let lines = tour();
    assert!(lines.len() > 40, "{lines:#?}");
    for line in &lines {
        let mut cmd = Command::new("bash");
        cmd.args(["-c", line])
            .current_dir(s.path("."))
            .env_clear()
            .env("PATH", &path)
            .env("HOME", s.path("."))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if line.starts_with("clusterca serve") {
            serves(cmd, line);
            continue;
        }
        let out = cmd.output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        let verb = line.split_whitespace().nth(1).unwrap_or_default();
        let may_find = matches!(verb, "check" | "audit" | "probe" | "verify" | "push");
        assert!(
            code == 0 || (code == 1 && may_find),
            "README tour line failed (exit {code}): {line}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What the tour left is a consistent CA.
    let run = s.run(&["check"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

/// A `serve` line: it must be serving (its log says `listening`) and still running a moment
/// later, and exit 0 on SIGTERM.
fn serves(mut cmd: Command, line: &str) {
    let mut child = cmd.spawn().unwrap();
    let mut err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut all = Vec::new();
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            let _ = tx.send(String::from_utf8_lossy(&all).into_owned());
        }
    });
    let start = Instant::now();
    let mut log = String::new();
    while !log.contains("\"listening\"") {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("README tour line exited ({status}) instead of serving: {line}\n{log}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not listening: {line}\n{log}"
        );
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            log = l;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "stopped by itself: {line}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{line}: {status}");
}
