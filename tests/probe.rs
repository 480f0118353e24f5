//! `probe` against live endpoints: three `openssl s_server` backends presenting generic-name
//! certificates (one of them without the generic name) behind the real `haproxy` (Debian's
//! package) in TCP round-robin mode, all on loopback. Needs `apt-get install haproxy`.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::net::{free_port, start_haproxy, wait_listening, Procs};
use common::Scratch;
use serde_json::Value;

const SHARED: &str = "puppet.example.net";

fn s_server(s: &Scratch, name: &str, port: u16) -> Child {
    Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-cert",
            &format!("{name}.pem"),
            "-key",
            &format!("{name}.key.pem"),
        ])
        .current_dir(s.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server")
}

fn probe(s: &Scratch, targets: &[String], extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["probe"];
    args.extend(targets.iter().map(String::as_str));
    args.extend_from_slice(&[
        "--expect-name",
        SHARED,
        "--ca",
        "ca/ca_crt.pem",
        "--format",
        "json",
    ]);
    args.extend_from_slice(extra);
    let run = s.run(&args);
    let v = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    // The contract of docs/json.md, unknown fields denied; serials and times in their form.
    let report: ProbeReport = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not docs/json.md's shape: {e}: {}", run.stdout));
    for c in report.targets.iter().flat_map(|t| &t.certificates) {
        if let Some(t) = &c.not_after {
            assert!(common::is_rfc3339_utc(t), "{t}");
        }
        if let Some(n) = &c.serial_number {
            assert!(n.hex.starts_with("0x") && n.hex.len() >= 6, "{n:?}");
        }
    }
    (run.code, v)
}

/// docs/json.md's `probe` report.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ProbeReport {
    targets: Vec<TargetReport>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TargetReport {
    target: String,
    connections: usize,
    handshakes: usize,
    certificates: Vec<Presented>,
    agreement: String,
    findings: Vec<Finding>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Presented {
    fingerprint: String,
    subject: String,
    issuer: String,
    serial_number: Option<common::Serial>,
    subject_alt_names: Vec<String>,
    not_after: Option<String>,
    days_left: i64,
    chain_length: usize,
    verified: Option<bool>,
    verify_error: Option<String>,
    carries_expected_names: bool,
    seen: usize,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Finding {
    subject: String,
    rule: String,
    severity: String,
    message: String,
}

fn fingerprints(target: &Value) -> Vec<String> {
    let mut f: Vec<String> = target["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["fingerprint"].as_str().unwrap().to_owned())
        .collect();
    f.sort();
    f
}

fn rules(target: &Value) -> Vec<String> {
    target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn probe_through_haproxy_sees_every_member_and_flags_the_bad_one() {
    if !common::have_program("haproxy", "haproxy") {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&[
        "issue",
        "web1.example.net",
        "web2.example.net",
        "--alt-name",
        SHARED,
    ])
    .ok();
    s.run(&["issue", "web3.example.net"]).ok();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let lb = free_port();
    let mut procs = Procs(Vec::new());
    for (i, port) in ports.iter().enumerate() {
        procs
            .0
            .push(s_server(&s, &format!("web{}.example.net", i + 1), *port));
    }
    procs.0.push(start_haproxy(&s, lb, &ports));
    for p in ports.iter().chain([&lb]) {
        wait_listening(*p);
    }

    // Through the balancer: nine connections reach all three members.
    let (code, v) = probe(&s, &[format!("127.0.0.1:{lb}")], &["--connections", "9"]);
    assert_eq!(code, 1, "{v}");
    let t = &v["targets"][0];
    assert_eq!(t["connections"], 9);
    assert_eq!(t["handshakes"], 9);
    assert_eq!(t["agreement"], "disagree");
    let certs = t["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 3, "{t}");
    for c in certs {
        // Round robin: each member answered a third of the connections.
        assert_eq!(c["seen"], 3, "{c}");
        let good = c["subject"] != "CN=web3.example.net";
        assert_eq!(c["carries_expected_names"], good, "{c}");
        assert_eq!(c["verified"], good, "{c}");
        assert!(c["days_left"].as_i64().unwrap() > 1800, "{c}");
    }
    assert_eq!(rules(t), ["name-missing"], "{t}");
    let message = t["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("web3.example.net"), "{message}");

    // Each member directly agrees with what the balancer showed.
    let direct: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let (code, d) = probe(&s, &direct, &[]);
    assert_eq!(code, 1);
    let mut seen_directly = Vec::new();
    for (i, t) in d["targets"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            t["agreement"],
            if i < 2 {
                "one-shared-certificate"
            } else {
                "disagree"
            }
        );
        assert_eq!(rules(t).len(), usize::from(i == 2), "{t}");
        seen_directly.extend(fingerprints(t));
    }
    seen_directly.sort();
    assert_eq!(seen_directly, fingerprints(&v["targets"][0]));
    // The good members alone: exit 0; per-node certificates that all carry the name.
    let (code, g) = probe(&s, &direct[..2], &[]);
    assert_eq!(code, 0, "{g}");

    // Text output names the members.
    let text = s.run(&[
        "probe",
        &format!("127.0.0.1:{lb}"),
        "--expect-name",
        SHARED,
        "--ca",
        "ca/ca_crt.pem",
        "--connections",
        "6",
    ]);
    assert_eq!(text.code, 1);
    for n in [
        "web1.example.net",
        "web2.example.net",
        "web3.example.net",
        "name-missing",
    ] {
        assert!(text.stdout.contains(n), "{n}: {}", text.stdout);
    }
}

#[test]
fn unreachable_and_silent_targets_are_findings_not_hangs() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    // A port nobody listens on, and a listener that accepts and never speaks TLS.
    let closed = free_port();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let (code, v) = probe(
        &s,
        &[
            format!("127.0.0.1:{closed}"),
            format!("127.0.0.1:{silent_port}"),
        ],
        &["--timeout", "700ms", "--connections", "3"],
    );
    let took = started.elapsed();
    assert_eq!(code, 1, "{v}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let t = v["targets"].as_array().unwrap();
    assert_eq!(rules(&t[0]), ["unreachable"], "{}", t[0]);
    assert_eq!(rules(&t[1]), ["timeout"], "{}", t[1]);
    assert_eq!(t[0]["agreement"], "none");
    assert!(t[0]["findings"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("3 of 3 connections"));
    drop(silent);
    // Bad targets are usage errors.
    for bad in ["no-port", "host:0", "host:70000"] {
        let run = s.run(&["probe", bad, "--expect-name", SHARED]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(run.stderr.contains(bad), "{}", run.stderr);
    }
    // The same targets from a file (comments and blank lines skipped), after those given.
    std::fs::write(
        s.path("targets.txt"),
        format!("# closed\n127.0.0.1:{closed}\n\n127.0.0.1:{closed}  # again\n"),
    )
    .unwrap();
    let (code, v) = probe(
        &s,
        &[format!("127.0.0.1:{closed}")],
        &["--timeout", "700ms", "--targets-file", "targets.txt"],
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["targets"].as_array().unwrap().len(), 3, "{v}");
    for (content, needle) in [
        ("no-port\n", "bad.txt:1: "),
        ("# nothing\n", "bad.txt: no targets in it"),
    ] {
        std::fs::write(s.path("bad.txt"), content).unwrap();
        let run = s.run(&[
            "probe",
            "--targets-file",
            "bad.txt",
            "--expect-name",
            SHARED,
        ]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(needle), "{}", run.stderr);
    }
}
