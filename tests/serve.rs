//! `clusterca serve` as Puppet's CA API: status codes and bodies for good and bad requests,
//! authorization, the signer lease with a standby taking over from a `kill -9`-ed active
//! server, and 50 concurrent clients beside a CLI signer. Clients are `curl` (Debian's curl).

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::serve::{admin_args, csr, csr_with, curl, free_port, have_curl, put_csr, with, Serve};
use common::Scratch;

const API: &str = "/puppet-ca/v1";

/// The store's queue and certificates, and its serial and inventory: what requests must not
/// change when they are refused.
fn store_state(s: &Scratch) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["ca/signed", "ca/requests"] {
        if let Ok(entries) = std::fs::read_dir(s.path(dir)) {
            for e in entries {
                let p = e.unwrap().path();
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    for f in ["ca/serial", "ca/inventory.txt", "ca/ca_crl.pem"] {
        out.push((f.to_owned(), std::fs::read(s.path(f)).unwrap()));
    }
    out.sort();
    out
}

/// `PUT certificate_status` with `{"desired_state":STATE}` as the client `who`.
fn set_state(s: &Scratch, who: &[String], url: &str, state: &str) -> (u16, String) {
    let body = format!(r#"{{"desired_state":"{state}"}}"#);
    curl(s, &with(who, &["-X", "PUT", "--data", &body, url]))
}

#[test]
fn the_api_answers_as_puppet_does_and_refuses_bad_requests() {
    if !have_curl() {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "admin.example.net", "other.example.net"])
        .ok();
    let srv = Serve::start(&s, free_port(), "a", &["--admin", "admin.example.net"]);
    let admin = admin_args(&s, "admin.example.net");
    let other = admin_args(&s, "other.example.net");

    assert_eq!(
        curl(&s, &[&srv.url("/status/v1/simple/ca")]),
        (200, "running".into())
    );
    let (code, ca) = curl(&s, &[&srv.url(&format!("{API}/certificate/ca"))]);
    assert_eq!((code, ca), (200, s.read("ca/ca_crt.pem")));

    std::fs::write(s.path("good.csr"), csr("good.example.net")).unwrap();
    assert_eq!(put_csr(&s, &srv, "good.example.net", "good.csr").0, 200);
    let (code, body) = curl(
        &s,
        &[&srv.url(&format!("{API}/certificate_request/good.example.net"))],
    );
    assert_eq!(code, 200);
    assert_eq!(body, s.read("good.csr"));
    let (code, body) = curl(
        &s,
        &[&srv.url(&format!("{API}/certificate/good.example.net"))],
    );
    assert_eq!(
        (code, body.as_str()),
        (404, "Could not find certificate good.example.net")
    );

    // Bad requests: each its status and message, and nothing written.
    std::fs::write(s.path("garbage.csr"), "not a CSR\n").unwrap();
    std::fs::write(s.path("a.csr"), csr("a.example.net")).unwrap();
    std::fs::write(s.path("big.csr"), "A".repeat(70 * 1024)).unwrap();
    std::fs::write(s.path("upper.csr"), csr("UPPER.example.net")).unwrap();
    let before = store_state(&s);
    let cases: Vec<(Vec<&str>, u16, &str)> = vec![
        (
            vec!["-X", "PUT", "--data-binary", "@garbage.csr"],
            400,
            "Invalid certificate request",
        ),
        (
            vec!["-X", "PUT", "--data-binary", "@big.csr"],
            413,
            "larger than 65536 bytes",
        ),
        (
            vec!["-X", "PUT", "--data-binary", "@good.csr"],
            400,
            "already has a requested certificate",
        ),
    ];
    for (args, code, needle) in cases {
        let mut a = args.clone();
        let url = srv.url(&format!("{API}/certificate_request/good.example.net"));
        a.push(&url);
        let (got, body) = curl(&s, &a);
        assert_eq!(got, code, "{args:?}: {body}");
        assert!(body.contains(needle), "{args:?}: {body}");
    }
    let (code, body) = put_csr(&s, &srv, "b.example.net", "a.csr");
    assert_eq!(code, 400);
    assert_eq!(
        body,
        "Instance name \"a.example.net\" does not match requested key \"b.example.net\""
    );
    let (code, body) = put_csr(&s, &srv, "UPPER.example.net", "upper.csr");
    assert_eq!(
        (code, body.as_str()),
        (400, "Certificate names must be lower case.")
    );
    for path in [
        format!("{API}/certificate/..%2F..%2Fca_key.pem"),
        format!("{API}/certificate/../../ca_key.pem"),
        format!("{API}/certificate_request/..%2Fsigned%2Fadmin.example.net"),
    ] {
        let (code, body) = curl(&s, &["--path-as-is", &srv.url(&path)]);
        assert_eq!(code, 400, "{path}: {body}");
        assert!(!body.contains("PRIVATE KEY"), "{path}");
    }
    // Admin endpoints: no client certificate, or a non-admin one: 403.
    let status = srv.url(&format!("{API}/certificate_status/good.example.net"));
    for who in [&[][..], &other[..]] {
        let (code, body) = curl(&s, &with(who, &[&status]));
        assert_eq!(code, 403, "{body}");
        assert!(body.starts_with("Forbidden request: /puppet-ca/v1/certificate_status/good.example.net (method :get)"), "{body}");
        let (code, _) = set_state(&s, who, &status, "signed");
        assert_eq!(code, 403);
    }
    assert_eq!(
        before,
        store_state(&s),
        "a refused request changed the store"
    );

    // The admin's view and actions.
    let (code, body) = curl(&s, &with(&admin, &[&status]));
    assert_eq!(code, 200, "{body}");
    let st: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["state"], "requested");
    assert_eq!(st["name"], "good.example.net");
    let (code, body) = set_state(&s, &admin, &status, "bogus");
    assert_eq!(code, 400, "{body}");
    let (code, _) = set_state(&s, &admin, &status, "signed");
    assert_eq!(code, 204);
    let again = put_csr(&s, &srv, "good.example.net", "good.csr");
    assert_eq!(
        again,
        (
            400,
            "good.example.net already has a signed certificate; ignoring certificate request"
                .into()
        )
    );
    let (code, cert) = curl(
        &s,
        &[&srv.url(&format!("{API}/certificate/good.example.net"))],
    );
    assert_eq!(code, 200);
    std::fs::write(s.path("good.pem"), &cert).unwrap();
    assert_eq!(
        s.verify("good.pem", "-verify_hostname", "good.example.net")
            .code,
        0
    );
    let (code, body) = curl(
        &s,
        &with(
            &admin,
            &[&srv.url(&format!("{API}/certificate_statuses/any?state=signed"))],
        ),
    );
    assert_eq!(code, 200);
    let list: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert!(list.iter().any(|c| c["name"] == "good.example.net"));
    assert!(list.iter().all(|c| c["state"] == "signed"));

    // Revoke through the API: the CRL served lists the serial; If-Modified-Since gets 304.
    let (code, _) = set_state(&s, &admin, &status, "revoked");
    assert_eq!(code, 204);
    let again = put_csr(&s, &srv, "good.example.net", "good.csr");
    assert_eq!(
        again,
        (
            400,
            "good.example.net already has a revoked certificate; ignoring certificate request"
                .into()
        )
    );
    let crl_url = srv.url(&format!("{API}/certificate_revocation_list/ca"));
    let (code, crl) = curl(&s, &[&crl_url]);
    assert_eq!(code, 200);
    std::fs::write(s.path("served.crl"), &crl).unwrap();
    let v = s.openssl(&[
        "verify",
        "-crl_check",
        "-CRLfile",
        "served.crl",
        "-CAfile",
        "ca/ca_crt.pem",
        "good.pem",
    ]);
    assert!(v.stderr.contains("certificate revoked") || v.stdout.contains("certificate revoked"));
    let (code, _) = curl(
        &s,
        &[
            "-H",
            "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT",
            &crl_url,
        ],
    );
    assert_eq!(code, 304);
    let (code, _) = curl(
        &s,
        &[
            "-H",
            "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT",
            &crl_url,
        ],
    );
    assert_eq!(code, 200);

    // clean, delete, expirations.
    let clean = srv.url(&format!("{API}/clean"));
    let (code, body) = curl(
        &s,
        &with(
            &admin,
            &[
                "-X",
                "PUT",
                "--data",
                r#"{"certnames":["good.example.net"]}"#,
                &clean,
            ],
        ),
    );
    assert_eq!(code, 200, "{body}");
    assert!(!s.path("ca/signed/good.example.net.pem").exists());
    let (code, _) = curl(&s, &with(&admin, &["-X", "DELETE", &status]));
    assert_eq!(code, 404);
    // DELETE removes a queued request without signing or revoking anything.
    std::fs::write(s.path("d.csr"), csr("d.example.net")).unwrap();
    assert_eq!(put_csr(&s, &srv, "d.example.net", "d.csr").0, 200);
    let crl_before = s.read("ca/ca_crl.pem");
    let d_status = srv.url(&format!("{API}/certificate_status/d.example.net"));
    let (code, _) = curl(&s, &with(&admin, &["-X", "DELETE", &d_status]));
    assert_eq!(code, 204);
    assert!(!s.path("ca/requests/d.example.net.pem").exists());
    assert_eq!(crl_before, s.read("ca/ca_crl.pem"));
    let (code, body) = curl(
        &s,
        &with(&other, &[&srv.url(&format!("{API}/expirations"))]),
    );
    assert_eq!(code, 200, "{body}");
    let exp: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(exp["ca-certs"].as_object().unwrap().len() == 1, "{exp}");
    assert!(exp["crls"].as_object().unwrap().len() == 1, "{exp}");
    let (code, _) = curl(&s, &[&srv.url(&format!("{API}/expirations"))]);
    assert_eq!(code, 403);

    // A client certificate carrying pp_cli_auth is an admin without --admin.
    std::fs::write(
        s.path("cli.ext"),
        "1.3.6.1.4.1.34380.1.3.39=ASN1:UTF8String:true\n",
    )
    .unwrap();
    s.ec_csr("cli.key.pem", "cli.csr", "cli.example.net", &[]);
    s.openssl(&[
        "x509",
        "-req",
        "-in",
        "cli.csr",
        "-CA",
        "ca/ca_crt.pem",
        "-CAkey",
        "ca/ca_key.pem",
        "-set_serial",
        "99",
        "-days",
        "2",
        "-extfile",
        "cli.ext",
        "-out",
        "cli.pem",
    ])
    .ok();
    let cli = admin_args(&s, "cli");
    let (code, _) = curl(
        &s,
        &with(&cli, &[&srv.url(&format!("{API}/certificate_statuses/x"))]),
    );
    assert_eq!(code, 200);

    // Every request was logged as one JSON line.
    let log = srv.log_text();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l["status"] == 413));
    assert!(lines
        .iter()
        .any(|l| l["status"] == 403 && l["client"] == "other.example.net"));
    s.run(&["check"]).ok();
}

