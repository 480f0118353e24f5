//! Revocation as a TLS client sees it: `openssl verify -crl_check` against the CRL we write.

mod common;

use common::Scratch;

fn ready() -> Scratch {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net", "b.example.net", "c.example.net"])
        .ok();
    s
}

fn crl_number(s: &Scratch) -> String {
    let out = s
        .openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-crlnumber"])
        .ok()
        .stdout;
    out.trim().trim_start_matches("crlNumber=").to_owned()
}

#[test]
fn revoked_certificates_fail_crl_checks_and_the_others_pass() {
    let s = ready();
    // Before: every certificate passes the CRL check (the empty CRL from init is valid).
    for c in ["a", "b", "c"] {
        assert_eq!(s.crl_verify(&format!("{c}.example.net.pem"), &[]).code, 0);
    }
    assert_eq!(crl_number(&s), "0x00");
    s.run(&["revoke", "b.example.net"]).ok();
    assert_eq!(crl_number(&s), "0x01");
    let v = s.crl_verify("b.example.net.pem", &[]);
    assert_ne!(v.code, 0);
    assert!(
        v.stdout.contains("certificate revoked") || v.stderr.contains("certificate revoked"),
        "{}{}",
        v.stdout,
        v.stderr
    );
    assert_eq!(s.crl_verify("a.example.net.pem", &[]).code, 0);
    assert_eq!(s.crl_verify("c.example.net.pem", &[]).code, 0);

    // By serial; earlier entries are kept; the number goes on.
    s.run(&["revoke", "--serial", "0x4"]).ok();
    assert_eq!(crl_number(&s), "0x02");
    assert_ne!(
        s.crl_verify("b.example.net.pem", &[]).code,
        0,
        "b fell off the CRL"
    );
    assert_ne!(s.crl_verify("c.example.net.pem", &[]).code, 0);
    assert_eq!(s.crl_verify("a.example.net.pem", &[]).code, 0);

    // The CRL carries the CA's key identifier and Puppet's reason.
    let text = s
        .openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-text"])
        .ok()
        .stdout;
    assert!(
        s.crl_aki_is_ca_ski(),
        "the CRL's AKI is not the CA's SKI:
{text}"
    );
    assert_eq!(text.matches("Key Compromise").count(), 2, "{text}");

    // Revoking again is harmless and says so.
    let again = s.run(&["revoke", "b.example.net"]).ok();
    assert!(again.stdout.contains("already revoked"), "{}", again.stdout);
    // list and check see it.
    let list = s.run(&["list", "--all"]).ok().stdout;
    assert!(
        list.lines()
            .any(|l| l.starts_with("b.example.net") && l.contains("revoked")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("a.example.net") && l.contains("signed")),
        "{list}"
    );
    // show, by certname or by file, sees it too; a certificate of another CA is not judged.
    let revoked = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["show", "--format", "json"];
        all.extend_from_slice(args);
        let out: serde_json::Value = serde_json::from_str(&s.run(&all).ok().stdout).unwrap();
        out["objects"][0]["revoked"].clone()
    };
    assert_eq!(revoked(&["b.example.net"]), serde_json::json!(true));
    assert_eq!(revoked(&["b.example.net.pem"]), serde_json::json!(true));
    assert_eq!(revoked(&["a.example.net.pem"]), serde_json::json!(false));
    let other = Scratch::new();
    other.run(&["init"]).ok();
    std::fs::copy(other.path("ca/ca_crt.pem"), s.path("foreign.pem")).unwrap();
    assert_eq!(revoked(&["foreign.pem"]), serde_json::Value::Null);
    let text = s.run(&["show", "b.example.net"]).ok().stdout;
    assert!(text.contains("revoked         YES"), "{text}");
    let text = s.run(&["show", "a.example.net"]).ok().stdout;
    assert!(text.contains("revoked         no"), "{text}");
    s.run(&["check"]).ok();
}

#[test]
fn only_the_first_crl_of_a_chain_is_replaced() {
    let s = ready();
    let other = Scratch::new();
    other.run(&["init"]).ok();
    let foreign = other.read("ca/ca_crl.pem");
    let own = s.read("ca/ca_crl.pem");
    std::fs::write(s.path("ca/ca_crl.pem"), format!("{own}{foreign}")).unwrap();
    s.run(&["revoke", "a.example.net"]).ok();
    let after = s.read("ca/ca_crl.pem");
    assert!(
        after.ends_with(&foreign),
        "the second CRL changed:\n{after}"
    );
    assert_ne!(after, format!("{own}{foreign}"));
    assert_ne!(s.crl_verify("a.example.net.pem", &[]).code, 0);
}

#[test]
fn clean_revokes_then_removes_so_the_name_can_be_issued_again() {
    let s = ready();
    let inventory_before = s.read("ca/inventory.txt");
    s.run(&["clean", "c.example.net"]).ok();
    assert!(!s.path("ca/signed/c.example.net.pem").exists());
    assert_ne!(s.crl_verify("c.example.net.pem", &[]).code, 0);
    assert_eq!(
        s.read("ca/inventory.txt"),
        inventory_before,
        "clean must not touch the inventory"
    );
    std::fs::remove_file(s.path("c.example.net.key.pem")).unwrap();
    s.run(&["issue", "c.example.net"]).ok();
    assert_eq!(
        s.crl_verify("c.example.net.pem", &[]).code,
        0,
        "the new certificate is not revoked"
    );
    s.run(&["crl"]).ok();
    assert_eq!(crl_number(&s), "0x02");
    let shown = s.run(&["crl", "--show"]).ok().stdout;
    assert!(
        shown.contains("CRL number      2") && shown.contains("revoked         1"),
        "{shown}"
    );
}

#[test]
fn bad_revocations_exit_2_and_change_nothing() {
    let s = ready();
    for (args, needle) in [
        (
            &["revoke", "nobody.example.net"][..],
            "nobody.example.net has no signed certificate",
        ),
        (&["revoke", "--serial", "xyz"][..], "xyz"),
        (&["revoke", "../etc"][..], "../etc"),
        (
            &["clean", "nobody.example.net"][..],
            "no certificate request",
        ),
        (&["crl", "--next-update", "0d"][..], "0d"),
    ] {
        let before = s.snapshot();
        let run = s.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1);
        common::assert_unchanged(&before, &s.snapshot(), &format!("{args:?}"));
    }
}
