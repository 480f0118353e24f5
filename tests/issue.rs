//! What `init` and `issue` make, checked by the real `openssl` CLI and by parsing the real
//! `serial` and `inventory.txt` bytes.

mod common;

use common::Scratch;

fn init(s: &Scratch) {
    s.run(&["init", "--ca-name", "Puppet CA: test.example.net"])
        .ok();
}

/// The public key of a certificate and of a key file, as openssl prints them.
/// Whether the tests run as root (`id -u` is 0).
fn pubkeys(s: &Scratch, cert: &str, key: &str) -> (String, String) {
    let c = s.openssl(&["x509", "-in", cert, "-noout", "-pubkey"]).ok();
    let k = s.openssl(&["pkey", "-in", key, "-pubout"]).ok();
    (c.stdout, k.stdout)
}

#[test]
fn shared_certificate_verifies_for_the_generic_name_with_openssl() {
    let s = Scratch::new();
    init(&s);
    let out = s
        .run(&[
            "issue",
            "puppet.example.net",
            "--alt-name",
            "puppet",
            "--alt-name",
            "IP:192.0.2.10,IP:2001:db8::1",
        ])
        .ok();
    assert!(
        out.stdout
            .contains("issued puppet.example.net serial 0x0002"),
        "{}",
        out.stdout
    );

    for host in ["puppet.example.net", "puppet"] {
        let v = s.verify("puppet.example.net.pem", "-verify_hostname", host);
        assert_eq!(v.code, 0, "verify {host}: {}{}", v.stdout, v.stderr);
    }
    let v = s.verify("puppet.example.net.pem", "-verify_ip", "192.0.2.10");
    assert_eq!(v.code, 0, "verify_ip: {}{}", v.stdout, v.stderr);
    // The check is real: a name the cert does not carry fails.
    let v = s.verify(
        "puppet.example.net.pem",
        "-verify_hostname",
        "other.example.net",
    );
    assert_ne!(v.code, 0, "a foreign hostname verified");

    let text = s.x509_text("puppet.example.net.pem");
    for want in [
        "DNS:puppet, DNS:puppet.example.net, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:1",
        "TLS Web Server Authentication, TLS Web Client Authentication",
        "CA:FALSE",
        "Subject: CN = puppet.example.net",
        "Issuer: CN = Puppet CA: test.example.net",
        "Serial Number: 2 (0x2)",
        "X509v3 Authority Key Identifier",
        "X509v3 Subject Key Identifier",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let (cert_pub, key_pub) = pubkeys(&s, "puppet.example.net.pem", "puppet.example.net.key.pem");
    assert_eq!(cert_pub, key_pub, "key does not match certificate");
    assert_eq!(s.mode("puppet.example.net.key.pem"), 0o600);
    assert_eq!(s.mode("puppet.example.net.pem"), 0o644);
    assert_eq!(
        s.read("ca/signed/puppet.example.net.pem"),
        s.read("puppet.example.net.pem")
    );
}

#[test]
fn per_node_certificates_all_carry_the_shared_name() {
    let s = Scratch::new();
    init(&s);
    std::fs::create_dir(s.path("out")).unwrap();
    s.run(&[
        "issue",
        "proxy01.example.net",
        "proxy02.example.net",
        "--alt-name",
        "smartproxy.example.net",
        "--out",
        "out",
    ])
    .ok();
    for node in ["proxy01.example.net", "proxy02.example.net"] {
        let cert = format!("out/{node}.pem");
        for host in [node, "smartproxy.example.net"] {
            let v = s.verify(&cert, "-verify_hostname", host);
            assert_eq!(v.code, 0, "{node} for {host}: {}{}", v.stdout, v.stderr);
        }
        let (c, k) = pubkeys(&s, &cert, &format!("out/{node}.key.pem"));
        assert_eq!(c, k, "{node}: key does not match");
    }
    // Each node's cert is its own: proxy01's does not verify for proxy02.
    let v = s.verify(
        "out/proxy01.example.net.pem",
        "-verify_hostname",
        "proxy02.example.net",
    );
    assert_ne!(v.code, 0);
}

#[test]
fn every_key_type_issues_certificates_openssl_accepts() {
    for ca_type in ["ec-p256", "ec-p384", "ed25519"] {
        let s = Scratch::new();
        s.run(&["init", "--key-type", ca_type]).ok();
        for leaf_type in ["ec-p256", "ec-p384", "ed25519"] {
            let name = format!("{leaf_type}.example.net");
            s.run(&["issue", &name, "--key-type", leaf_type, "--ttl", "30d"])
                .ok();
            let cert = format!("{name}.pem");
            let v = s.verify(&cert, "-verify_hostname", &name);
            assert_eq!(
                v.code, 0,
                "CA {ca_type}, leaf {leaf_type}: {}{}",
                v.stdout, v.stderr
            );
            let (c, k) = pubkeys(&s, &cert, &format!("{name}.key.pem"));
            assert_eq!(c, k);
        }
    }
}

/// OpenSSL's `-startdate`/`-enddate` (`notAfter=Nov 20 12:49:38 2031 GMT`) in Puppet's
/// inventory format (`2031-11-20T12:49:38UTC`), converted here independently of clusterca.
fn openssl_date_as_inventory(line: &str) -> String {
    let v = line.trim().split_once('=').unwrap().1;
    let parts: Vec<&str> = v.split_whitespace().collect();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == parts[0]).unwrap() + 1;
    let day: u32 = parts[1].parse().unwrap();
    format!("{}-{month:02}-{day:02}T{}UTC", parts[3], parts[2])
}

