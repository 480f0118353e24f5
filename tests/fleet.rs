//! The loop a fleet needs, end to end with real peers: six members behind the real haproxy,
//! each presenting its own certificate carrying the shared name, two of them expiring in ten
//! days. `audit` finds the two, `renew --expiring-within 30d` replaces them, `push` installs
//! them through the real sshd, and `probe` through the balancer shows the new serials on those
//! two members and nothing else changed. Needs `apt-get install haproxy openssh-server
//! openssh-client`.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use common::net::{free_port, ssh_options, start_haproxy, start_sshd, wait_listening, Procs};
use common::Scratch;
use serde_json::Value;

const SHARED: &str = "puppet.example.net";

fn node(i: usize) -> String {
    format!("node{i}.example.net")
}

/// A member: `openssl s_server` on `port` with the certificate and key of its ssldir, started
/// again after every connection (`-naccept 1`), so it always presents what is installed.
fn member(s: &Scratch, i: usize, port: u16) -> std::process::Child {
    let ssl = s.path(&format!("nodes/{i}/ssl"));
    let name = node(i);
    let script = format!(
        "while :; do openssl s_server -quiet -naccept 1 -accept 127.0.0.1:{port} -cert {ssl}/certs/{name}.pem -key {ssl}/private_keys/{name}.pem >/dev/null 2>&1 </dev/null; done",
        ssl = ssl.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start a member")
}

use std::os::unix::process::CommandExt;

/// Kills each member's whole process group (the loop and its s_server).
struct Members(Vec<std::process::Child>);

impl Drop for Members {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = c.wait();
        }
    }
}

fn json(run: common::Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr))
}

/// Serial (hex, as probe reports it) of each member's certificate seen through the balancer.
fn serials_through(s: &Scratch, lb: u16) -> (i32, BTreeMap<String, String>) {
    let run = s.run(&[
        "probe",
        &format!("127.0.0.1:{lb}"),
        "--expect-name",
        SHARED,
        "--ca",
        "ca/ca_crt.pem",
        "--connections",
        "12",
        "-j",
        "1",
        "--fail-on",
        "warning",
        "--format",
        "json",
    ]);
    let code = run.code;
    let v = json(run);
    let t = &v["targets"][0];
    let mut seen = BTreeMap::new();
    for c in t["certificates"].as_array().unwrap() {
        assert_eq!(c["verified"], true, "{c}");
        assert_eq!(c["carries_expected_names"], true, "{c}");
        let again = seen.insert(
            c["subject"].as_str().unwrap().to_owned(),
            c["serial_number"]["hex"].as_str().unwrap().to_owned(),
        );
        assert!(again.is_none(), "a member presented two certificates: {t}");
    }
    (code, seen)
}

