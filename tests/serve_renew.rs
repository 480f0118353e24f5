//! `serve`'s side of the lifecycle: Puppet's certificate renewal endpoint, the CRL signed again
//! before its nextUpdate, and expired certificates as Puppet's API reports them.

mod common;

use std::time::Duration;

use common::serve::{admin_args, ca_and_server, curl, free_port, have_curl, with, Serve};
use common::Scratch;

const RENEW: &str = "/puppet-ca/v1/certificate_renewal";

fn post(s: &Scratch, srv: &Serve, who: &[String]) -> (u16, String) {
    curl(
        s,
        &with(
            who,
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: text/plain",
                "--data",
                "",
                &srv.url(RENEW),
            ],
        ),
    )
}

fn field(s: &Scratch, cert: &str, arg: &str) -> String {
    s.openssl(&["x509", "-in", cert, "-noout", arg]).ok().stdout
}

#[test]
fn certificate_renewal_is_off_by_default() {
    if !have_curl() {
        return;
    }
    let (s, srv) = ca_and_server("renew-off", &[]);
    s.run(&["issue", "agent1.example.net"]).ok();
    let (code, body) = post(&s, &srv, &admin_args(&s, "agent1.example.net"));
    assert_eq!((code, body.as_str()), (404, "Not Found"));
}

#[test]
fn a_client_gets_its_own_certificate_renewed_with_the_same_key() {
    if !have_curl() {
        return;
    }
    let (s, srv) = ca_and_server(
        "renew-on",
        &["--allow-auto-renewal", "--auto-renewal-ttl", "30d"],
    );
    s.run(&["issue", "agent1.example.net", "--alt-name", "agent1"])
        .ok();
    let me = admin_args(&s, "agent1.example.net");
    let (code, body) = post(&s, &srv, &me);
    assert_eq!(code, 200, "{body}");
    std::fs::write(s.path("renewed.pem"), &body).unwrap();
    s.verify("renewed.pem", "-verify_hostname", "agent1").ok();
    assert_eq!(
        field(&s, "renewed.pem", "-pubkey"),
        field(&s, "agent1.example.net.pem", "-pubkey")
    );
    // serve's own certificate is 2, agent1 3.
    assert_eq!(field(&s, "renewed.pem", "-serial").trim(), "serial=04");
    // --auto-renewal-ttl: 30 days, not 31.
    s.openssl(&[
        "x509",
        "-in",
        "renewed.pem",
        "-noout",
        "-checkend",
        &(29 * 86_400).to_string(),
    ])
    .ok();
    assert_ne!(
        s.openssl(&[
            "x509",
            "-in",
            "renewed.pem",
            "-noout",
            "-checkend",
            &(31 * 86_400).to_string()
        ])
        .code,
        0
    );
    // Recorded as any signing: the CA's copy, the inventory, the log.
    assert_eq!(s.read("ca/signed/agent1.example.net.pem"), body);
    assert!(s.read("ca/inventory.txt").contains("0x0004 "));
    srv.wait_for_log("\"event\":\"renewed\"", Duration::from_secs(5));
    assert!(
        srv.log_text().contains("\"old_serial\":3"),
        "{}",
        srv.log_text()
    );
    // Found by review: an older certificate of the name (still valid, as a renewal leaves
    // it) renewed again, over the current one. Only the current certificate is renewed,
    // once: the old one is refused, nothing is signed.
    let (code, again) = post(&s, &srv, &me);
    assert_eq!(code, 403, "{again}");
    assert!(again.contains("not the current certificate"), "{again}");
    assert_eq!(s.read("ca/signed/agent1.example.net.pem"), body);
    // The renewed one renews in turn.
    std::fs::write(
        s.path("renewed.key.pem"),
        s.read("agent1.example.net.key.pem"),
    )
    .unwrap();
    let (code, third) = post(&s, &srv, &admin_args(&s, "renewed"));
    assert_eq!(code, 200, "{third}");
    std::fs::write(s.path("third.pem"), &third).unwrap();
    assert!(field(&s, "third.pem", "-subject").contains("agent1.example.net"));
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
}

