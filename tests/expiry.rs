//! Expiry made visible and CRL upkeep, against certificates made with lifetimes of seconds:
//! `list` (time left, `expired`, `--expiring`), `check --warn-days`, `renew --expiring-within`,
//! `crl --prune`, and `audit` without `--expect-name` on the CRLs it finds.

mod common;

use std::time::Duration;

use common::Scratch;

fn list(s: &Scratch, args: &[&str]) -> Vec<serde_json::Value> {
    let mut a = vec!["list", "--format", "json"];
    a.extend_from_slice(args);
    serde_json::from_str(&s.run(&a).ok().stdout).unwrap()
}

fn state_of(all: &[serde_json::Value], name: &str) -> String {
    all.iter()
        .find(|x| x["name"] == name)
        .map(|x| x["state"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A CA with `short` (3 s to live), `soon` (10 days) and `later` (5 years).
fn ca_with_expiring() -> Scratch {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "short.example.net", "--ttl", "3s"]).ok();
    s.run(&["issue", "soon.example.net", "--ttl", "10d"]).ok();
    s.run(&["issue", "later.example.net"]).ok();
    std::thread::sleep(Duration::from_millis(3_200));
    s
}

#[test]
fn list_shows_time_left_and_expired_and_filters_what_expires_soon() {
    let s = ca_with_expiring();
    let all = list(&s, &["--all"]);
    assert_eq!(state_of(&all, "short.example.net"), "expired");
    assert_eq!(state_of(&all, "soon.example.net"), "signed");
    let left = |name: &str| {
        all.iter().find(|x| x["name"] == name).unwrap()["seconds_left"]
            .as_i64()
            .unwrap()
    };
    assert!(left("short.example.net") <= 0);
    assert!((9 * 86_400..=10 * 86_400).contains(&left("soon.example.net")));
    let text = s.run(&["list", "--all"]).ok().stdout;
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_owned()
    };
    assert!(line("short.example.net").contains("expired"), "{text}");
    assert!(line("soon.example.net").contains(" 9d "), "{text}");
    assert!(line("later.example.net").contains("4y 364d"), "{text}");
    assert!(text.contains("TIME LEFT"));
    // --expiring: what a renewal run must take, expired ones included.
    let soon: Vec<String> = list(&s, &["--expiring", "30d"])
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(soon, ["short.example.net", "soon.example.net"]);
    // A revoked one needs no renewal.
    s.run(&["revoke", "soon.example.net"]).ok();
    assert_eq!(list(&s, &["--expiring", "30d"]).len(), 1);
    // The CA API keeps Puppet's states: expired is `signed` there (tests/serve.rs asks it).
}

