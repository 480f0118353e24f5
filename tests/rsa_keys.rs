//! RSA key generation (aws-lc-rs, the one crypto provider): a CA and leaves of each size,
//! verified by openssl.

mod common;

use common::Scratch;

fn key_bits(s: &Scratch, key: &str) -> String {
    let text = s
        .openssl(&["pkey", "-in", key, "-noout", "-text"])
        .ok()
        .stdout;
    text.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn rsa_keys_of_each_size_for_the_ca_and_for_leaves() {
    let s = Scratch::new();
    s.run(&["init", "--key-type", "rsa-4096"]).ok();
    assert!(key_bits(&s, "ca/ca_key.pem").contains("4096 bit"));
    assert_eq!(s.mode("ca/ca_key.pem"), common::ca_key_mode());
    for (name, kind, bits) in [
        ("a.example.net", "rsa-2048", "2048 bit"),
        ("b.example.net", "rsa-3072", "3072 bit"),
        ("c.example.net", "ec-p256", "256 bit"),
    ] {
        s.run(&[
            "issue",
            name,
            "--key-type",
            kind,
            "--alt-name",
            "pool.example.net",
        ])
        .ok();
        let key = format!("{name}.key.pem");
        assert!(
            key_bits(&s, &key).contains(bits),
            "{kind}: {}",
            key_bits(&s, &key)
        );
        assert_eq!(s.mode(&key), 0o600);
        let cert = format!("{name}.pem");
        let v = s.crl_verify(&cert, &["-verify_hostname", "pool.example.net"]);
        assert_eq!(v.code, 0, "{kind}: {}{}", v.stdout, v.stderr);
        let text = s.x509_text(&cert);
        assert!(text.contains("sha256WithRSAEncryption"), "{text}");
        // RSA leaves get keyEncipherment, as Puppet's do; EC leaves do not.
        assert_eq!(
            text.contains("Key Encipherment"),
            kind.starts_with("rsa"),
            "{kind}: {text}"
        );
        // The key matches its certificate.
        let shown = s.run(&["show", &key, "--cert", &cert]).ok().stdout;
        assert!(shown.contains("matches cert    yes"), "{shown}");
    }
    s.run(&["check"]).ok();
}
