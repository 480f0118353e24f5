//! `clusterca verify FILE --name N [--ca FILE] [--crl [FILE]]`: what a TLS client of each
//! name would accept, with `openssl verify` asked the same question for every case.

mod common;

use common::Scratch;

/// `openssl verify` of `cert` against the CA bundle for `name` (a DNS name or an IP), with
/// the CA's CRL when `crl`: true when it accepts.
fn openssl_accepts(s: &Scratch, ca: &str, cert: &str, name: &str, crl: Option<&str>) -> bool {
    let host_flag = if name.parse::<std::net::IpAddr>().is_ok() {
        "-verify_ip"
    } else {
        "-verify_hostname"
    };
    let mut args = vec!["verify", "-CAfile", ca, host_flag, name];
    if let Some(crl) = crl {
        args.extend(["-crl_check", "-CRLfile", crl]);
    }
    args.push(cert);
    s.openssl(&args).code == 0
}

#[test]
fn verify_agrees_with_openssl_on_chain_name_time_and_revocation() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&[
        "issue",
        "web1.example.net",
        "web2.example.net",
        "--alt-name",
        "www.example.net,IP:192.0.2.10",
        "--out",
        "pki",
    ])
    .ok();
    s.run(&["init", "--dir", "other"]).ok();
    s.run(&[
        "issue",
        "web1.example.net",
        "--dir",
        "other",
        "--out",
        "foreign",
    ])
    .ok();
    s.run(&["revoke", "web2.example.net"]).ok();

    // (file, name, --crl, accepted)
    let cases: &[(&str, &str, bool, bool)] = &[
        ("pki/web1.example.net.pem", "www.example.net", false, true),
        ("pki/web1.example.net.pem", "web1.example.net", true, true),
        ("pki/web1.example.net.pem", "192.0.2.10", true, true),
        // Not a name it carries; a near miss of the IP.
        ("pki/web1.example.net.pem", "web2.example.net", false, false),
        ("pki/web1.example.net.pem", "192.0.2.11", false, false),
        // Revoked: fine without the CRL, refused with it.
        ("pki/web2.example.net.pem", "www.example.net", false, true),
        ("pki/web2.example.net.pem", "www.example.net", true, false),
        // Another CA's.
        (
            "foreign/web1.example.net.pem",
            "web1.example.net",
            false,
            false,
        ),
    ];
    for &(file, name, crl, accepted) in cases {
        let mut args = vec!["verify", file, "--name", name];
        if crl {
            args.push("--crl");
        }
        let run = s.run(&args);
        assert_eq!(
            run.code,
            if accepted { 0 } else { 1 },
            "{args:?}: {}{}",
            run.stdout,
            run.stderr
        );
        assert_eq!(
            openssl_accepts(
                &s,
                "ca/ca_crt.pem",
                file,
                name,
                crl.then_some("ca/ca_crl.pem")
            ),
            accepted,
            "openssl disagrees on {args:?}"
        );
        let word = if accepted {
            ": OK for "
        } else {
            ": FAILED for "
        };
        assert!(run.stdout.contains(word), "{args:?}: {}", run.stdout);
    }
    // The reasons say what failed.
    let revoked = s.run(&[
        "verify",
        "pki/web2.example.net.pem",
        "--name",
        "www.example.net",
        "--crl",
    ]);
    assert!(
        revoked.stdout.to_lowercase().contains("revoked"),
        "{}",
        revoked.stdout
    );
    let wrong = s.run(&[
        "verify",
        "pki/web1.example.net.pem",
        "--name",
        "web2.example.net",
    ]);
    assert!(
        wrong.stdout.contains("not valid for name"),
        "{}",
        wrong.stdout
    );

    // Several names: every one must verify; each is reported.
    let run = s.run(&[
        "verify",
        "pki/web1.example.net.pem",
        "--name",
        "www.example.net",
        "--name",
        "nope.example.net",
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);

    // --ca and --crl files instead of the CA directory; standard input.
    let run = s.run(&[
        "verify",
        "foreign/web1.example.net.pem",
        "--name",
        "web1.example.net",
        "--ca",
        "other/ca_crt.pem",
        "--crl",
        "other/ca_crl.pem",
        "--dir",
        "nowhere",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let out = s
        .cmd(&["verify", "-", "--name", "www.example.net"])
        .stdin(std::fs::File::open(s.path("pki/web1.example.net.pem")).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("-: OK for"));
}

#[test]
fn verify_checks_time_and_follows_a_chain() {
    let s = Scratch::new();
    s.run(&["init", "--chain", "--root-key-out", "root.pem"])
        .ok();
    s.run(&["issue", "short.example.net", "--ttl", "1s", "--out", "pki"])
        .ok();
    s.run(&["issue", "long.example.net", "--out", "pki"]).ok();
    // The intermediate CA signed it; the bundle holds intermediate and root.
    let run = s.run(&[
        "verify",
        "pki/long.example.net.pem",
        "--name",
        "long.example.net",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(openssl_accepts(
        &s,
        "ca/ca_crt.pem",
        "pki/long.example.net.pem",
        "long.example.net",
        None
    ));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let run = s.run(&[
        "verify",
        "pki/short.example.net.pem",
        "--name",
        "short.example.net",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("expired"), "{}", run.stdout);
    assert!(!openssl_accepts(
        &s,
        "ca/ca_crt.pem",
        "pki/short.example.net.pem",
        "short.example.net",
        None
    ));
}

#[test]
fn verify_refuses_bad_input_with_exit_2() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    std::fs::write(s.path("junk.pem"), "not a certificate\n").unwrap();
    for (args, says) in [
        (
            &["verify", "missing.pem", "--name", "a.example.net"][..],
            "missing.pem",
        ),
        (
            &["verify", "junk.pem", "--name", "a.example.net"][..],
            "junk.pem",
        ),
        (
            &["verify", "ca/ca_crt.pem", "--name", "bad name!"][..],
            "bad name!",
        ),
        (
            &[
                "verify",
                "ca/ca_crt.pem",
                "--name",
                "a.example.net",
                "--crl",
                "junk.pem",
            ][..],
            "junk.pem",
        ),
    ] {
        let run = s.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    // --name is required.
    assert_eq!(s.run(&["verify", "ca/ca_crt.pem"]).code, 2);
}

/// What a hostile review found `verify` accepting that OpenSSL refuses; each case first
/// failed, and `openssl verify` is asked the same question.
#[test]
fn verify_refuses_what_openssl_clients_refuse() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "rev.example.net", "--out", "pki"]).ok();

    // An older and a newer CRL of the same CA, the older first: the newer decides.
    std::fs::copy(s.path("ca/ca_crl.pem"), s.path("crl_old.pem")).unwrap();
    // A second apart, so that openssl too can tell the newer by its thisUpdate (it does not
    // compare CRL numbers).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    s.run(&["revoke", "rev.example.net"]).ok();
    let both = s.read("crl_old.pem") + &s.read("ca/ca_crl.pem");
    std::fs::write(s.path("both.pem"), both).unwrap();
    let run = s.run(&[
        "verify",
        "pki/rev.example.net.pem",
        "--name",
        "rev.example.net",
        "--crl",
        "both.pem",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(!openssl_accepts(
        &s,
        "ca/ca_crt.pem",
        "pki/rev.example.net.pem",
        "rev.example.net",
        Some("both.pem")
    ));

    // A CA certificate that has expired, with a current leaf under it.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Expired CA");
    ca.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    ca.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec!["l.example.net".to_owned()]).unwrap();
    leaf.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    leaf.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    std::fs::write(s.path("expired_ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(s.path("under_expired.pem"), leaf_cert.pem()).unwrap();
    let run = s.run(&[
        "verify",
        "under_expired.pem",
        "--name",
        "l.example.net",
        "--ca",
        "expired_ca.pem",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("Expired CA") && run.stdout.contains("not valid now"),
        "{}",
        run.stdout
    );
    assert!(!openssl_accepts(
        &s,
        "expired_ca.pem",
        "under_expired.pem",
        "l.example.net",
        None
    ));

    // A leaf whose keyUsage allows only certificate signing.
    s.openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "ku.key",
    ])
    .ok();
    s.openssl(&[
        "req",
        "-new",
        "-key",
        "ku.key",
        "-subj",
        "/CN=ku.example.net",
        "-out",
        "ku.csr",
    ])
    .ok();
    std::fs::write(
        s.path("ku.ext"),
        "subjectAltName=DNS:ku.example.net\nkeyUsage=critical,keyCertSign\n",
    )
    .unwrap();
    s.openssl(&[
        "x509",
        "-req",
        "-in",
        "ku.csr",
        "-CA",
        "ca/ca_crt.pem",
        "-CAkey",
        "ca/ca_key.pem",
        "-set_serial",
        "99",
        "-days",
        "30",
        "-extfile",
        "ku.ext",
        "-out",
        "ku.pem",
    ])
    .ok();
    let run = s.run(&["verify", "ku.pem", "--name", "ku.example.net"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("keyUsage"), "{}", run.stdout);
    let purpose = s.openssl(&[
        "verify",
        "-CAfile",
        "ca/ca_crt.pem",
        "-purpose",
        "sslserver",
        "-verify_hostname",
        "ku.example.net",
        "ku.pem",
    ]);
    assert_ne!(purpose.code, 0);

    // After `renew --ca` the bundle holds the old, still current certificate and the new
    // one: a leaf verifies, the anchor check finds a current CA certificate of its name.
    s.run(&["issue", "after.example.net", "--out", "pki"]).ok();
    s.run(&["renew", "--ca"]).ok();
    let run = s.run(&[
        "verify",
        "pki/after.example.net.pem",
        "--name",
        "after.example.net",
        "--crl",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}