#[test]
fn audit_renew_push_probe_replaces_the_expiring_certificates_and_nothing_else() {
    if !(common::have_program("haproxy", "haproxy")
        && common::have_program("sshd", "openssh-server")
        && common::have_program("ssh", "openssh-client"))
    {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    std::fs::create_dir(s.path("pki")).unwrap();
    let short = [2, 5];
    for i in 1..=6 {
        let ttl = if short.contains(&i) { "10d" } else { "5y" };
        s.run(&[
            "issue",
            &node(i),
            "--alt-name",
            SHARED,
            "--ttl",
            ttl,
            "--out",
            "pki",
        ])
        .ok();
        let ssl = format!("nodes/{i}/ssl");
        std::fs::create_dir_all(s.path(&ssl)).unwrap();
        s.run(&["install", &node(i), "--from", "pki", "--ssldir", &ssl])
            .ok();
    }
    let ports: Vec<u16> = (0..6).map(|_| free_port()).collect();
    let mut members = Members(Vec::new());
    for (i, port) in ports.iter().enumerate() {
        members.0.push(member(&s, i + 1, *port));
    }
    for p in &ports {
        wait_listening(*p);
    }
    let lb = free_port();
    let _lb = Procs(vec![start_haproxy(&s, lb, &ports)]);
    let (_sshd, ssh_port) = start_sshd(&s);
    let (code, before) = serials_through(&s, lb);
    assert_eq!(code, 1, "two members expire within --warn-days: {before:?}");
    assert_eq!(before.len(), 6, "{before:?}");
    let nodes_before = s.snapshot_of("nodes");

    // 1. audit: the two expiring certificates, and nothing else.
    let audit = json(s.run(&[
        "audit",
        "nodes",
        "--expect-name",
        SHARED,
        "--ca",
        "ca/ca_crt.pem",
        "--crl",
        "ca/ca_crl.pem",
        "--fail-on",
        "warning",
        "--format",
        "json",
    ]));
    let expiring: Vec<String> = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["subject"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(expiring.len(), 2, "{expiring:?}");
    for i in short {
        assert!(
            expiring
                .iter()
                .any(|e| e.starts_with("expiring ") && e.contains(&format!("nodes/{i}/"))),
            "{expiring:?}"
        );
    }

    // 2. renew what expires within 30 days: the same keys, new certificates in pki/.
    let renewed = json(
        s.run(&[
            "renew",
            "--expiring-within",
            "30d",
            "--out",
            "pki",
            "--format",
            "json",
        ])
        .ok(),
    );
    let names: Vec<&str> = renewed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [node(2), node(5)]);

    // 3. push each renewed certificate to its member through sshd.
    for i in short {
        let ssl = s.path(&format!("nodes/{i}/ssl")).display().to_string();
        std::fs::write(
            s.path("hosts.txt"),
            format!("root@127.0.0.1 ssldir={ssl}\n"),
        )
        .unwrap();
        let ssh = ssh_options(&s, ssh_port);
        let name = node(i);
        // The member's "reload": its waiting s_server is stopped and its loop starts it again
        // with the new files (the pattern matches the s_server, not the loop's shell nor the
        // one running pkill).
        let reload = format!("pkill -f '^openssl s_server .*certs/node[{i}][.]example'");
        let mut args = vec![
            "push",
            &name,
            "--from",
            "pki",
            "--hosts-file",
            "hosts.txt",
            "--then",
            &reload,
        ];
        args.extend(ssh.iter().map(String::as_str));
        let pushed = s.run(&args);
        assert_eq!(pushed.code, 0, "{}{}", pushed.stdout, pushed.stderr);
        assert!(pushed.stdout.contains("changed"), "{}", pushed.stdout);
    }

    for p in &ports {
        wait_listening(*p);
    }
    // 4. probe through the balancer: new serials on the two, the same on the four.
    let (code, after) = serials_through(&s, lb);
    assert_eq!(code, 0, "{after:?}");
    for i in 1..=6 {
        let subject = format!("CN={}", node(i));
        let (old, new) = (&before[&subject], &after[&subject]);
        if short.contains(&i) {
            assert_ne!(old, new, "{subject} still presents serial {old}");
        } else {
            assert_eq!(old, new, "{subject} changed");
        }
    }
    // Nothing else changed on the members: only the two certificates.
    let nodes_after = s.snapshot_of("nodes");
    let changed: Vec<_> = nodes_before
        .keys()
        .chain(nodes_after.keys())
        .filter(|k| nodes_before.get(*k) != nodes_after.get(*k))
        .map(|k| k.display().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        changed,
        [
            "2/ssl/certs/node2.example.net.pem",
            "5/ssl/certs/node5.example.net.pem"
        ],
        "{changed:?}"
    );
    // And the audit is clean now.
    let clean = s.run(&[
        "audit",
        "nodes",
        "--expect-name",
        SHARED,
        "--ca",
        "ca/ca_crt.pem",
        "--fail-on",
        "warning",
    ]);
    assert_eq!(clean.code, 0, "{}", clean.stdout);
    // The output a person reads, for the closing note and the README.
    eprintln!(
        "--- fleet loop: renew ---\n{}",
        serde_json::to_string_pretty(&renewed).unwrap()
    );
    eprintln!("--- fleet loop: serials before -> after ---");
    for (subject, old) in &before {
        eprintln!("{subject}: {old} -> {}", after[subject]);
    }
}
