//! Renewal and revocation reasons, checked with the `openssl` CLI: `renew` (same key, --rekey,
//! --supersede, --expiring-within), `renew --ca`, `revoke --reason`, on certificates we issued,
//! signed from CSRs, and signed by Puppet Server.

mod common;

use common::{copy_puppet_fixture, Scratch};

/// `openssl x509 -noout -text` without the lines a renewal changes (serial, validity,
/// signature, and with --rekey the key and its identifier).
fn stable_text(s: &Scratch, cert: &str) -> String {
    let text = s.x509_text(cert);
    let mut out = Vec::new();
    let mut skip = 0;
    for line in text.lines() {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let t = line.trim();
        if t.starts_with("Serial Number") {
            skip = usize::from(!t.contains('('));
            continue;
        }
        if t.starts_with("Not Before") || t.starts_with("Not After") {
            continue;
        }
        if t.starts_with("Signature Value") {
            break;
        }
        out.push(line.to_owned());
    }
    out.join("\n")
}

fn pubkey(s: &Scratch, cert: &str) -> String {
    s.openssl(&["x509", "-in", cert, "-noout", "-pubkey"])
        .ok()
        .stdout
}

fn serial(s: &Scratch, cert: &str) -> String {
    s.openssl(&["x509", "-in", cert, "-noout", "-serial"])
        .ok()
        .stdout
        .trim()
        .to_owned()
}

fn file_serial(s: &Scratch) -> String {
    s.read("ca/serial").trim().to_owned()
}

#[test]
fn a_renewed_certificate_keeps_names_key_and_extensions_and_gets_a_new_serial() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    std::fs::create_dir(s.path("old")).unwrap();
    s.run(&[
        "issue",
        "puppet.example.net",
        "--alt-name",
        "puppet,IP:192.0.2.7",
        "--out",
        "old",
    ])
    .ok();
    std::fs::create_dir(s.path("new")).unwrap();
    let run = s
        .run(&[
            "renew",
            "puppet.example.net",
            "--out",
            "new",
            "--format",
            "json",
        ])
        .ok();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report[0]["old_serial_number"], common::serial_json(2));
    assert_eq!(report[0]["serial_number"], common::serial_json(3));
    assert_eq!(report[0]["rekeyed"], false);
    let (old, new) = ("old/puppet.example.net.pem", "new/puppet.example.net.pem");
    // openssl: chain, host name and address, and the old key still goes with it.
    for (check, value) in [
        ("-verify_hostname", "puppet.example.net"),
        ("-verify_hostname", "puppet"),
        ("-verify_ip", "192.0.2.7"),
    ] {
        s.verify(new, check, value).ok();
    }
    assert_eq!(pubkey(&s, old), pubkey(&s, new));
    assert_eq!(stable_text(&s, old), stable_text(&s, new));
    assert_ne!(serial(&s, old), serial(&s, new));
    // The CA's copy is the new one; both serials are on record; nothing else left to do.
    assert_eq!(s.read("ca/signed/puppet.example.net.pem"), s.read(new));
    let inv = s.read("ca/inventory.txt");
    assert!(inv.contains("0x0002 ") && inv.contains("0x0003 "), "{inv}");
    assert_eq!(file_serial(&s), "0004");
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    // The old certificate is not revoked: members keep working while the new one is pushed.
    s.crl_verify(old, &[]).ok();
    // The key beside the old certificate goes with the new one.
    s.openssl(&["x509", "-in", new, "-noout", "-checkend", "0"])
        .ok();
    let key_pub = s
        .openssl(&["pkey", "-in", "old/puppet.example.net.key.pem", "-pubout"])
        .ok()
        .stdout;
    assert_eq!(key_pub, pubkey(&s, new));
}