#[test]
fn certificate_renewal_refuses_no_certificate_a_revoked_one_and_another_cas() {
    if !have_curl() {
        return;
    }
    let (s, srv) = ca_and_server("renew-refused", &["--allow-auto-renewal"]);
    s.run(&["issue", "agent1.example.net", "agent2.example.net"])
        .ok();
    let (code, body) = post(&s, &srv, &[]);
    assert_eq!(
        (code, body.as_str()),
        (403, "No valid certificate found in renewal request")
    );
    // Revoked: refused at the handshake (a new connection) by the CRL the server follows.
    s.run(&["revoke", "agent2.example.net"]).ok();
    std::thread::sleep(Duration::from_millis(600));
    let (code, _) = post(&s, &srv, &admin_args(&s, "agent2.example.net"));
    assert!(code == 0 || code == 403, "a revoked client got {code}");
    // Another CA's certificate: the handshake refuses it.
    let other = Scratch::new();
    other.run(&["init"]).ok();
    other.run(&["issue", "agent1.example.net"]).ok();
    let foreign = vec![
        "--cert".to_owned(),
        other.path("agent1.example.net.pem").display().to_string(),
        "--key".to_owned(),
        other
            .path("agent1.example.net.key.pem")
            .display()
            .to_string(),
    ];
    let (code, _) = post(&s, &srv, &foreign);
    assert_eq!(
        code, 0,
        "another CA's client certificate got through the handshake"
    );
    // Nothing was signed for any of them.
    assert_eq!(s.read("ca/serial").trim(), "0005");
}

#[test]
fn serve_signs_its_crl_again_before_next_update_and_reports_expired_as_signed() {
    if !have_curl() {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "admin.example.net"]).ok();
    s.run(&["issue", "short.example.net", "--ttl", "1s"]).ok();
    s.run(&["crl", "--next-update", "1h"]).ok();
    let number = |s: &Scratch| {
        s.openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-crlnumber"])
            .ok()
            .stdout
    };
    let before = number(&s);
    let srv = Serve::start(
        &s,
        free_port(),
        "crl-refresh",
        &[
            "--next-update",
            "2d",
            "--crl-refresh",
            "2h",
            "--admin",
            "admin.example.net",
        ],
    );
    srv.wait_for_log("\"event\":\"crl-refreshed\"", Duration::from_secs(10));
    assert_ne!(number(&s), before);
    // Signed for --next-update, and served as such.
    let (code, crl) = curl(
        &s,
        &[&srv.url("/puppet-ca/v1/certificate_revocation_list/ca")],
    );
    assert_eq!(code, 200);
    std::fs::write(s.path("served.pem"), crl).unwrap();
    s.openssl(&["crl", "-in", "served.pem", "-noout"]).ok();
    let next = s
        .openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-nextupdate"])
        .ok()
        .stdout;
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][usize::from(u8::from(tomorrow.month())) - 1];
    assert!(
        next.contains(month) && next.contains(&format!(" {} ", tomorrow.day())),
        "{next}"
    );
    // Once, not over and over: it is no longer due.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(srv.log_text().matches("crl-refreshed").count(), 1);
    // Puppet's API says `signed` for an expired certificate (clusterca's list: `expired`).
    let (code, body) = curl(
        &s,
        &with(
            &admin_args(&s, "admin.example.net"),
            &[&srv.url("/puppet-ca/v1/certificate_status/short.example.net")],
        ),
    );
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["state"], "signed");
    assert!(status.get("seconds_left").is_none(), "{body}");
}

#[test]
fn a_crl_refresh_margin_past_the_lifetime_is_refused() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let run = s.run(&["serve", "--next-update", "1d", "--crl-refresh", "2d"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--crl-refresh 2d"), "{}", run.stderr);
}