#[test]
fn a_standby_takes_over_within_two_seconds_of_a_kill_9() {
    if !have_curl() {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let mut active = Serve::start(&s, free_port(), "active", &["--autosign", "true"]);
    let standby = Serve::start(
        &s,
        free_port(),
        "standby",
        &["--autosign", "true", "--standby"],
    );
    assert_eq!(
        curl(&s, &[&active.url("/status/v1/simple/ca")]).1,
        "running"
    );
    assert_eq!(
        curl(&s, &[&standby.url("/status/v1/simple/ca")]).1,
        "standby"
    );
    // A third without --standby refuses to start, naming the holder.
    let third = s.run(&["serve", "--listen", "127.0.0.1:0", "--cert", "localhost"]);
    assert_eq!(third.code, 3, "{}", third.stderr);
    assert!(
        third.stderr.contains("clusterca.lease") && third.stderr.contains("pid "),
        "{}",
        third.stderr
    );
    // The standby serves reads, refuses writes.
    std::fs::write(s.path("x.csr"), csr("x.example.net")).unwrap();
    assert_eq!(put_csr(&s, &standby, "x.example.net", "x.csr").0, 503);
    assert_eq!(
        curl(&s, &[&standby.url(&format!("{API}/certificate/ca"))]).0,
        200
    );

    // A client keeps submitting, to the active server and, when that fails or answers 503,
    // to the other one, as a load balancer's health check would steer it; the active one is
    // killed mid-stream.
    let urls = [active.url(""), standby.url("")];
    let dir = s.dir.path().to_path_buf();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut accepted = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let name = format!("n{i}.example.net");
                let file = dir.join(format!("{name}.csr"));
                std::fs::write(&file, csr(&name)).unwrap();
                'retry: loop {
                    for base in &urls {
                        let out = std::process::Command::new("curl")
                            .args([
                                "-s",
                                "-o",
                                "/dev/null",
                                "-w",
                                "%{http_code}",
                                "--max-time",
                                "5",
                            ])
                            .arg("--cacert")
                            .arg(dir.join("ca/ca_crt.pem"))
                            .args(["-X", "PUT", "--data-binary"])
                            .arg(format!("@{}", file.display()))
                            .arg(format!("{base}{API}/certificate_request/{name}"))
                            .output()
                            .unwrap();
                        match String::from_utf8_lossy(&out.stdout).as_ref() {
                            "200" => {
                                accepted.push(name.clone());
                                break 'retry;
                            }
                            // Filed by the killed server just before it died, unanswered:
                            // the retry hears "already has a requested certificate".
                            "400" => break 'retry,
                            _ => {}
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                i += 1;
            }
            accepted
        })
    };
    let count = || std::fs::read_dir(s.path("ca/signed")).unwrap().count();
    while count() < 12 {
        std::thread::sleep(Duration::from_millis(10));
    }
    // std's Child::kill is SIGKILL: no chance to clean up.
    active.child.kill().unwrap();
    let killed = Instant::now();
    let _ = active.child.wait();
    loop {
        let (_, body) = curl(&s, &[&standby.url("/status/v1/simple/ca")]);
        if body == "running" {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(2),
            "standby not active after {:?}",
            killed.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let at_kill = count();
    while count() < at_kill + 10 {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let accepted = client.join().unwrap();
    // At least 11 before the kill (12 in signed/, the server's own among them) and 10 after,
    // less those the dying server filed unanswered (a retry hears 400 and does not count).
    assert!(accepted.len() >= 18, "{}", accepted.len());
    // Every accepted CSR signed exactly once, serials distinct, the store consistent.
    for name in &accepted {
        assert!(
            s.path(&format!("ca/signed/{name}.pem")).exists(),
            "{name} not signed"
        );
    }
    let serials: Vec<String> = s
        .read("ca/inventory.txt")
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    let distinct: BTreeSet<&String> = serials.iter().collect();
    assert_eq!(distinct.len(), serials.len(), "a serial was issued twice");
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    // The health check is also the load balancer's: the killed one no longer answers.
    assert_ne!(curl(&s, &[&active.url("/status/v1/simple/ca")]).0, 200);
    drop(standby);
}

#[test]
fn fifty_concurrent_clients_beside_a_cli_signer() {
    if !have_curl() {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    // Fifty clients on one address, each holding its connection for 80 requests: the test of
    // the store under concurrency, so without the per-address cap (tests/serve_hostile.rs
    // has the cap's own tests).
    let srv = Serve::start(
        &s,
        free_port(),
        "c",
        &["--autosign", "true", "--max-connections-per-address", "0"],
    );
    const CLIENTS: usize = 50;
    const EACH: usize = 40;
    std::fs::create_dir(s.path("csrs")).unwrap();
    let mut children = Vec::new();
    for c in 0..CLIENTS {
        // One curl per client: 40 PUTs then 40 GETs on one kept-alive connection.
        let mut args: Vec<String> = Vec::new();
        for phase in ["put", "get"] {
            for i in 0..EACH {
                let name = format!("c{c}-n{i}.example.net");
                if !args.is_empty() {
                    args.push("--next".into());
                }
                args.extend(
                    [
                        "-s",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_code}\\n",
                        "--cacert",
                        "ca/ca_crt.pem",
                    ]
                    .map(String::from),
                );
                if phase == "put" {
                    let file = format!("csrs/{name}.csr");
                    std::fs::write(s.path(&file), csr(&name)).unwrap();
                    args.extend(["-X", "PUT", "--data-binary"].map(String::from));
                    args.push(format!("@{file}"));
                    args.push(srv.url(&format!("{API}/certificate_request/{name}")));
                } else {
                    args.push(srv.url(&format!("{API}/certificate/{name}")));
                }
            }
        }
        children.push(
            std::process::Command::new("curl")
                .args(&args)
                .current_dir(s.dir.path())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    // Meanwhile, the CLI issues through the same store lock.
    let cli = std::process::Command::new("sh")
        .args(["-c", &format!("for i in $(seq 1 20); do {} issue cli$i.example.net --out csrs >/dev/null || exit 1; done", env!("CARGO_BIN_EXE_clusterca"))])
        .current_dir(s.dir.path())
        .spawn()
        .unwrap();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let codes = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            codes.lines().filter(|l| *l == "200").count(),
            2 * EACH,
            "{codes}"
        );
    }
    assert!(cli.wait_with_output().unwrap().status.success());
    let signed = std::fs::read_dir(s.path("ca/signed")).unwrap().count();
    // 2,000 agents + 20 CLI certificates + the server's own.
    assert_eq!(signed, CLIENTS * EACH + 20 + 1);
    let serials: Vec<String> = s
        .read("ca/inventory.txt")
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    let distinct: BTreeSet<&String> = serials.iter().collect();
    assert_eq!(distinct.len(), serials.len());
    assert_eq!(serials.len(), CLIENTS * EACH + 20 + 2);
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let mut srv = Serve::start(&s, free_port(), "t", &[]);
    let term = std::process::Command::new("kill")
        .args(["-TERM", &srv.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let start = Instant::now();
    loop {
        if let Some(status) = srv.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(srv.log_text().contains("\"event\":\"shutdown\""));
}

#[test]
fn autosign_by_executable_under_the_alt_name_policy() {
    if !have_curl() {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "admin.example.net"]).ok();
    // A policy executable: the certname as argument, the CSR on stdin, exit 0 signs.
    let script = s.path("policy.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat > {}/seen-$1.csr\ncase \"$1\" in *.ok.example.net) exit 0 ;; esac\nexit 1\n",
            s.dir.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let policy = script.display().to_string();
    let srv = Serve::start(
        &s,
        free_port(),
        "x",
        &["--autosign", &policy, "--admin", "admin.example.net"],
    );
    for (name, extra, signed) in [
        ("a.ok.example.net", &[][..], true),
        ("b.example.net", &[][..], false),
        // Allowed by the executable, refused by the alt-name policy: stays queued.
        ("c.ok.example.net", &["evil.example.net"][..], false),
    ] {
        std::fs::write(s.path("r.csr"), csr_with(name, extra)).unwrap();
        assert_eq!(put_csr(&s, &srv, name, "r.csr").0, 200, "{name}");
        let (code, _) = curl(&s, &[&srv.url(&format!("{API}/certificate/{name}"))]);
        assert_eq!(code == 200, signed, "{name}: {code}");
        assert_eq!(
            s.path(&format!("ca/requests/{name}.pem")).exists(),
            !signed,
            "{name}"
        );
        let seen = std::fs::read_to_string(s.path(&format!("seen-{name}.csr"))).unwrap();
        assert!(seen.contains("BEGIN CERTIFICATE REQUEST"), "{name}");
    }
    assert!(srv.log_text().contains("autosign-refused"));
    // An admin cannot sign it either: 409 naming the alt name.
    let admin = admin_args(&s, "admin.example.net");
    let (code, body) = set_state(
        &s,
        &admin,
        &srv.url(&format!("{API}/certificate_status/c.ok.example.net")),
        "signed",
    );
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("evil.example.net"), "{body}");
    assert!(!s.path("ca/signed/c.ok.example.net.pem").exists());
}

#[test]
fn silent_and_slow_clients_are_cut_off() {
    use std::io::Read;
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let srv = Serve::start(&s, free_port(), "slow", &["--header-timeout", "500ms"]);
    // A client that connects and never starts TLS: closed after the limit.
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 16];
    let n = sock.read(&mut buf).unwrap_or(0);
    let took = start.elapsed();
    assert_eq!(n, 0, "the server sent something to a silent client");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );
    // A TLS client that never finishes its headers is cut off: openssl s_client (its input
    // held open by the test) ends when the server closes the connection.
    let start = Instant::now();
    let mut client = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{}", srv.port),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = client.stdin.take().unwrap();
    std::io::Write::write_all(
        &mut stdin,
        b"GET /status/v1/simple/ca HTTP/1.1\r\nHost: x\r\n",
    )
    .unwrap();
    let mut body = String::new();
    client
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut body)
        .unwrap();
    let took = start.elapsed();
    drop(stdin);
    let _ = client.wait();
    assert!(!body.contains("running"), "{body}");
    assert!(took < Duration::from_secs(4), "not cut off: {took:?}");
    // Others are still served.
    if have_curl() {
        assert_eq!(curl(&s, &[&srv.url("/status/v1/simple/ca")]).1, "running");
    }
}

#[test]
fn tls_1_3_picks_a_sha256_suite_whatever_the_client_lists_first() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let srv = Serve::start(&s, free_port(), "suites", &[]);
    // What `openssl s_client` offering `suites` (in that order) says it got.
    let negotiated = |suites: &str| {
        let out = std::process::Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{}", srv.port)])
            .args(["-tls1_3", "-ciphersuites", suites])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // OpenSSL, as Puppet agents run it, lists AES-256-GCM-SHA384 first.
    let text =
        negotiated("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256");
    assert!(text.contains("Cipher is TLS_AES_128_GCM_SHA256"), "{text}");
    // A client that offers only SHA-384 is still served.
    let text = negotiated("TLS_AES_256_GCM_SHA384");
    assert!(text.contains("Cipher is TLS_AES_256_GCM_SHA384"), "{text}");
}