#[test]
fn rekey_writes_a_new_key_and_the_certificate_carries_it_with_its_own_key_id() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "web1.example.net", "--alt-name", "www.example.net"])
        .ok();
    let old_key = s.read("web1.example.net.key.pem");
    std::fs::create_dir(s.path("out")).unwrap();
    let run = s
        .run(&["renew", "web1.example.net", "--rekey", "--out", "out"])
        .ok();
    assert!(
        run.stdout.contains("new key out/web1.example.net.key.pem"),
        "{}",
        run.stdout
    );
    assert_eq!(s.mode("out/web1.example.net.key.pem"), 0o600);
    let new_pub = s
        .openssl(&["pkey", "-in", "out/web1.example.net.key.pem", "-pubout"])
        .ok()
        .stdout;
    assert_eq!(new_pub, pubkey(&s, "out/web1.example.net.pem"));
    assert_ne!(new_pub, pubkey(&s, "web1.example.net.pem"));
    assert_ne!(old_key, s.read("out/web1.example.net.key.pem"));
    s.verify(
        "out/web1.example.net.pem",
        "-verify_hostname",
        "www.example.net",
    )
    .ok();
    // The subject key identifier is the new key's (SHA-1 of its bits, as openssl computes it).
    let ski = |cert: &str| {
        s.openssl(&[
            "x509",
            "-in",
            cert,
            "-noout",
            "-ext",
            "subjectKeyIdentifier",
        ])
        .ok()
        .stdout
    };
    s.openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        "out/web1.example.net.key.pem",
        "-subj",
        "/CN=x",
        "-out",
        "selfsigned.pem",
    ])
    .ok();
    assert_eq!(ski("out/web1.example.net.pem"), ski("selfsigned.pem"));
    assert_ne!(ski("out/web1.example.net.pem"), ski("web1.example.net.pem"));
    // Everything but the key is the old certificate's.
    let names = |cert: &str| {
        s.openssl(&[
            "x509",
            "-in",
            cert,
            "-noout",
            "-subject",
            "-issuer",
            "-ext",
            "subjectAltName,keyUsage,extendedKeyUsage,basicConstraints,authorityKeyIdentifier",
        ])
        .ok()
        .stdout
    };
    assert_eq!(
        names("web1.example.net.pem"),
        names("out/web1.example.net.pem")
    );
}

