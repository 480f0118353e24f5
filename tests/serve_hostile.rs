//! `clusterca serve` against hostile and careless clients: slow bodies from one address while a
//! well-behaved client and health checks are served, the request deadline (408), oversize
//! bodies answered with a 413 the client reads, HEAD, `cert_ttl` limits, autosign never
//! minting an admin, a revoked admin refused within a second, and refusals that carry no
//! server path or CLI flag. Clients are curl and Python's ssl module (Debian's curl, python3).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::serve::{
    admin_args, ca_and_server, csr, curl, free_port, have_curl, put_as, put_csr, with, Serve,
};
use common::Scratch;

const API: &str = "/puppet-ca/v1";

fn have_tools() -> bool {
    have_curl() && common::have_program("python3", "python3")
}

/// What a refused request must leave as it was: the queue, the certificates, the serial, the
/// inventory and the CRL.
fn store_state(s: &Scratch) -> std::collections::BTreeMap<std::path::PathBuf, (Vec<u8>, u32)> {
    let mut all = s.snapshot_of("ca/signed");
    all.extend(s.snapshot_of("ca/requests"));
    for f in ["ca/serial", "ca/inventory.txt", "ca/ca_crl.pem"] {
        all.insert(s.path(f), (std::fs::read(s.path(f)).unwrap(), s.mode(f)));
    }
    all
}

/// Slow-body clients (Python asyncio + ssl): `n` connections from 127.0.0.1, each sending the
/// headers of a PUT and the start of its body, then one byte a second; a connection the server
/// closes or refuses is opened again at once. Prints one JSON line at the end: the most
/// connections it held at once, and how many the server refused or cut off.
const SLOW_BODIES: &str = r#"
import asyncio, json, ssl, sys, time
port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
st = {"held": 0, "peak": 0, "refused": 0, "cut": 0}
end = time.time() + seconds
async def one():
    while time.time() < end:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, local_addr=("127.0.0.1", 0)), 5)
            w.write(b"PUT /puppet-ca/v1/certificate_request/slow.example.net HTTP/1.1\r\n"
                    b"Host: localhost\r\nContent-Type: text/plain\r\nContent-Length: 4000\r\n\r\n"
                    b"-----BEGIN")
            await w.drain()
        except Exception:
            st["refused"] += 1
            await asyncio.sleep(0.2)
            continue
        st["held"] += 1
        st["peak"] = max(st["peak"], st["held"])
        try:
            while time.time() < end:
                try:
                    data = await asyncio.wait_for(r.read(4096), 1.0)
                    st["cut"] += 1
                    break
                except asyncio.TimeoutError:
                    w.write(b"A")
                    await w.drain()
        except Exception:
            st["cut"] += 1
        st["held"] -= 1
        w.close()
async def main():
    await asyncio.gather(*(one() for _ in range(n)))
asyncio.run(main())
print(json.dumps(st), flush=True)
"#;

