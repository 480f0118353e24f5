//! A real Puppet agent (Debian's puppet-agent) against `clusterca serve` on loopback: it
//! bootstraps with autosign, waits for an admin without it, verifies its certificate, and after
//! a revoke through the API downloads a CRL listing its serial (and says it is revoked).
//! Needs `apt-get install puppet-agent curl`.

mod common;

use common::serve::{curl, free_port, have_curl, Serve};
use common::Scratch;

/// `puppet ssl ACTION` for `certname`, with its own confdir and ssldir, against `port`.
fn agent(s: &Scratch, port: u16, certname: &str, action: &str) -> common::Run {
    let base = s.path(&format!("agents/{certname}"));
    std::fs::create_dir_all(&base).unwrap();
    let p = port.to_string();
    let dir = |sub: &str| base.join(sub).display().to_string();
    let out = std::process::Command::new("puppet")
        .args([
            "ssl",
            action,
            "--certname",
            certname,
            "--server",
            "localhost",
        ])
        .args([
            "--ca_server",
            "localhost",
            "--ca_port",
            &p,
            "--serverport",
            &p,
        ])
        .args([
            "--confdir",
            &dir(""),
            "--ssldir",
            &dir("ssl"),
            "--vardir",
            &dir("var"),
        ])
        .args([
            "--logdir",
            &dir("log"),
            "--rundir",
            &dir("run"),
            "--waitforcert",
            "0",
        ])
        .output()
        .expect("run puppet ssl");
    common::finish(out)
}

#[test]
fn a_real_agent_bootstraps_waits_for_an_admin_and_sees_its_revocation() {
    if !(common::have_program("puppet", "puppet-agent") && have_curl()) {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "admin.example.net"]).ok();
    std::fs::write(
        s.path("autosign.conf"),
        "# lab agents\n*.auto.example.net\n",
    )
    .unwrap();
    let autosign = s.path("autosign.conf").display().to_string();
    let port = free_port();
    let srv = Serve::start(
        &s,
        port,
        "agent",
        &[
            "--alt-name",
            "localhost",
            "--autosign",
            &autosign,
            "--admin",
            "admin.example.net",
        ],
    );

    // Autosigned by the glob.
    let auto = agent(&s, port, "node1.auto.example.net", "bootstrap");
    assert_eq!(auto.code, 0, "{}{}", auto.stdout, auto.stderr);
    assert!(s
        .path("agents/node1.auto.example.net/ssl/certs/node1.auto.example.net.pem")
        .exists());
    let v = agent(&s, port, "node1.auto.example.net", "verify");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);

    // Not autosigned: the agent gives up (waitforcert 0); an admin signs through the API.
    let name = "node2.example.net";
    let first = agent(&s, port, name, "bootstrap");
    assert_eq!(first.code, 1, "{}{}", first.stdout, first.stderr);
    assert!(s.path(&format!("ca/requests/{name}.pem")).exists());
    let admin = [
        "--cert",
        "admin.example.net.pem",
        "--key",
        "admin.example.net.key.pem",
        "-X",
        "PUT",
        "--data",
    ];
    let status = srv.url(&format!("/puppet-ca/v1/certificate_status/{name}"));
    let mut sign = admin.to_vec();
    sign.extend_from_slice(&[r#"{"desired_state":"signed"}"#, &status]);
    assert_eq!(curl(&s, &sign).0, 204);
    let second = agent(&s, port, name, "bootstrap");
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    let v = agent(&s, port, name, "verify");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let cert = format!("agents/{name}/ssl/certs/{name}.pem");
    assert_eq!(s.read(&cert), s.read(&format!("ca/signed/{name}.pem")));

    // Revoked through the API: the CRL the agent downloads lists its serial.
    let mut revoke = admin.to_vec();
    revoke.extend_from_slice(&[r#"{"desired_state":"revoked"}"#, &status]);
    assert_eq!(curl(&s, &revoke).0, 204);
    std::fs::remove_file(s.path(&format!("agents/{name}/ssl/crl.pem"))).unwrap();
    let after = agent(&s, port, name, "bootstrap");
    assert_ne!(after.code, 0);
    assert!(
        format!("{}{}", after.stdout, after.stderr).contains("is revoked"),
        "{}{}",
        after.stdout,
        after.stderr
    );
    let serial = s
        .openssl(&["x509", "-in", &cert, "-noout", "-serial"])
        .ok()
        .stdout
        .trim()
        .trim_start_matches("serial=")
        .to_owned();
    let crl = s
        .openssl(&[
            "crl",
            "-in",
            &format!("agents/{name}/ssl/crl.pem"),
            "-noout",
            "-text",
        ])
        .ok()
        .stdout;
    assert!(
        crl.contains(&format!("Serial Number: {serial}")),
        "{serial} not in\n{crl}"
    );
}

#[test]
fn a_real_agent_bootstrapped_before_a_ca_renewal_keeps_working_after_it() {
    if !(common::have_program("puppet", "puppet-agent") && have_curl()) {
        return;
    }
    let s = Scratch::new();
    s.run(&["init", "--ttl", "1y"]).ok();
    let name = "node1.example.net";
    let start = |tag: &str| {
        let port = free_port();
        let srv = Serve::start(
            &s,
            port,
            tag,
            &["--alt-name", "localhost", "--autosign", "true"],
        );
        (srv, port)
    };
    let (srv, port) = start("before");
    let boot = agent(&s, port, name, "bootstrap");
    assert_eq!(boot.code, 0, "{}{}", boot.stdout, boot.stderr);
    drop(srv);
    let old_ca = s.read(&format!("agents/{name}/ssl/certs/ca.pem"));

    s.run(&["renew", "--ca", "--ttl", "15y"]).ok();
    // serve's own certificate is issued again, under the renewed CA certificate.
    s.run(&["clean", "localhost"]).ok();
    std::fs::remove_dir_all(s.path("ca/serve")).unwrap();
    let (_srv, port) = start("after");
    // With the old CA certificate: its certificate verifies, and a fresh TLS connection to the
    // server (to fetch the re-signed CRL) trusts the server's new certificate.
    let v = agent(&s, port, name, "verify");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    std::fs::remove_file(s.path(&format!("agents/{name}/ssl/crl.pem"))).unwrap();
    let again = agent(&s, port, name, "bootstrap");
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert_eq!(s.read(&format!("agents/{name}/ssl/certs/ca.pem")), old_ca);
    assert_eq!(
        s.read(&format!("agents/{name}/ssl/crl.pem")),
        s.read("ca/ca_crl.pem")
    );
    // After downloading the new CA certificate (the renewed one first, the old one after).
    std::fs::remove_file(s.path(&format!("agents/{name}/ssl/certs/ca.pem"))).unwrap();
    std::fs::remove_file(s.path(&format!("agents/{name}/ssl/crl.pem"))).unwrap();
    let fresh = agent(&s, port, name, "bootstrap");
    assert_eq!(fresh.code, 0, "{}{}", fresh.stdout, fresh.stderr);
    assert_eq!(
        s.read(&format!("agents/{name}/ssl/certs/ca.pem")),
        s.read("ca/ca_crt.pem")
    );
    let v = agent(&s, port, name, "verify");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    // The new CA certificate alone verifies what was issued before the renewal.
    s.openssl(&["x509", "-in", "ca/ca_crt.pem", "-out", "new_ca.pem"])
        .ok();
    s.openssl(&[
        "verify",
        "-CAfile",
        "new_ca.pem",
        &format!("agents/{name}/ssl/certs/{name}.pem"),
    ])
    .ok();
}
