//! A CA whose key is RSA (Puppet's default), made by openssl in PKCS#1 form: clusterca signs
//! with it through ring, and openssl verifies what it signed, revocation included.

mod common;

use common::Scratch;

fn rsa_cadir(s: &Scratch, bits: &str) {
    for d in ["ca", "ca/signed", "ca/requests"] {
        std::fs::create_dir(s.path(d)).unwrap();
    }
    s.openssl(&["genrsa", "-traditional", "-out", "ca/ca_key.pem", bits])
        .ok();
    s.openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        "ca/ca_key.pem",
        "-out",
        "ca/ca_crt.pem",
        "-days",
        "3650",
        "-subj",
        "/CN=Puppet CA: rsa.test",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])
    .ok();
    assert!(s.read("ca/ca_key.pem").contains("BEGIN RSA PRIVATE KEY"));
    std::fs::write(s.path("ca/ca_crl.pem"), "").unwrap();
    std::fs::write(s.path("ca/serial"), "002\n").unwrap();
    std::fs::write(s.path("ca/inventory.txt"), "").unwrap();
}

#[test]
fn an_rsa_pkcs1_ca_key_signs_issued_and_requested_certificates() {
    let s = Scratch::new();
    rsa_cadir(&s, "3072");
    // No CRL yet: `crl` starts one, signed with the RSA key.
    s.run(&["crl"]).ok();
    assert!(
        s.crl_signed_by_ca(),
        "the new CRL does not verify against the CA"
    );

    s.run(&[
        "issue",
        "web1.example.net",
        "web2.example.net",
        "--alt-name",
        "puppet.example.net",
    ])
    .ok();
    let key = "agent.key";
    s.openssl(&["genrsa", "-out", key, "2048"]).ok();
    s.openssl(&[
        "req",
        "-new",
        "-key",
        key,
        "-out",
        "agent.csr",
        "-subj",
        "/CN=agent.example.net",
    ])
    .ok();
    s.run(&["submit", "agent.csr"]).ok();
    s.run(&["sign", "agent.example.net"]).ok();

    for (cert, host) in [
        ("web1.example.net.pem", "puppet.example.net"),
        ("web2.example.net.pem", "web2.example.net"),
        ("ca/signed/agent.example.net.pem", "agent.example.net"),
    ] {
        let v = s.crl_verify(cert, &["-verify_hostname", host]);
        assert_eq!(v.code, 0, "{cert}: {}{}", v.stdout, v.stderr);
        let text = s.x509_text(cert);
        assert!(
            text.contains("Signature Algorithm: sha256WithRSAEncryption"),
            "{text}"
        );
    }
    // An RSA leaf key gets keyEncipherment too, as Puppet's profile has it.
    let agent = s.x509_text("ca/signed/agent.example.net.pem");
    assert!(
        agent.contains("Digital Signature, Key Encipherment"),
        "{agent}"
    );

    s.run(&["revoke", "web2.example.net"]).ok();
    let v = s.crl_verify("web2.example.net.pem", &[]);
    assert_ne!(v.code, 0);
    assert!(format!("{}{}", v.stdout, v.stderr).contains("certificate revoked"));
    // The CA's SKI was made by openssl (SHA-1), not rcgen: the CRL must still point at it.
    assert!(
        s.crl_aki_is_ca_ski(),
        "the CRL's AKI is not the openssl-made SKI"
    );
    assert_eq!(s.read("ca/serial"), "0005");
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
}

#[test]
fn a_ca_file_without_a_crl_is_refused_not_replaced() {
    let s = Scratch::new();
    rsa_cadir(&s, "2048");
    std::fs::write(s.path("ca/ca_crl.pem"), "not a crl\n").unwrap();
    let run = s.run(&["crl"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(s.read("ca/ca_crl.pem"), "not a crl\n");
}
