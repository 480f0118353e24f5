//! `push` through a real `sshd` (Debian's openssh-server) started by the test on a loopback
//! port, with a throwaway host key and client key. Several "hosts" are the same sshd with
//! different target ssldirs (per-host options in --hosts-file); one host refuses connections.
//! Needs `apt-get install openssh-server openssh-client`.

mod common;

use common::net::{ssh_options, start_sshd};
use common::Scratch;
use serde_json::Value;

const NAME: &str = "web1.example.net";

/// `clusterca push NAME --hosts-file hosts.txt` with the ssh options that reach the test's
/// sshd, plus `extra`.
fn push_run(s: &Scratch, port: u16, extra: &[&str]) -> common::Run {
    let ssh = ssh_options(s, port);
    let mut args = vec!["push", NAME, "--hosts-file", "hosts.txt", "-j", "4"];
    args.extend(ssh.iter().map(String::as_str));
    args.extend_from_slice(extra);
    s.run(&args)
}

fn push(s: &Scratch, port: u16, extra: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(extra);
    let run = push_run(s, port, &all);
    let v = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    // The contract of docs/json.md, unknown fields denied.
    let _: PushReport = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not docs/json.md's shape: {e}: {}", run.stdout));
    (run.code, v)
}

/// docs/json.md's `push` report.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PushReport {
    hosts: Vec<HostResult>,
    changed: usize,
    unchanged: usize,
    failed: usize,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct HostResult {
    host: String,
    status: String,
    changed: usize,
    unchanged: usize,
    reason: Option<String>,
    seconds: f64,
    then_output: Option<String>,
}

#[test]
fn push_installs_on_every_reachable_host_and_reports_the_one_that_refuses() {
    if !(common::have_program("sshd", "openssh-server")
        && common::have_program("ssh", "openssh-client")
        && common::have_program("ssh-keygen", "openssh-client"))
    {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", NAME, "--alt-name", "puppet.example.net"])
        .ok();
    let (_sshd, port) = start_sshd(&s);
    let root = s.dir.path().display().to_string();
    // Three hosts on the one sshd, each with its own ssldir; 127.0.0.2 refuses (sshd listens
    // on 127.0.0.1 only).
    std::fs::write(
        s.path("hosts.txt"),
        format!(
            "# fleet\n127.0.0.1 ssldir={root}/h1/ssl\nlocalhost ssldir={root}/h2/ssl\n127.0.0.1 ssldir={root}/h3/ssl  # third\n127.0.0.2 ssldir={root}/h4/ssl\n"
        ),
    )
    .unwrap();
    for h in ["h1", "h2", "h3", "local"] {
        std::fs::create_dir(s.path(h)).unwrap();
    }
    let then = format!("touch {root}/reloaded.$$ && echo reloaded && echo to-stderr >&2");
    let (code, v) = push(&s, port, &["--then", &then]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["changed"], 3, "{v}");
    assert_eq!(v["failed"], 1, "{v}");
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 4);
    for h in &hosts[..3] {
        assert_eq!(h["status"], "changed", "{h}");
        assert_eq!(h["changed"], 7, "{h}");
        // What --then printed, both streams.
        assert_eq!(h["then_output"], "reloaded\nto-stderr", "{h}");
    }
    assert!(hosts[3]["then_output"].is_null());
    assert_eq!(hosts[3]["status"], "failed");
    let reason = hosts[3]["reason"].as_str().unwrap();
    assert!(reason.contains("Connection refused"), "{reason}");
    assert!(hosts[3]["host"].as_str().unwrap().starts_with("127.0.0.2"));

    // What each host got is what a local install makes.
    s.run(&["install", NAME, "--ssldir", "local/ssl"]).ok();
    let local = s.snapshot_of("local/ssl");
    for h in ["h1", "h2", "h3", "local"] {
        assert_eq!(s.snapshot_of(&format!("{h}/ssl")), local, "{h}");
    }
    assert!(!s.path("h4").exists());
    let reloads = || {
        std::fs::read_dir(s.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("reloaded.")
            })
            .count()
    };
    assert_eq!(reloads(), 3, "--then ran once per changed host");

    // Again: unchanged everywhere, and --then not run.
    let (code, v) = push(&s, port, &["--then", &then]);
    assert_eq!(code, 1);
    assert_eq!(v["unchanged"], 3, "{v}");
    assert_eq!(reloads(), 3, "--then ran where nothing changed");
    assert!(v["hosts"][0]["then_output"].is_null(), "{v}");

    // Text: --then's output under each host that ran it.
    std::fs::remove_dir_all(s.path("h1/ssl")).unwrap();
    let run = push_run(&s, port, &["--then", &then]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout
            .matches("    | reloaded\n    | to-stderr\n")
            .count(),
        1,
        "{}",
        run.stdout
    );

    // Text: a table with the failure's reason.
    let run = push_run(&s, port, &[]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("failed: "), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("4 hosts: 0 changed, 3 unchanged, 1 failed"),
        "{}",
        run.stdout
    );
}

#[test]
fn push_refuses_bad_host_lines_before_touching_any_host() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", NAME]).ok();
    for (hosts, needle) in [
        ("h1 ssldir=/x\nh2 colour=blue\n", "colour"),
        ("h1 ssldir\n", "key=value"),
    ] {
        std::fs::write(s.path("hosts.txt"), hosts).unwrap();
        let run = s.run(&["push", NAME, "--hosts-file", "hosts.txt"]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(needle), "{}", run.stderr);
        assert!(run.stderr.contains("hosts.txt:"), "{}", run.stderr);
    }
    let run = s.run(&["push", NAME, "--ssldir", "/x"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no hosts"), "{}", run.stderr);
}