#[test]
fn serial_and_inventory_are_byte_for_byte_puppet_servers_formats() {
    let s = Scratch::new();
    init(&s);
    assert_eq!(std::fs::read(s.path("ca/serial")).unwrap(), b"0002");
    let inv = s.read("ca/inventory.txt");
    let ca_start = openssl_date_as_inventory(
        &s.openssl(&["x509", "-in", "ca/ca_crt.pem", "-noout", "-startdate"])
            .ok()
            .stdout,
    );
    let ca_end = openssl_date_as_inventory(
        &s.openssl(&["x509", "-in", "ca/ca_crt.pem", "-noout", "-enddate"])
            .ok()
            .stdout,
    );
    assert_eq!(
        inv,
        format!("0x0001 {ca_start} {ca_end} /CN=Puppet CA: test.example.net\n")
    );
    let serial = s
        .openssl(&["x509", "-in", "ca/ca_crt.pem", "-noout", "-serial"])
        .ok()
        .stdout;
    assert_eq!(serial.trim(), "serial=01");

    for name in ["a.example.net", "b.example.net", "c.example.net"] {
        s.run(&["issue", name]).ok();
    }
    assert_eq!(std::fs::read(s.path("ca/serial")).unwrap(), b"0005");
    let inv = s.read("ca/inventory.txt");
    let lines: Vec<&str> = inv.lines().collect();
    assert_eq!(lines.len(), 4, "{inv}");
    assert!(inv.ends_with('\n'));
    for (i, name) in ["a.example.net", "b.example.net", "c.example.net"]
        .iter()
        .enumerate()
    {
        let cert = format!("ca/signed/{name}.pem");
        let start = openssl_date_as_inventory(
            &s.openssl(&["x509", "-in", &cert, "-noout", "-startdate"])
                .ok()
                .stdout,
        );
        let end = openssl_date_as_inventory(
            &s.openssl(&["x509", "-in", &cert, "-noout", "-enddate"])
                .ok()
                .stdout,
        );
        let serial = s
            .openssl(&["x509", "-in", &cert, "-noout", "-serial"])
            .ok()
            .stdout;
        assert_eq!(serial.trim(), format!("serial={:02X}", i + 2));
        assert_eq!(
            lines[i + 1],
            format!("0x{:04X} {start} {end} /CN={name}", i + 2)
        );
    }
}