#[test]
fn extensions_of_a_signed_request_are_kept_and_supersede_revokes_the_old_one() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.ec_csr(
        "node.key",
        "node.csr",
        "node1.example.net",
        &[
            "1.3.6.1.4.1.34380.1.1.1=ASN1:UTF8String:ED803750-E3C7-44F5-BB08-41A04433FE2E",
            "1.3.6.1.4.1.34380.1.1.13=ASN1:UTF8String:webserver",
        ],
    );
    s.run(&["submit", "node.csr"]).ok();
    s.run(&["sign", "node1.example.net"]).ok();
    std::fs::copy(s.path("ca/signed/node1.example.net.pem"), s.path("old.pem")).unwrap();
    let run = s.run(&["renew", "node1.example.net", "--supersede"]).ok();
    assert!(
        run.stdout.contains("revoked as superseded"),
        "{}",
        run.stdout
    );
    let new = "ca/signed/node1.example.net.pem";
    let text = s.x509_text(new);
    assert!(
        text.contains("1.3.6.1.4.1.34380.1.1.13") && text.contains("webserver"),
        "{text}"
    );
    assert_eq!(stable_text(&s, "old.pem"), stable_text(&s, new));
    // The old one is on the CRL as superseded; the new one passes.
    s.crl_verify(new, &[]).ok();
    let old = s.crl_verify("old.pem", &[]);
    assert_ne!(old.code, 0);
    assert!(old.stdout.contains("revoked") || old.stderr.contains("revoked"));
    let crl = s
        .openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-text"])
        .ok()
        .stdout;
    assert!(crl.contains("Superseded"), "{crl}");
    let shown: serde_json::Value =
        serde_json::from_str(&s.run(&["crl", "--show", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(shown[0]["revoked"][0]["reason"], "superseded");
    // A revoked certificate is not renewed, and costs no serial.
    s.run(&["revoke", "node1.example.net"]).ok();
    let before = file_serial(&s);
    let refused = s.run(&["renew", "node1.example.net"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("revoked"), "{}", refused.stderr);
    assert_eq!(file_serial(&s), before);
}

#[test]
fn a_certificate_puppet_server_signed_is_renewed_and_verifies() {
    let s = Scratch::new();
    copy_puppet_fixture(&s, "ca");
    let old = s.read("ca/signed/puppet01.example.net.pem");
    std::fs::write(s.path("old.pem"), &old).unwrap();
    s.run(&["renew", "puppet01.example.net", "--ttl", "1y"])
        .ok();
    let new = "ca/signed/puppet01.example.net.pem";
    assert_ne!(s.read(new), old);
    // Puppet's CA is an intermediate: the new certificate chains through the bundle.
    s.verify(new, "-verify_hostname", "puppet01.example.net")
        .ok();
    assert_eq!(pubkey(&s, "old.pem"), pubkey(&s, new));
    // Puppet's own extensions (its Netscape comment among them) come along.
    assert_eq!(stable_text(&s, "old.pem"), stable_text(&s, new));
    assert!(s
        .x509_text(new)
        .contains("Puppet Server Internal Certificate"));
    let end = s
        .openssl(&["x509", "-in", new, "-noout", "-enddate"])
        .ok()
        .stdout;
    let year = time::OffsetDateTime::now_utc().year() + 1;
    assert!(end.contains(&year.to_string()), "{end}");
    // Puppet's intermediate is issued by its root: renewing it needs the root's key.
    let ca = s.run(&["renew", "--ca"]);
    assert_eq!(ca.code, 2, "{}", ca.stderr);
    assert!(
        ca.stderr.contains("only that CA's key can renew it"),
        "{}",
        ca.stderr
    );
}

#[test]
fn the_renewed_ca_certificate_keeps_its_key_and_old_leaves_verify_against_it_alone() {
    let s = Scratch::new();
    s.run(&["init", "--ttl", "2y"]).ok();
    // Leaves that outlive the CA certificate: what renewing the CA is for.
    s.run(&[
        "issue",
        "a.example.net",
        "b.example.net",
        "--allow-beyond-ca",
    ])
    .ok();
    s.run(&["revoke", "b.example.net"]).ok();
    std::fs::copy(s.path("ca/ca_crt.pem"), s.path("old_ca.pem")).unwrap();
    let run = s
        .run(&["renew", "--ca", "--ttl", "15y", "--format", "json"])
        .ok();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["serial_number"], common::serial_json(4));
    // The bundle: the new certificate first, the old one after it.
    s.openssl(&["x509", "-in", "ca/ca_crt.pem", "-out", "new_ca.pem"])
        .ok();
    let bundle = s.read("ca/ca_crt.pem");
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
    assert!(bundle.ends_with(&s.read("old_ca.pem")));
    let field = |cert: &str, args: &[&str]| {
        let mut a = vec!["x509", "-in", cert, "-noout"];
        a.extend_from_slice(args);
        s.openssl(&a).ok().stdout
    };
    for args in [
        &["-subject"][..],
        &["-pubkey"],
        &["-ext", "subjectKeyIdentifier,basicConstraints,keyUsage"],
    ] {
        assert_eq!(
            field("new_ca.pem", args),
            field("old_ca.pem", args),
            "{args:?}"
        );
    }
    assert_ne!(
        field("new_ca.pem", &["-serial"]),
        field("old_ca.pem", &["-serial"])
    );
    let end = field("new_ca.pem", &["-enddate"]);
    let year = time::OffsetDateTime::now_utc().year() + 15;
    assert!(end.contains(&year.to_string()), "{end}");
    // Leaves issued under the old certificate verify against the new one alone, with the
    // re-signed CRL; the revoked one still fails.
    let alone = |cert: &str| {
        s.openssl(&[
            "verify",
            "-CAfile",
            "new_ca.pem",
            "-crl_check",
            "-CRLfile",
            "ca/ca_crl.pem",
            cert,
        ])
    };
    alone("a.example.net.pem").ok();
    assert_ne!(alone("b.example.net.pem").code, 0);
    // And with the old CA certificate alone (agents that have not downloaded the new one).
    s.openssl(&["verify", "-CAfile", "old_ca.pem", "a.example.net.pem"])
        .ok();
    // New certificates are signed under the new one; the CA's serial is on record.
    s.run(&["issue", "c.example.net"]).ok();
    alone("c.example.net.pem").ok();
    assert!(s.read("ca/inventory.txt").contains("0x0004 "));
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    // Copied elsewhere from its files, the CA never hands out its own certificate's serial.
    let copy = s
        .run(&[
            "import",
            "--dir",
            "copy",
            "--cert",
            "ca/ca_crt.pem",
            "--key",
            "ca/ca_key.pem",
            "--format",
            "json",
        ])
        .ok();
    let adopted: serde_json::Value = serde_json::from_str(&copy.stdout).unwrap();
    assert_eq!(
        adopted["next_serial"],
        common::serial_json(5),
        "{}",
        copy.stdout
    );
    // Interrupted after the bundle, before its inventory line: `check` notes the renewed CA
    // certificate without its line, `check --repair` appends it, and no leaf ever gets its
    // serial, even with the `serial` file put back (the serial rule counts the bundle).
    let inv: String = s
        .read("ca/inventory.txt")
        .lines()
        .filter(|l| !l.starts_with("0x0004 "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(s.path("ca/inventory.txt"), inv).unwrap();
    std::fs::write(s.path("ca/serial"), "0002").unwrap();
    let check = s.run(&["check"]);
    assert!(
        check
            .stdout
            .contains("renewed CA certificate (serial 0x0004) has no inventory line"),
        "{}",
        check.stdout
    );
    let repair = s.run(&["check", "--repair"]);
    assert_eq!(repair.code, 0, "{}", repair.stdout);
    assert!(s.read("ca/inventory.txt").contains("0x0004 "));
    s.run(&["issue", "d.example.net"]).ok();
    assert_ne!(serial(&s, "d.example.net.pem"), "serial=04");
}

#[test]
fn revoking_or_cleaning_a_name_revokes_every_certificate_of_it_still_valid() {
    // Found by review: a renewal leaves the old certificate valid, and revoking the name
    // revoked only the one in signed/, so the old one (same key) stayed trusted.
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net", "b.example.net"]).ok();
    std::fs::copy(s.path("a.example.net.pem"), s.path("a-old.pem")).unwrap();
    std::fs::copy(s.path("b.example.net.pem"), s.path("b-old.pem")).unwrap();
    s.run(&["renew", "a.example.net", "b.example.net"]).ok();
    let json: serde_json::Value = serde_json::from_str(
        &s.run(&["revoke", "a.example.net", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        json["revoked"],
        serde_json::json!([common::serial_json(4), common::serial_json(2)])
    );
    s.run(&["clean", "b.example.net"]).ok();
    for cert in ["a-old.pem", "b-old.pem", "ca/signed/a.example.net.pem"] {
        assert_ne!(s.crl_verify(cert, &[]).code, 0, "{cert} still passes");
    }
    // --supersede revokes every older certificate of the name, not just the last one.
    s.run(&["issue", "c.example.net"]).ok();
    std::fs::copy(s.path("c.example.net.pem"), s.path("c-first.pem")).unwrap();
    s.run(&["renew", "c.example.net"]).ok();
    std::fs::copy(
        s.path("ca/signed/c.example.net.pem"),
        s.path("c-second.pem"),
    )
    .unwrap();
    s.run(&["renew", "c.example.net", "--supersede"]).ok();
    for cert in ["c-first.pem", "c-second.pem"] {
        assert_ne!(s.crl_verify(cert, &[]).code, 0, "{cert} still passes");
    }
    s.crl_verify("ca/signed/c.example.net.pem", &[]).ok();
}

#[test]
fn revoking_a_name_never_touches_the_ca_or_another_names_certificate() {
    // Found by the second review: a CA whose CN is also a certname had its own serial revoked
    // with the name, and an inventory line naming another certificate's serial got it revoked.
    let s = Scratch::new();
    s.run(&["init", "--ca-name", "ca.example.net"]).ok();
    s.run(&["issue", "web1.example.net", "web2.example.net"])
        .ok();
    let refused = s.run(&["revoke", "ca.example.net"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("has no signed certificate"),
        "{}",
        refused.stderr
    );
    s.run(&["issue", "ca.example.net"]).ok();
    let json: serde_json::Value = serde_json::from_str(
        &s.run(&["revoke", "ca.example.net", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["revoked"], serde_json::json!([common::serial_json(4)]));
    // A line that repeats web2's serial under web1's name.
    let web2 = s
        .read("ca/inventory.txt")
        .lines()
        .find(|l| l.ends_with("/CN=web2.example.net"))
        .unwrap()
        .replace("web2", "web1");
    let mut inv = s.read("ca/inventory.txt");
    inv.push_str(&format!("{web2}\n"));
    std::fs::write(s.path("ca/inventory.txt"), inv).unwrap();
    s.run(&["revoke", "web1.example.net"]).ok();
    s.crl_verify("web2.example.net.pem", &["-crl_check_all"])
        .ok();
    assert_ne!(s.crl_verify("web1.example.net.pem", &[]).code, 0);
}

#[test]
fn a_revoke_waiting_for_a_renewal_revokes_what_the_renewal_made() {
    // Found by the second review: the name's serials were looked up before the lock, so a
    // renewal holding it at that moment left its new certificate unrevoked.
    if !common::have_program("strace", "strace") {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "agent1.example.net", "b.example.net"])
        .ok();
    // The renewal is slowed inside its commit (it holds the lock for four more seconds).
    let slow = s.cmd(&[]).get_program().to_owned();
    let renewal = std::process::Command::new("strace")
        .args([
            "-f",
            "-o",
            "/dev/null",
            "-e",
            "inject=renameat:delay_enter=4000000:when=1",
        ])
        .arg(&slow)
        .args(["renew", "--all"])
        .current_dir(s.dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    s.run(&["revoke", "agent1.example.net"]).ok();
    let out = renewal.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_ne!(serial(&s, "ca/signed/agent1.example.net.pem"), "serial=02");
    assert_ne!(
        s.crl_verify("ca/signed/agent1.example.net.pem", &[]).code,
        0
    );
    assert_ne!(s.crl_verify("agent1.example.net.pem", &[]).code, 0);
}

#[test]
fn a_key_in_out_that_is_already_the_current_certificates_is_named_not_called_in_the_way() {
    // Found by review: after a --rekey whose certificate never reached --out, running it
    // again said "move the key away": the only copy of the recorded certificate's key.
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net"]).ok();
    std::fs::create_dir(s.path("out")).unwrap();
    s.run(&["renew", "a.example.net", "--rekey", "--out", "out"])
        .ok();
    std::fs::remove_file(s.path("out/a.example.net.pem")).unwrap();
    let before = s.read("ca/serial");
    let again = s.run(&["renew", "a.example.net", "--rekey", "--out", "out"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("is the key of the current certificate of a.example.net")
            && again.stderr.contains("copy that certificate beside it"),
        "{}",
        again.stderr
    );
    assert_eq!(s.read("ca/serial"), before);
}

#[test]
fn revoke_takes_a_reason_and_refuses_an_unknown_one_without_writing() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net", "b.example.net"]).ok();
    let before = s.read("ca/ca_crl.pem");
    let bad = s.run(&["revoke", "a.example.net", "--reason", "removeFromCRL"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("invalid revocation reason \"removeFromCRL\"")
            && bad.stderr.contains("cessationOfOperation"),
        "{}",
        bad.stderr
    );
    assert_eq!(s.read("ca/ca_crl.pem"), before);
    let json: serde_json::Value = serde_json::from_str(
        &s.run(&[
            "revoke",
            "a.example.net",
            "--reason",
            "cessationOfOperation",
            "--format",
            "json",
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    assert_eq!(json["reason"], "cessationOfOperation");
    s.run(&["revoke", "b.example.net"]).ok();
    let crl = s
        .openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-text"])
        .ok()
        .stdout;
    assert!(
        crl.contains("Cessation Of Operation") && crl.contains("Key Compromise"),
        "{crl}"
    );
    let shown = s.run(&["crl", "--show"]).ok().stdout;
    assert!(
        shown.contains("cessationOfOperation") && shown.contains("keyCompromise"),
        "{shown}"
    );
    // Reasons survive the next CRL (entries are read back from the file).
    s.run(&["crl"]).ok();
    let shown: serde_json::Value =
        serde_json::from_str(&s.run(&["crl", "--show", "--format", "json"]).ok().stdout).unwrap();
    let reasons: Vec<&str> = shown[0]["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["cessationOfOperation", "keyCompromise"]);
}

#[test]
fn bad_renewals_are_refused_before_any_serial_is_used() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net"]).ok();
    let before = s.snapshot_of("ca");
    for (args, needle) in [
        (
            &["renew", "nothere.example.net"][..],
            "has no signed certificate",
        ),
        (&["renew", "a.example.net", "--rekey"], "--out"),
        (
            &["renew", "a.example.net", "--ttl", "9000y"],
            "invalid lifetime",
        ),
        (
            &["renew", "a.example.net", "a.example.net"],
            "given twice in this batch",
        ),
        (
            &["renew", "a.example.net", "--out", "ca/serial"],
            "exists and is not a directory",
        ),
        (&["renew", "--ca", "a.example.net"], "cannot be used with"),
        (&["renew", "--expiring-within", "soon"], "invalid lifetime"),
    ] {
        let run = s.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        // Our refusals are one line; clap's usage errors keep clap's form.
        if run.stderr.starts_with("clusterca: ") {
            assert_eq!(
                run.stderr.trim().lines().count(),
                1,
                "{args:?}: {}",
                run.stderr
            );
        }
    }
    // A key file already in --out is never overwritten.
    std::fs::create_dir(s.path("out")).unwrap();
    std::fs::write(s.path("out/a.example.net.key.pem"), "mine").unwrap();
    let run = s.run(&["renew", "a.example.net", "--rekey", "--out", "out"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(s.read("out/a.example.net.key.pem"), "mine");
    // (The lock file names its last holder: taking the lock is not a change to the CA.)
    let unlocked = |mut m: std::collections::BTreeMap<std::path::PathBuf, _>| {
        m.remove(std::path::Path::new("clusterca.lock"));
        m
    };
    common::assert_unchanged(
        &unlocked(before),
        &unlocked(s.snapshot_of("ca")),
        "refused renewals",
    );
}