#[test]
fn check_warns_about_a_ca_and_crl_expiring_and_notes_expiring_certificates() {
    let s = Scratch::new();
    s.run(&["init", "--ttl", "20d"]).ok();
    s.run(&["issue", "a.example.net", "--ttl", "5d"]).ok();
    s.run(&["crl", "--next-update", "7d"]).ok();
    let run = s.run(&["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rules: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    for want in [
        ("ca-expiring", "warning"),
        ("crl-expiring", "warning"),
        ("cert-expiring", "info"),
    ] {
        assert!(rules.contains(&want), "{want:?} in {rules:?}");
    }
    // Within a shorter window, only the certificate is noted: exit 0.
    let run = s.run(&["check", "--warn-days", "6"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("cert-expiring") && !run.stdout.contains("ca-expiring"));
    let quiet = s.run(&["check", "--warn-days", "1"]);
    assert_eq!(quiet.code, 0);
    assert!(
        quiet.stdout.contains("0 errors, 0 warnings, 0 notes"),
        "{}",
        quiet.stdout
    );
}

#[test]
fn renew_expiring_within_takes_the_expiring_ones_only() {
    let s = ca_with_expiring();
    let before_later = s.read("ca/signed/later.example.net.pem");
    let run = s
        .run(&["renew", "--expiring-within", "30d", "--format", "json"])
        .ok();
    let report: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = report.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["short.example.net", "soon.example.net"]);
    assert_eq!(s.read("ca/signed/later.example.net.pem"), before_later);
    let all = list(&s, &["--all"]);
    assert_eq!(state_of(&all, "short.example.net"), "signed");
    s.verify(
        "ca/signed/short.example.net.pem",
        "-verify_hostname",
        "short.example.net",
    )
    .ok();
    assert!(list(&s, &["--expiring", "30d"]).is_empty());
    let none = s.run(&["renew", "--expiring-within", "30d"]).ok();
    assert!(none.stdout.contains("No certificates to renew"));
    // --all renews every one.
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&s.run(&["renew", "--all", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(all.len(), 3);
}

#[test]
fn crl_prune_drops_expired_and_repeated_entries_and_keeps_the_rest() {
    let s = ca_with_expiring();
    // Cleaned (revoked, its file removed): the entry may go once it has expired.
    s.run(&["clean", "short.example.net"]).ok();
    s.run(&["revoke", "later.example.net"]).ok();
    let number = |s: &Scratch| {
        s.openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-crlnumber"])
            .ok()
            .stdout
    };
    let before = number(&s);
    let run = s.run(&["crl", "--prune", "--format", "json"]).ok();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["pruned_expired"],
        serde_json::json!([common::serial_json(2)])
    );
    assert_ne!(number(&s), before);
    let crl = s
        .openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-text"])
        .ok()
        .stdout;
    assert!(!crl.contains("Serial Number: 02"), "{crl}");
    assert!(crl.contains("Serial Number: 04"), "{crl}");
    assert_ne!(s.crl_verify("later.example.net.pem", &[]).code, 0);
    // The pruned serial stays used.
    s.run(&["issue", "next.example.net"]).ok();
    assert_eq!(s.read("ca/serial").trim(), "0006");
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    // Nothing to prune: the CRL is still signed again, nothing dropped.
    let text = s.run(&["crl", "--prune"]).ok().stdout;
    assert!(!text.contains("dropped"), "{text}");
}

#[test]
fn an_expired_revoked_certificate_keeps_its_entry_and_is_never_renewed() {
    // Found by review: pruning the entry of a revoked certificate still in signed/ made it
    // "expired" instead of "revoked", and `renew --all` gave its key a new certificate.
    let s = ca_with_expiring();
    s.run(&["revoke", "short.example.net"]).ok();
    let report: serde_json::Value =
        serde_json::from_str(&s.run(&["crl", "--prune", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(report["pruned_expired"], serde_json::json!([]));
    assert_eq!(
        state_of(&list(&s, &["--all"]), "short.example.net"),
        "revoked"
    );
    let before = s.read("ca/serial");
    let refused = s.run(&["renew", "short.example.net"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("revoked"), "{}", refused.stderr);
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&s.run(&["renew", "--all", "--format", "json"]).ok().stdout).unwrap();
    assert!(
        all.iter().all(|r| r["name"] != "short.example.net"),
        "{all:?}"
    );
    assert_ne!(s.read("ca/serial"), before);
    // A forged inventory line with an earlier notAfter does not get an entry dropped early.
    s.run(&["clean", "later.example.net"]).ok();
    let mut inv = s.read("ca/inventory.txt");
    inv.push_str("0x0004 2020-01-01T00:00:00UTC 2021-01-01T00:00:00UTC /CN=later.example.net\n");
    std::fs::write(s.path("ca/inventory.txt"), inv).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&s.run(&["crl", "--prune", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(report["pruned_expired"], serde_json::json!([]));
    assert_ne!(s.crl_verify("later.example.net.pem", &[]).code, 0);
}

#[test]
fn crl_prune_drops_repeated_entries_of_a_crl_someone_else_wrote() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net"]).ok();
    // A CRL with serial 2 listed twice, signed by the CA's key (openssl's `ca` refuses to
    // write one: rcgen does as it is told).
    let key = rcgen::KeyPair::from_pem(&s.read("ca/ca_key.pem")).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&s.read("ca/ca_crt.pem"), key).unwrap();
    let entry = rcgen::RevokedCertParams {
        serial_number: rcgen::SerialNumber::from(2u64),
        revocation_time: time::OffsetDateTime::now_utc(),
        reason_code: Some(rcgen::RevocationReason::KeyCompromise),
        invalidity_date: None,
    };
    let crl = rcgen::CertificateRevocationListParams {
        this_update: time::OffsetDateTime::now_utc(),
        next_update: time::OffsetDateTime::now_utc() + time::Duration::days(30),
        crl_number: rcgen::SerialNumber::from(7u64),
        issuing_distribution_point: None,
        revoked_certs: vec![entry.clone(), entry],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap();
    std::fs::write(s.path("ca/ca_crl.pem"), crl.pem().unwrap()).unwrap();
    let entries = |s: &Scratch| {
        s.openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-text"])
            .ok()
            .stdout
            .matches("Serial Number: 02")
            .count()
    };
    assert_eq!(entries(&s), 2, "the fixture needs a repeated entry");
    let report: serde_json::Value =
        serde_json::from_str(&s.run(&["crl", "--prune", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(
        report["pruned_duplicates"],
        serde_json::json!([common::serial_json(2)])
    );
    assert_eq!(entries(&s), 1);
}

#[test]
fn audit_without_expected_names_checks_expiry_keys_and_the_crls_on_nodes() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    for node in ["n1", "n2", "n3"] {
        std::fs::create_dir(s.path(node)).unwrap();
    }
    s.run(&["issue", "n1.example.net", "--out", "n1"]).ok();
    s.run(&["issue", "n2.example.net", "--out", "n2"]).ok();
    // n1 holds the CRL of now; then the CA revokes and n2 gets a CRL about to expire.
    std::fs::copy(s.path("ca/ca_crl.pem"), s.path("n1/crl.pem")).unwrap();
    s.run(&["crl", "--next-update", "2s"]).ok();
    std::fs::copy(s.path("ca/ca_crl.pem"), s.path("n3/crl.pem")).unwrap();
    s.run(&["crl", "--next-update", "5d"]).ok();
    std::fs::copy(s.path("ca/ca_crl.pem"), s.path("n2/crl.pem")).unwrap();
    s.run(&["revoke", "n1.example.net"]).ok();
    // A weak RSA key (ring refuses to load one): named weak, not unreadable.
    s.openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        "n3/weak.key.pem",
    ])
    .ok();
    std::thread::sleep(Duration::from_millis(2_200));
    let run = s.run(&[
        "audit",
        "n1",
        "n2",
        "n3",
        "--ca",
        "ca/ca_crt.pem",
        "--crl",
        "ca/ca_crl.pem",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["path"]
                    .as_str()
                    .or(f["subject"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let has = |rule: &str, node: &str| found.iter().any(|(r, p)| r == rule && p.contains(node));
    assert!(has("crl-expired", "n3"), "{found:?}");
    assert!(has("crl-stale", "n1"), "{found:?}"); // an older CRL number than the CA's
    assert!(has("crl-stale", "n2"), "{found:?}"); // nextUpdate within --warn-days
    assert!(has("weak-key", "n3"), "{found:?}");
    assert!(has("revoked", "n1"), "{found:?}");
    assert!(
        !found
            .iter()
            .any(|(r, _)| r == "unparseable" || r == "name-missing"),
        "{found:?}"
    );
}
