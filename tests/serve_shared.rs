//! `serve --shared`: several active/active signers on one CA directory behind a real haproxy,
//! round robin, with the haproxy configuration docs/serve.md gives; grouped commits under
//! concurrent clients; a member killed with SIGKILL and another restarted mid-run.
//!
//! Needs `apt-get install haproxy curl`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::net::{start_haproxy_with, wait_listening, Procs};
use common::serve::{csr, free_port, have_curl, Serve};
use common::Scratch;

const API: &str = "/puppet-ca/v1";

/// The haproxy configuration of docs/serve.md ("Active/active behind haproxy"), on loopback.
fn haproxy_conf(lb: u16, members: &[u16]) -> String {
    let servers: String = members
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!("    server ca{} 127.0.0.1:{p} check check-ssl verify none inter 200ms fall 1 rise 1\n", i + 1)
        })
        .collect();
    format!(
        "global\n    maxconn 512\n\
         defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n    retries 3\n    option redispatch\n\
         frontend puppet_ca\n    bind 127.0.0.1:{lb}\n    default_backend puppet_ca\n\
         backend puppet_ca\n    balance roundrobin\n    option httpchk GET /status/v1/simple/ca\n    http-check expect string running\n{servers}"
    )
}

/// One curl exchange (with any member or the balancer), run in `dir`; (status, body). Status 0:
/// no answer (the member died under the request).
fn call(dir: &std::path::Path, args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20", "--cacert", "ca/ca_crt.pem"])
        .args(["-w", "\n%{http_code}"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

fn url(port: u16, path: &str) -> String {
    format!("https://localhost:{port}{path}")
}

const SHARED: &[&str] = &[
    "--shared",
    "--autosign",
    "true",
    "--max-connections-per-address",
    "0",
];

#[test]
fn three_shared_signers_behind_haproxy_survive_a_kill_and_a_restart() {
    if !have_curl() || !common::have_program("haproxy", "haproxy") {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut members: Vec<Option<Serve>> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| Some(Serve::start(&s, *p, &format!("m{i}"), SHARED)))
        .collect();
    // Every member is a signer: each answers `running`.
    for p in &ports {
        assert_eq!(
            call(s.dir.path(), &[&url(*p, "/status/v1/simple/ca")]),
            (200, "running".to_owned())
        );
    }
    // A server without --shared is refused beside them (exit 3), naming why.
    let alone = s.run(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--cert",
        "localhost",
    ]);
    assert_eq!(alone.code, 3, "{}", alone.stderr);
    assert!(alone.stderr.contains("--shared"), "{}", alone.stderr);

    let lb = free_port();
    let _haproxy = Procs(vec![start_haproxy_with(&s, &haproxy_conf(lb, &ports))]);
    wait_listening(lb);

    const CLIENTS: usize = 32;
    const EACH: usize = 12;
    let answered = Arc::new(AtomicUsize::new(0));
    let signed: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (answered, signed) = (answered.clone(), signed.clone());
        let dir = s.dir.path().to_owned();
        clients.push(std::thread::spawn(move || {
            for k in 0..EACH {
                let name = format!("c{c}-{k}.example.net");
                let file = format!("{name}.csr");
                std::fs::write(dir.join(&file), csr(&name)).unwrap();
                // A request cut off by the kill is sent again: the second answer says
                // whether the first was filed (400 "already has a signed certificate").
                for attempt in 0..10 {
                    let (code, body) = call(
                        &dir,
                        &[
                            "-X",
                            "PUT",
                            "-H",
                            "Content-Type: text/plain",
                            "--data-binary",
                            &format!("@{file}"),
                            &url(lb, &format!("{API}/certificate_request/{name}")),
                        ],
                    );
                    match code {
                        200 => {
                            signed.lock().unwrap().insert(name.clone());
                            break;
                        }
                        400 if attempt > 0 && body.contains("already has a") => break,
                        0 | 502 | 503 => std::thread::sleep(Duration::from_millis(100)),
                        other => panic!("{name}: {other} {body}"),
                    }
                }
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    // Mid-run: SIGKILL one member, then restart another (SIGTERM, start again).
    let wait_for = |n: usize| {
        let start = Instant::now();
        while answered.load(Ordering::SeqCst) < n {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "clients stalled"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for(CLIENTS * EACH / 4);
    drop(members[1].take()); // Serve's drop is SIGKILL.
    wait_for(CLIENTS * EACH / 2);
    let mut third = members[2].take().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(third.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(
        third.child.wait().unwrap().success(),
        "SIGTERM is a clean stop"
    );
    drop(third);
    members[2] = Some(Serve::start(&s, ports[2], "m2-again", SHARED));
    for c in clients {
        c.join().expect("a client failed");
    }
    let signed = signed.lock().unwrap().clone();
    assert!(
        signed.len() >= CLIENTS * EACH * 9 / 10,
        "only {} of {} answered 200",
        signed.len(),
        CLIENTS * EACH
    );
    // Grouped commits happened: some group held more than one signing.
    let grouped = members
        .iter()
        .flatten()
        .any(|m| m.log_text().lines().any(|l| l.contains("\"group-commit\"")));
    assert!(
        grouped,
        "no member logged a group commit of several signings"
    );

    // Every 200 has its certificate on every live member, the same bytes.
    let live: Vec<u16> = vec![ports[0], ports[2]];
    for name in &signed {
        let mut seen = BTreeSet::new();
        for p in &live {
            let (code, body) = call(
                s.dir.path(),
                &[&url(*p, &format!("{API}/certificate/{name}"))],
            );
            assert_eq!(code, 200, "{name} from member {p}: {body}");
            seen.insert(body);
        }
        assert_eq!(seen.len(), 1, "{name}: members disagree");
    }
    // A revocation through one member is in the CRL the other serves within its poll.
    let victim = signed.iter().next().unwrap().clone();
    s.run(&["revoke", &victim]).ok();
    let serial = {
        let pem = s.read(&format!("ca/signed/{victim}.pem"));
        std::fs::write(s.path("victim.pem"), pem).unwrap();
        let out = s.openssl(&["x509", "-in", "victim.pem", "-noout", "-serial"]);
        out.stdout.trim().trim_start_matches("serial=").to_owned()
    };
    for p in &live {
        let start = Instant::now();
        loop {
            let (_, crl) = call(
                s.dir.path(),
                &[&url(*p, &format!("{API}/certificate_revocation_list/ca"))],
            );
            std::fs::write(s.path("crl.pem"), crl).unwrap();
            let text = s
                .openssl(&["crl", "-in", "crl.pem", "-noout", "-text"])
                .stdout;
            if text.contains(&format!("Serial Number: {serial}")) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "member {p} never served the new CRL"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    drop(members);
    // Serials are distinct and the inventory names every signed certificate once.
    let inventory = s.read("ca/inventory.txt");
    let mut serials = BTreeMap::new();
    for line in inventory.lines().filter(|l| !l.trim().is_empty()) {
        let serial = line.split_whitespace().next().unwrap().to_owned();
        assert!(
            serials.insert(serial.clone(), line.to_owned()).is_none(),
            "serial {serial} twice"
        );
    }
    for name in &signed {
        assert!(
            inventory.contains(&format!("/CN={name}\n"))
                || inventory.contains(&format!("/CN={name}")),
            "{name} is not in the inventory"
        );
    }
    // The store is consistent: journal finished, CRL and inventory agree.
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}

#[test]
fn an_exclusive_server_and_shared_ones_exclude_each_other() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let _active = Serve::start(&s, free_port(), "active", &[]);
    let shared = s.run(&[
        "serve",
        "--shared",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--cert",
        "localhost",
    ]);
    assert_eq!(shared.code, 3, "{}", shared.stderr);
    assert!(
        shared
            .stderr
            .contains("another CA server is the active signer"),
        "{}",
        shared.stderr
    );
    assert!(
        !s.run(&["serve", "--shared", "--standby"]).stderr.is_empty(),
        "--shared with --standby must be refused"
    );
}