#[test]
fn six_hundred_slow_bodies_from_one_address_starve_no_one() {
    if !have_tools() {
        return;
    }
    let (s, srv) = ca_and_server("slow", &[]);
    std::fs::write(s.path("slow.py"), SLOW_BODIES).unwrap();
    let attack_secs = 12.0;
    let attacker = Command::new("python3")
        .arg(s.path("slow.py"))
        .args([&srv.port.to_string(), "600", &attack_secs.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Let the attack fill what it can.
    std::thread::sleep(Duration::from_secs(3));

    // A well-behaved agent on another address: every answer within 2 s.
    std::fs::write(s.path("good.csr"), csr("good.example.net")).unwrap();
    let url = |p: &str| srv.url(&format!("{API}/{p}"));
    let good: Vec<(Vec<String>, u16)> = vec![
        (vec![url("certificate/ca")], 200),
        (vec![url("certificate_revocation_list/ca")], 200),
        (
            vec![
                "-X".into(),
                "PUT".into(),
                "-H".into(),
                "Content-Type: text/plain".into(),
                "--data-binary".into(),
                "@good.csr".into(),
                url("certificate_request/good.example.net"),
            ],
            200,
        ),
        (vec![url("certificate_request/good.example.net")], 200),
        (vec![url("certificate/good.example.net")], 404),
    ];
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs_f64(attack_secs - 2.0) {
        for (args, want) in &good {
            let mut a = vec!["--interface", "127.0.0.2"];
            a.extend(args.iter().map(String::as_str));
            let t = Instant::now();
            let (code, body) = curl(&s, &a);
            let took = t.elapsed();
            assert_eq!(code, *want, "{args:?}: {body}");
            assert!(took < Duration::from_secs(2), "{args:?} took {took:?}");
        }
        // The load balancer's health check, from a third address.
        let t = Instant::now();
        let health = curl(
            &s,
            &["--interface", "127.0.0.3", &srv.url("/status/v1/simple/ca")],
        );
        assert_eq!(health, (200, "running".into()));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        rounds += 1;
        // The good request is filed: a second PUT would be refused; remove it for the next round.
        std::fs::remove_file(s.path("ca/requests/good.example.net.pem")).unwrap();
    }
    let out = attacker.wait_with_output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let st: serde_json::Value = serde_json::from_str(line.trim()).expect("attacker's report");
    assert!(rounds >= 2, "only {rounds} rounds under attack");
    // The attack was real: it held the address's whole share, and no more.
    let peak = st["peak"].as_u64().unwrap();
    assert!((15..=16).contains(&peak), "{st}");
    assert!(st["refused"].as_u64().unwrap() > 500, "{st}");
    assert!(srv.log_text().contains("\"event\":\"address-cap\""));
}

/// Opens a TLS connection with Python and sends `request`; prints the first line of the
/// answer (or `closed`) and the seconds until its first byte (or the close), as JSON.
const ONE_REQUEST: &str = r#"
import json, socket, ssl, sys, time
port, request, pause = int(sys.argv[1]), sys.argv[2].encode().decode("unicode_escape").encode("latin-1"), float(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = time.time()
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.sendall(request)
time.sleep(pause)
s.settimeout(20)
try:
    answer = b""
    first_at = None
    while True:
        chunk = s.recv(65536)
        first_at = first_at or time.time()
        if not chunk:
            break
        answer += chunk
    first = answer.split(b"\r\n")[0].decode() if answer else "closed"
except Exception as e:
    first = "error: " + type(e).__name__
print(json.dumps({"first": first, "seconds": (first_at or time.time()) - t}), flush=True)
"#;

fn one_request(s: &Scratch, port: u16, request: &str, pause: f64) -> (String, f64) {
    std::fs::write(s.path("one.py"), ONE_REQUEST).unwrap();
    let out = Command::new("python3")
        .arg(s.path("one.py"))
        .args([&port.to_string(), request, &pause.to_string()])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        v["first"].as_str().unwrap().to_owned(),
        v["seconds"].as_f64().unwrap(),
    )
}

#[test]
fn a_body_not_sent_whole_by_the_deadline_gets_408() {
    if !have_tools() {
        return;
    }
    let (s, srv) = ca_and_server("deadline", &["--request-timeout", "1s"]);
    let before = store_state(&s);
    let partial = "PUT /puppet-ca/v1/certificate_request/slow.example.net HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: 4000\\r\\n\\r\\n-----BEGIN";
    let (first, secs) = one_request(&s, srv.port, partial, 0.0);
    assert_eq!(first, "HTTP/1.1 408 Request Timeout");
    assert!((0.9..3.0).contains(&secs), "answered after {secs} s");
    assert_eq!(before, store_state(&s));
}

#[test]
fn an_oversize_body_is_answered_413_the_client_reads() {
    if !have_tools() {
        return;
    }
    let (s, srv) = ca_and_server("big", &[]);
    std::fs::write(s.path("big.csr"), "A".repeat(8 << 20)).unwrap();
    let before = store_state(&s);
    let url = srv.url(&format!("{API}/certificate_request/big.example.net"));
    // The whole body sent without waiting (no Expect), by length and chunked, and with
    // Expect: 100-continue (answered before the body is sent).
    for extra in [
        &["-H", "Expect:"][..],
        &["-H", "Expect:", "-H", "Transfer-Encoding: chunked"][..],
        &["-H", "Expect: 100-continue"][..],
    ] {
        let mut args = vec!["-X", "PUT", "--data-binary", "@big.csr"];
        args.extend_from_slice(extra);
        args.push(&url);
        let (code, body) = curl(&s, &args);
        assert_eq!(
            (code, body.as_str()),
            (413, "Request body larger than 65536 bytes."),
            "{extra:?}"
        );
    }
    // A lying Content-Length is answered on the header, before any body.
    let (first, secs) = one_request(
        &s,
        srv.port,
        "PUT /puppet-ca/v1/certificate_request/big.example.net HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Length: 100000000\\r\\n\\r\\n",
        0.0,
    );
    assert_eq!(first, "HTTP/1.1 413 Payload Too Large");
    assert!(secs < 2.0, "{secs}");
    assert_eq!(before, store_state(&s));
}

#[test]
fn head_is_served_wherever_get_is() {
    if !have_curl() {
        return;
    }
    let (s, srv) = ca_and_server("head", &[]);
    for (path, want) in [
        ("/status/v1/simple/ca", 200),
        ("/puppet-ca/v1/certificate/ca", 200),
        ("/puppet-ca/v1/certificate_revocation_list/ca", 200),
        ("/puppet-ca/v1/certificate/nobody.example.net", 404),
        ("/puppet-ca/v1/clean", 404),
    ] {
        let out = Command::new("curl")
            .args(["-s", "-I", "--max-time", "10", "--cacert", "ca/ca_crt.pem"])
            .arg(srv.url(path))
            .current_dir(s.dir.path())
            .output()
            .unwrap();
        let head = String::from_utf8_lossy(&out.stdout);
        assert!(
            head.starts_with(&format!("HTTP/1.1 {want}")),
            "{path}: {head}"
        );
    }
    // The same length a GET gets, and no body.
    let out = Command::new("curl")
        .args(["-s", "-I", "--cacert", "ca/ca_crt.pem"])
        .arg(srv.url("/puppet-ca/v1/certificate/ca"))
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    let ca_len = s.read("ca/ca_crt.pem").len();
    assert!(
        head.contains(&format!("content-length: {ca_len}\r\n")),
        "{head}"
    );
    assert!(head.ends_with("\r\n\r\n"), "a body after HEAD: {head:?}");
    // An unknown route: the same length as its GET.
    let length = |method: &str| {
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{size_download}",
                "-X",
                method,
            ])
            .args(["--cacert", "ca/ca_crt.pem", "-D", "-"])
            .arg(srv.url("/puppet-ca/v1/nothing"))
            .current_dir(s.dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        text.lines()
            .find_map(|l| {
                l.strip_prefix("content-length: ")
                    .map(|v| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let (get, head) = (length("GET"), length("HEAD"));
    assert!(!get.is_empty());
    assert_eq!(get, head);
}

#[test]
fn cert_ttl_outside_one_second_to_the_ca_end_is_400_and_uses_no_serial() {
    if !have_curl() {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "admin.example.net"]).ok();
    let srv = Serve::start(&s, free_port(), "ttl", &["--admin", "admin.example.net"]);
    let admin = admin_args(&s, "admin.example.net");
    std::fs::write(s.path("n.csr"), csr("n.example.net")).unwrap();
    assert_eq!(put_csr(&s, &srv, "n.example.net", "n.csr").0, 200);
    let status = srv.url(&format!("{API}/certificate_status/n.example.net"));
    let before = store_state(&s);
    for ttl in [
        "18446744073709551615",
        "300000000000",
        "3e11",
        "0",
        "-1",
        "1.5",
        "\"3600\"",
        "null",
        "600000000",
    ] {
        let body = format!(r#"{{"desired_state":"signed","cert_ttl":{ttl}}}"#);
        let (code, text) = put_as(&s, &admin, &status, &body);
        assert_eq!(code, 400, "cert_ttl {ttl}: {text}");
        assert!(
            text.starts_with("cert_ttl must be a whole number of seconds from 1 to "),
            "cert_ttl {ttl}: {text}"
        );
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(before, store_state(&s), "cert_ttl {ttl} changed the store");
    }
    // In range: signed for exactly that long (notAfter - now, within a minute).
    let body = r#"{"desired_state":"signed","cert_ttl":3600}"#;
    let (code, text) = put_as(&s, &admin, &status, body);
    assert_eq!(code, 204, "{text}");
    let end = s
        .openssl(&[
            "x509",
            "-in",
            "ca/signed/n.example.net.pem",
            "-noout",
            "-checkend",
            "3540",
        ])
        .code;
    assert_eq!(end, 0, "valid for less than 59 minutes");
    let end = s
        .openssl(&[
            "x509",
            "-in",
            "ca/signed/n.example.net.pem",
            "-noout",
            "-checkend",
            "3660",
        ])
        .code;
    assert_eq!(end, 1, "valid for more than 61 minutes");
}

#[test]
fn refusals_name_no_server_path_and_no_cli_flag() {
    if !have_tools() {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "admin.example.net"]).ok();
    let srv = Serve::start(
        &s,
        free_port(),
        "paths",
        &["--admin", "admin.example.net", "--lock-timeout", "300ms"],
    );
    let admin = admin_args(&s, "admin.example.net");
    let dir = s.dir.path().display().to_string();
    let before = store_state(&s);
    let mut answers = Vec::new();
    // Certnames too long for a file name, or no DNS name: 400 before anything is written.
    for name in [
        "a".repeat(201),
        format!("{}.example.net", "b".repeat(240)),
        format!("{}.example.net", "c".repeat(64)),
        "-lead.example.net".to_owned(),
        "under_score.example.net".to_owned(),
    ] {
        std::fs::write(s.path("x.csr"), csr("x.example.net")).unwrap();
        let (code, body) = put_csr(&s, &srv, &name, "x.csr");
        assert_eq!(code, 400, "{name}: {body}");
        answers.push(body);
    }
    // An alt name the policy does not allow: refused when the admin signs.
    std::fs::write(
        s.path("alt.csr"),
        common::serve::csr_with("alt.example.net", &["evil.example.org"]),
    )
    .unwrap();
    assert_eq!(put_csr(&s, &srv, "alt.example.net", "alt.csr").0, 200);
    let before_sign = store_state(&s);
    let (code, body) = put_as(
        &s,
        &admin,
        &srv.url(&format!("{API}/certificate_status/alt.example.net")),
        r#"{"desired_state":"signed"}"#,
    );
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("evil.example.org"), "{body}");
    assert_eq!(before_sign, store_state(&s));
    answers.push(body);
    // The store lock held by another process (a POSIX record lock, as the store's OFD lock
    // conflicts with): 503, without the lock file's path or --lock-timeout.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'r+'); fcntl.lockf(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)",
        ])
        .arg(s.path("ca/clusterca.lock"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held");
    std::fs::write(s.path("y.csr"), csr("y.example.net")).unwrap();
    let (code, body) = put_csr(&s, &srv, "y.example.net", "y.csr");
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(
        (code, body.as_str()),
        (
            503,
            "The CA is busy: another signer holds its lock. Retry in a moment."
        )
    );
    answers.push(body);
    for a in &answers {
        assert!(!a.contains(&dir), "a server path in {a:?}");
        assert!(
            !a.contains("ca/") && !a.contains(".pem"),
            "a server path in {a:?}"
        );
        assert!(!a.contains("--"), "a CLI flag in {a:?}");
    }
    let after = store_state(&s);
    assert_eq!(
        before.get(&s.path("ca/serial")),
        after.get(&s.path("ca/serial")),
        "a serial was used up"
    );
    assert!(srv.log_text().contains("\"event\":\"busy\""));
}

#[test]
fn autosign_never_mints_an_admin() {
    if !have_curl() {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    std::fs::write(s.path("autosign.conf"), "*.example.net\n").unwrap();
    let autosign = s.path("autosign.conf").display().to_string();
    let srv = Serve::start(
        &s,
        free_port(),
        "autosign",
        &[
            "--autosign",
            &autosign,
            "--admin",
            "boss.example.net",
            "--admin",
            "elsewhere.example.org",
        ],
    );
    // The start warns about the admin the glob covers, and only about it.
    let log = srv.log_text();
    assert!(
        log.contains("the autosign setting file covers admin name boss.example.net"),
        "{log}"
    );
    assert!(!log.contains("elsewhere.example.org;"), "{log}");

    let put = |name: &str, file: &str| put_csr(&s, &srv, name, file);
    // An ordinary name under the glob is autosigned.
    std::fs::write(s.path("a.csr"), csr("agent.example.net")).unwrap();
    assert_eq!(put("agent.example.net", "a.csr").0, 200);
    assert!(s.path("ca/signed/agent.example.net.pem").exists());
    // The admin name: filed, never signed.
    std::fs::write(s.path("boss.csr"), csr("boss.example.net")).unwrap();
    assert_eq!(put("boss.example.net", "boss.csr").0, 200);
    assert!(s.path("ca/requests/boss.example.net.pem").exists());
    assert!(!s.path("ca/signed/boss.example.net.pem").exists());
    // A request for pp_cli_auth under another name: filed, never signed.
    s.ec_csr(
        "cli.key",
        "cli.csr",
        "cli.example.net",
        &["1.3.6.1.4.1.34380.1.3.39=ASN1:UTF8String:true"],
    );
    assert_eq!(put("cli.example.net", "cli.csr").0, 200);
    assert!(!s.path("ca/signed/cli.example.net.pem").exists());
    // So no anonymous client becomes an admin.
    let (code, _) = curl(
        &s,
        &[&srv.url(&format!("{API}/certificate/boss.example.net"))],
    );
    assert_eq!(code, 404);
    let log = srv.log_text();
    assert!(log.contains("an admin name is never autosigned"), "{log}");
    assert!(
        log.contains("a request for pp_cli_auth is never autosigned"),
        "{log}"
    );
}

#[test]
fn autosign_true_warns_for_every_admin() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let srv = Serve::start(
        &s,
        free_port(),
        "autosign-all",
        &["--autosign", "true", "--admin", "boss.example.net"],
    );
    assert!(srv
        .log_text()
        .contains("the autosign setting true covers admin name boss.example.net"));
}

/// Whether `who` can list the certificate statuses now (200), on a new connection.
fn admin_code(s: &Scratch, srv: &Serve, who: &[String]) -> u16 {
    curl(
        s,
        &with(who, &[&srv.url(&format!("{API}/certificate_statuses/any"))]),
    )
    .0
}

#[test]
fn a_revoked_admin_is_refused_within_a_second() {
    if !have_curl() {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "admin.example.net", "second.example.net"])
        .ok();
    let srv = Serve::start(
        &s,
        free_port(),
        "revoke",
        &[
            "--admin",
            "admin.example.net",
            "--admin",
            "second.example.net",
        ],
    );
    let admin = admin_args(&s, "admin.example.net");
    let second = admin_args(&s, "second.example.net");
    assert_eq!(admin_code(&s, &srv, &admin), 200);
    assert_eq!(admin_code(&s, &srv, &second), 200);

    // Through the API, by itself, on one kept-alive connection: the next request is refused.
    let statuses = srv.url(&format!("{API}/certificate_statuses/any"));
    let own = srv.url(&format!("{API}/certificate_status/admin.example.net"));
    let out = Command::new("curl")
        .args([
            "-s",
            "--cacert",
            "ca/ca_crt.pem",
            "-w",
            "%{http_code} %{num_connects}\n",
        ])
        .args(&admin)
        .args([
            "-X",
            "PUT",
            "--data",
            r#"{"desired_state":"revoked"}"#,
            &own,
        ])
        .arg("--next")
        .args([
            "-s",
            "--cacert",
            "ca/ca_crt.pem",
            "-w",
            "%{http_code} %{num_connects}\n",
        ])
        .args(&admin)
        .arg(&statuses)
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"204 1"), "{text}");
    assert!(
        lines.last().is_some_and(|l| l.ends_with("403 0")),
        "the revoked admin's next request on its connection: {text}"
    );
    // And on a new connection: the handshake is refused.
    assert_ne!(admin_code(&s, &srv, &admin), 200);

    // Through the CLI beside the server: refused within a second.
    s.run(&["revoke", "second.example.net"]).ok();
    let t = Instant::now();
    while admin_code(&s, &srv, &second) == 200 {
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "a revoked admin still served after {:?}",
            t.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(srv.log_text().contains("\"event\":\"crl-reloaded\""));
}

/// Pipelined requests whose answers are never read: `n` connections from 127.0.0.1, each
/// sending GETs in a loop without reading; prints, as JSON, the seconds until each connection
/// was cut off (or null when it never was, within `limit` seconds).
const NEVER_READS: &str = r#"
import json, socket, ssl, sys, threading, time
port, n, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
cut = [None] * n
def one(i):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.settimeout(limit)
    req = b"GET /puppet-ca/v1/certificate/ca HTTP/1.1\r\nHost: localhost\r\n\r\n" * 50
    t = time.time()
    try:
        while time.time() - t < limit:
            s.sendall(req)
    except Exception:
        cut[i] = time.time() - t
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(cut), flush=True)
"#;