#[test]
fn ca_files_have_puppets_modes_and_the_key_is_never_world_readable() {
    let s = Scratch::new();
    init(&s);
    for f in [
        "ca_crt.pem",
        "ca_pub.pem",
        "ca_crl.pem",
        "serial",
        "inventory.txt",
    ] {
        assert_eq!(s.mode(&format!("ca/{f}")), 0o644, "{f}");
    }
    assert_eq!(
        s.mode("ca/ca_key.pem"),
        common::ca_key_mode(),
        "ca_key.pem mode"
    );
    // The empty CRL verifies against the CA.
    assert!(
        s.crl_signed_by_ca(),
        "the empty CRL does not verify against the CA"
    );
    // ca_pub.pem is the CA certificate's key.
    let cert_pub = s
        .openssl(&["x509", "-in", "ca/ca_crt.pem", "-noout", "-pubkey"])
        .ok()
        .stdout;
    assert_eq!(cert_pub, s.read("ca/ca_pub.pem"));
    let text = s.x509_text("ca/ca_crt.pem");
    assert!(
        text.contains("CA:TRUE") && text.contains("Certificate Sign, CRL Sign"),
        "{text}"
    );
}

#[test]
fn the_ca_directory_comes_from_clusterca_dir_or_dir() {
    let s = Scratch::new();
    let out = s
        .cmd(&["init"])
        .env("CLUSTERCA_DIR", "fromenv")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(s.path("fromenv/ca_crt.pem").exists());
    s.run(&["init", "--dir", "explicit"]).ok();
    assert!(s.path("explicit/serial").exists());
    assert!(!s.path("ca").exists());
}

#[test]
fn a_missing_out_directory_is_made_private_like_mkdir_p() {
    let s = Scratch::new();
    // Refused before anything is made: no CA yet, so no directory appears.
    let run = s.run(&["issue", "a.example.net", "--out", "pki/new"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!s.path("pki").exists());
    init(&s);
    s.run(&["issue", "a.example.net", "--out", "pki/new"]).ok();
    for dir in ["pki", "pki/new"] {
        assert_eq!(s.mode(dir), 0o700, "{dir}");
    }
    assert!(s.path("pki/new/a.example.net.key.pem").is_file());
    s.verify(
        "pki/new/a.example.net.pem",
        "-verify_hostname",
        "a.example.net",
    )
    .ok();
    // An existing directory keeps its mode.
    std::fs::create_dir(s.path("open")).unwrap();
    std::fs::set_permissions(
        s.path("open"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    s.run(&["renew", "a.example.net", "--out", "open"]).ok();
    assert_eq!(s.mode("open"), 0o755);
    assert!(s.path("open/a.example.net.pem").is_file());
}

#[test]
fn a_lifetime_past_the_cas_end_is_refused_unless_allowed() {
    let s = Scratch::new();
    s.run(&["init", "--ttl", "2y"]).ok();
    let before = s.snapshot();
    // The default 5y ends three years after the CA certificate.
    let run = s.run(&["issue", "x.example.net"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("after its CA does") && run.stderr.contains("--allow-beyond-ca"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
    // Nothing written, no serial used.
    assert_eq!(s.snapshot(), before);
    // Within the CA's life: issued.
    s.run(&["issue", "y.example.net", "--ttl", "1y"]).ok();
    // Asked for: issued, and openssl sees its notAfter past the CA's.
    s.run(&["issue", "x.example.net", "--allow-beyond-ca"]).ok();
    let end = |cert: &str| {
        let out = s
            .openssl(&[
                "x509",
                "-in",
                cert,
                "-noout",
                "-checkend",
                &(3 * 365 * 86_400).to_string(),
            ])
            .code;
        out == 0
    };
    assert!(end("x.example.net.pem"), "x ends within three years");
    assert!(!end("ca/ca_crt.pem"), "the CA lasts three years");
    assert_eq!(s.read("ca/serial"), "0004");
}