#[test]
fn a_client_that_never_reads_its_answers_is_cut_off() {
    if !have_tools() {
        return;
    }
    let (s, srv) = ca_and_server(
        "never-reads",
        &[
            "--request-timeout",
            "2s",
            "--max-connections",
            "4",
            "--max-connections-per-address",
            "0",
        ],
    );
    std::fs::write(s.path("never.py"), NEVER_READS).unwrap();
    // Four such clients take every slot; each is cut off once its writes stall 2 s.
    let out = Command::new("python3")
        .arg(s.path("never.py"))
        .args([&srv.port.to_string(), "4", "30"])
        .output()
        .unwrap();
    let cut: Vec<Option<f64>> = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!("{}", String::from_utf8_lossy(&out.stderr));
    });
    for c in &cut {
        let secs = c.expect("a client that never reads kept its connection for 30 s");
        assert!(secs < 15.0, "cut off after {secs} s");
    }
    // And the slots are free again.
    assert_eq!(
        curl(&s, &[&srv.url("/status/v1/simple/ca")]),
        (200, "running".into())
    );
}

/// A CSR (P-256, made in-process) whose subject CN is `cn`, any text, and no alt names.
fn csr_cn(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

#[test]
fn client_text_in_a_refusal_is_escaped_and_cut_to_80_bytes() {
    if !have_curl() {
        return;
    }
    let (s, srv) = ca_and_server("echo", &[]);
    let evil = format!("x\u{202e}evil\n\u{1b}[31mRED{}", "A".repeat(300));
    std::fs::write(s.path("evil.csr"), csr_cn(&evil)).unwrap();
    let (code, body) = put_csr(&s, &srv, "victim.example.net", "evil.csr");
    assert_eq!(code, 400, "{body}");
    assert!(
        body.starts_with("Instance name \"x\\u{202e}evil\\n\\u{1b}[31mRED"),
        "{body}"
    );
    assert!(
        !body.contains('\u{202e}') && !body.contains('\n') && !body.contains('\u{1b}'),
        "{body:?}"
    );
    assert!(body.len() < 250, "{} bytes: {body}", body.len());
    // A 60,000-byte certname to clean, a 6,000-byte one in a path: short answers.
    let long = format!(r#"{{"certnames":["{}"]}}"#, "a".repeat(60_000));
    std::fs::write(s.path("clean.json"), long).unwrap();
    s.run(&["issue", "admin.example.net"]).ok();
    let admin = admin_args(&s, "admin.example.net");
    drop(srv);
    let srv2 = Serve::start(&s, free_port(), "echo2", &["--admin", "admin.example.net"]);
    let (code, body) = curl(
        &s,
        &with(
            &admin,
            &[
                "-X",
                "PUT",
                "--data-binary",
                "@clean.json",
                &srv2.url(&format!("{API}/clean")),
            ],
        ),
    );
    assert_eq!(code, 400, "{}", &body[..body.len().min(200)]);
    assert!(body.len() < 250, "{} bytes", body.len());
    let path = format!("{API}/certificate/{}b", "a.".repeat(3000));
    let (code, body) = curl(&s, &[&srv2.url(&path)]);
    assert_eq!(code, 400);
    assert!(body.len() < 250, "{} bytes", body.len());
    // Nothing to clean.
    let (code, body) = put_as(
        &s,
        &admin,
        &srv2.url(&format!("{API}/clean")),
        r#"{"certnames":[]}"#,
    );
    assert_eq!(
        (code, body.as_str()),
        (400, "No certnames to clean were given.")
    );
    // A body that is JSON but no object.
    let status = srv2.url(&format!("{API}/certificate_status/victim.example.net"));
    let (code, body) = put_as(&s, &admin, &status, r#"["signed", 3600]"#);
    assert_eq!(
        (code, body.as_str()),
        (400, "The request body must be a JSON object.")
    );
}

#[test]
fn a_crl_grown_past_its_limit_is_not_read_and_the_one_in_use_stays() {
    if !have_curl() {
        return;
    }
    let (s, srv) = ca_and_server("big-crl", &[]);
    let crl = s.read("ca/ca_crl.pem");
    let mut big = crl.clone().into_bytes();
    big.resize(big.len() + (65 << 20), b'A');
    std::fs::write(s.path("ca/crl.tmp"), &big).unwrap();
    std::fs::rename(s.path("ca/crl.tmp"), s.path("ca/ca_crl.pem")).unwrap();
    srv.wait_for_log("\"event\":\"crl-error\"", Duration::from_secs(3));
    assert!(srv.log_text().contains("larger than"), "{}", srv.log_text());
    let t = Instant::now();
    let (code, body) = curl(
        &s,
        &[&srv.url(&format!("{API}/certificate_revocation_list/ca"))],
    );
    assert_eq!((code, body.as_str()), (200, crl.as_str()));
    assert!(t.elapsed() < Duration::from_secs(2));
    // Logged once, not at every look.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(srv.log_text().matches("crl-error").count(), 1);
    // A CRL this CA did not sign (another CA's, even under the same name), or more CRLs than
    // the bundle has certificates: refused, the one in use stays.
    let other = Scratch::new();
    other.run(&["init"]).ok();
    let many = crl.repeat(5);
    for (tag, text, needle) in [
        (
            "other",
            other.read("ca/ca_crl.pem"),
            "not signed by this CA",
        ),
        ("many", many, "more than the 1 certificates"),
    ] {
        let tmp = s.path(&format!("ca/{tag}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, s.path("ca/ca_crl.pem")).unwrap();
        srv.wait_for_log(needle, Duration::from_secs(3));
        let (code, body) = curl(
            &s,
            &[&srv.url(&format!("{API}/certificate_revocation_list/ca"))],
        );
        assert_eq!((code, body.as_str()), (200, crl.as_str()), "{tag}");
    }
    assert!(!srv.log_text().contains("crl-reloaded"));
}

/// Sends one raw request (Python string escapes allowed) over TLS and prints the answer.
const RAW_REQUEST: &str = r#"
import socket, ssl, sys
port, request = int(sys.argv[1]), sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.sendall(request)
s.settimeout(10)
answer = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    answer += chunk
sys.stdout.buffer.write(answer)
"#;

#[test]
fn a_path_is_repeated_escaped_and_cut() {
    if !have_tools() {
        return;
    }
    let (s, srv) = ca_and_server("paths", &[]);
    std::fs::write(s.path("raw.py"), RAW_REQUEST).unwrap();
    // Raw UTF-8 in the request line: U+202E, and U+009B (a one-byte CSI).
    let evil = r"\xe2\x80\xae".repeat(2000);
    for path in [
        format!(r"/puppet-ca/v1/nosuch/\xc2\x9b2J{evil}"),
        format!("/elsewhere/{evil}"),
        format!("/puppet-ca/v1/certificate_statuses/{evil}"),
    ] {
        let request =
            format!(r"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let out = Command::new("python3")
            .arg(s.path("raw.py"))
            .args([&srv.port.to_string(), &request])
            .output()
            .unwrap();
        let answer = String::from_utf8_lossy(&out.stdout);
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        assert!(
            answer.starts_with("HTTP/1.1 404") || answer.starts_with("HTTP/1.1 403"),
            "{}",
            &answer[..answer.len().min(300)]
        );
        assert!(body.len() < 250, "{} bytes", body.len());
        assert!(
            !body.contains('\u{202e}') && !body.contains('\u{9b}'),
            "{body}"
        );
    }
    let log = srv.log_text();
    assert!(!log.contains('\u{202e}') && !log.contains('\u{9b}'));
    assert!(log.lines().all(|l| l.len() < 1000), "a long log line");
}

#[test]
fn a_burst_from_one_address_waits_for_its_slots() {
    if !have_curl() {
        return;
    }
    // 16 clients at once from one address with 4 slots (and room for 16 waiting): all
    // served, 4 at a time.
    let (s, srv) = ca_and_server("burst", &["--max-connections-per-address", "4"]);
    let children: Vec<_> = (0..16)
        .map(|_| {
            Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
                .arg("ca/ca_crt.pem")
                .arg(srv.url(&format!("{API}/certificate/ca")))
                .current_dir(s.dir.path())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    }
}
