//! The JSON contract of docs/json.md, command by command: every report deserializes into its
//! documented shape with unknown fields denied, and every serial and time in every report
//! has the one form docs/json.md gives (`{"hex": "0x0002", "decimal": "2"}`, RFC 3339 UTC).
//! Errors in JSON mode are one JSON object on stderr. (`show` and `list` have their own,
//! more detailed schema test in tests/show_list.rs.)

// The schema structs mirror docs/json.md field for field: deserializing them with unknown
// fields denied is the check; not every field is read afterwards.
#![allow(dead_code)]

mod common;

use common::{is_rfc3339_utc, Scratch, Serial};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// Runs `args` with `--format json`, expecting `code`; returns stdout parsed as `T` (with
/// the generic serial and time checks applied to it first).
fn json<T: DeserializeOwned>(s: &Scratch, args: &[&str], code: i32) -> T {
    let mut full = vec!["--format", "json"];
    full.extend_from_slice(args);
    let run = s.run(&full);
    assert_eq!(run.code, code, "{args:?}: {}{}", run.stdout, run.stderr);
    let value: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", run.stdout));
    forms(&value, &format!("{args:?}"));
    serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{args:?}: {e} (schema of docs/json.md): {value:#}"))
}

/// Every key whose value is a time, and every key whose value is a serial (or serials).
const TIME_KEYS: &[&str] = &[
    "not_before",
    "not_after",
    "next_update",
    "this_update",
    "revoked_at",
];
const SERIAL_KEYS: &[&str] = &[
    "serial_number",
    "old_serial_number",
    "next_serial",
    "revoked",
    "already_revoked",
    "superseded",
    "pruned_expired",
    "pruned_duplicates",
];

/// Walks `v`: each time key holds an RFC 3339 UTC time (or null), each serial key a serial
/// object or an array of them (`revoked` is also `show`'s array of entries and a flag), each
/// `crl_number` a decimal string, and no string anywhere looks like Puppet's `...UTC` time.
fn forms(v: &Value, at: &str) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let here = format!("{at}.{k}");
                if TIME_KEYS.contains(&k.as_str()) {
                    match x {
                        Value::Null => {}
                        Value::String(t) => assert!(is_rfc3339_utc(t), "{here}: {t:?}"),
                        other => panic!("{here}: a time must be a string: {other}"),
                    }
                }
                if SERIAL_KEYS.contains(&k.as_str()) {
                    match x {
                        // `revoked` is also a flag (`show`) and a count (`import`).
                        Value::Null | Value::Bool(_) => {}
                        Value::Number(_) if k == "revoked" => {}
                        Value::Array(items) => {
                            for i in items {
                                // `show`'s CRL entries carry their serial inside.
                                if i.get("revoked_at").is_none() {
                                    serial(i, &here);
                                }
                            }
                        }
                        other => serial(other, &here),
                    }
                }
                if k == "crl_number" {
                    match x {
                        Value::Null => {}
                        Value::String(n) => assert!(
                            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
                            "{here}: {n:?}"
                        ),
                        other => panic!("{here}: a CRL number is a decimal string: {other}"),
                    }
                }
                forms(x, &here);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                forms(x, &format!("{at}[{i}]"));
            }
        }
        Value::String(t) => {
            let b = t.as_bytes();
            let looks_dated = b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T';
            assert!(
                !(looks_dated && t.contains("UTC")),
                "{at}: Puppet's time form outside inventory.txt: {t:?}"
            );
        }
        _ => {}
    }
}

/// One serial object: `hex` is `0x` and at least four uppercase digits, `decimal` the same
/// number.
fn serial(v: &Value, at: &str) {
    let s: Serial = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{at}: a serial is {{hex, decimal}}: {e}: {v}"));
    let digits = s
        .hex
        .strip_prefix("0x")
        .unwrap_or_else(|| panic!("{at}: {v}"));
    assert!(
        digits.len() >= 4
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
        "{at}: {v}"
    );
    let n = u128::from_str_radix(digits, 16).unwrap_or_else(|_| panic!("{at}: {v}"));
    assert_eq!(
        n.to_string(),
        s.decimal,
        "{at}: hex and decimal differ: {v}"
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Init {
    dir: String,
    subject: String,
    key_type: String,
    serial_number: Serial,
    not_before: String,
    not_after: String,
    fingerprint: String,
    files: Vec<String>,
    root: Option<Root>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Root {
    subject: String,
    not_after: String,
    fingerprint: String,
    key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Finding {
    subject: String,
    rule: String,
    severity: String,
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Import {
    dir: String,
    action: String,
    subject: String,
    key: String,
    chain_length: usize,
    crl_count: usize,
    not_after: String,
    fingerprint: String,
    next_serial: Serial,
    signed: usize,
    revoked: usize,
    requests: usize,
    findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Issued {
    name: String,
    serial_number: Serial,
    not_before: String,
    not_after: String,
    subject_alt_names: Vec<String>,
    fingerprint: String,
    certificate: String,
    key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submitted {
    name: String,
    state: String,
    file: String,
    serial_number: Option<Serial>,
    refused: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Signed {
    name: String,
    serial_number: Serial,
    not_after: String,
    fingerprint: String,
    certificate: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Renewed {
    name: String,
    serial_number: Serial,
    old_serial_number: Serial,
    not_after: String,
    fingerprint: String,
    rekeyed: bool,
    superseded: Vec<Serial>,
    certificate: Option<String>,
    key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaRenewed {
    ca_certificate: String,
    serial_number: Serial,
    old_serial_number: Serial,
    not_after: String,
    crl_number: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrlReport {
    revoked: Vec<Serial>,
    already_revoked: Vec<Serial>,
    reason: Option<String>,
    crl_number: String,
    next_update: String,
    removed: Vec<String>,
    pruned_expired: Option<Vec<Serial>>,
    pruned_duplicates: Option<Vec<Serial>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    findings: Vec<Finding>,
    repaired: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditFinding {
    node: String,
    subject: String,
    rule: String,
    severity: String,
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Audit {
    files: usize,
    nodes: usize,
    certificates: usize,
    keys: usize,
    csrs: usize,
    crls: usize,
    findings: Vec<AuditFinding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameResult {
    name: String,
    verified: bool,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Verify {
    subject: String,
    serial_number: Serial,
    not_after: String,
    intermediates: usize,
    revocation_checked: bool,
    names: Vec<NameResult>,
    verified: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Applied {
    path: String,
    what: String,
    action: String,
    mode: u32,
    uid: u32,
    gid: u32,
    backup: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Install {
    paths: Vec<Applied>,
    dry_run: bool,
    selinux: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Effective {
    key: String,
    value: Option<String>,
    source: String,
    options: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    file: Option<String>,
    values: Vec<Effective>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorBody {
    kind: String,
    exit_code: u8,
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorReport {
    version: u32,
    error: ErrorBody,
}

#[test]
fn every_command_writes_its_documented_json_with_one_serial_and_one_time_form() {
    let s = Scratch::new();
    let init: Init = json(&s, &["init", "--ca-name", "Puppet CA: contract.test"], 0);
    assert_eq!(init.serial_number, Serial::of(1));
    assert!(init.root.is_none());
    let chain: Init = json(
        &s,
        &[
            "init",
            "--dir",
            "chain",
            "--chain",
            "--root-key-out",
            "root.pem",
        ],
        0,
    );
    assert_eq!(chain.serial_number, Serial::of(2));
    assert!(is_rfc3339_utc(&chain.root.unwrap().not_after));

    // A CA copied from its files: nothing to report, the next serial right after the CA's.
    let import: Import = json(
        &s,
        &[
            "import",
            "--dir",
            "fresh",
            "--cert",
            "ca/ca_crt.pem",
            "--key",
            "ca/ca_key.pem",
        ],
        0,
    );
    assert_eq!(import.action, "created");
    assert_eq!(import.next_serial, Serial::of(2));
    assert!(
        import.findings.is_empty(),
        "a fresh import has nothing to report: {import:?}"
    );

    let issued: Vec<Issued> = json(
        &s,
        &[
            "issue",
            "a.example.net",
            "b.example.net",
            "c.example.net",
            "--alt-name",
            "shared.example.net",
            "--out",
            "pki",
        ],
        0,
    );
    let serials: Vec<Serial> = issued.iter().map(|i| i.serial_number.clone()).collect();
    assert_eq!(serials, [Serial::of(2), Serial::of(3), Serial::of(4)]);
    // The same serial and times as openssl reads in the certificate.
    let text = s.x509_text("pki/a.example.net.pem");
    assert!(text.contains("Serial Number: 2 (0x2)"), "{text}");

    s.ec_csr("q.key", "q.csr", "q.example.net", &[]);
    let submitted: Vec<Submitted> = json(&s, &["submit", "q.csr"], 0);
    assert_eq!(submitted[0].state, "requested");
    assert!(submitted[0].serial_number.is_none());
    let signed: Vec<Signed> = json(&s, &["sign", "q.example.net"], 0);
    assert_eq!(signed[0].serial_number, Serial::of(5));
    s.ec_csr("r.key", "r.csr", "r.example.net", &[]);
    let submitted: Vec<Submitted> = json(&s, &["submit", "r.csr", "--sign"], 0);
    assert_eq!(submitted[0].serial_number, Some(Serial::of(6)));

    let renewed: Vec<Renewed> = json(
        &s,
        &["renew", "a.example.net", "--supersede", "--out", "pki"],
        0,
    );
    assert_eq!(
        (
            renewed[0].serial_number.clone(),
            renewed[0].old_serial_number.clone()
        ),
        (Serial::of(7), Serial::of(2))
    );
    assert_eq!(renewed[0].superseded, [Serial::of(2)]);

    let revoked: CrlReport = json(&s, &["revoke", "b.example.net"], 0);
    assert_eq!(revoked.revoked, [Serial::of(3)]);
    assert_eq!(revoked.crl_number, "2");
    let again: CrlReport = json(&s, &["revoke", "--serial", "0x3"], 0);
    assert_eq!(again.already_revoked, [Serial::of(3)]);
    let cleaned: CrlReport = json(&s, &["clean", "c.example.net"], 0);
    assert_eq!(cleaned.revoked, [Serial::of(4)]);
    let pruned: CrlReport = json(&s, &["crl", "--prune"], 0);
    assert!(pruned.pruned_expired.is_some() && pruned.pruned_duplicates.is_some());
    let crl_shown: Value = json(&s, &["crl", "--show"], 0);
    assert_eq!(crl_shown[0]["crl_number"], pruned.crl_number.as_str());
    assert_eq!(crl_shown[0]["revoked"][0]["serial_number"]["hex"], "0x0002");

    let ca: CaRenewed = json(&s, &["renew", "--ca"], 0);
    assert_eq!(ca.old_serial_number, Serial::of(1));
    assert_eq!(ca.serial_number, Serial::of(8));

    let shown: Value = json(&s, &["show", "pki/a.example.net.pem"], 0);
    assert_eq!(shown["objects"][0]["serial_number"]["decimal"], "7");
    let listed: Value = json(&s, &["list", "--all"], 0);
    assert!(listed.as_array().unwrap().len() >= 4, "{listed}");

    let check: Check = json(&s, &["check"], 0);
    assert!(check.repaired.is_empty());

    let audit: Audit = json(
        &s,
        &[
            "audit",
            "pki",
            "--expect-name",
            "shared.example.net",
            "--ca",
            "ca/ca_crt.pem",
            "--crl",
            "ca/ca_crl.pem",
        ],
        1,
    );
    // b and c are revoked, a's old certificate too: found as such.
    assert!(
        audit.findings.iter().any(|f| f.rule == "revoked"),
        "{audit:?}"
    );

    let verify: Verify = json(
        &s,
        &[
            "verify",
            "pki/a.example.net.pem",
            "--name",
            "shared.example.net",
            "--crl",
        ],
        0,
    );
    assert_eq!(verify.serial_number, Serial::of(7));
    assert!(verify.verified && verify.revocation_checked);

    std::fs::create_dir(s.path("out")).unwrap();
    let install: Install = json(
        &s,
        &[
            "install",
            "a.example.net",
            "--from",
            "pki",
            "--layout",
            "files",
            "--cert",
            "out/a.pem",
            "--key",
            "out/a.key",
            "--ca",
            "out/ca.pem",
            "--crl",
            "out/crl.pem",
        ],
        0,
    );
    assert!(install
        .paths
        .iter()
        .any(|p| p.what == "certificate" && p.action == "created"));

    let config: Config = json(&s, &["config"], 0);
    assert!(config
        .values
        .iter()
        .any(|v| v.key == "dir" && v.source == "built-in"));
}

#[test]
fn a_failure_in_json_mode_is_one_json_object_on_stderr() {
    let s = Scratch::new();
    // Bad input the command finds (exit 2), and one clap finds (a missing value).
    for (args, kind, code, says) in [
        (
            &["--format", "json", "issue", "BAD..name"][..],
            "input",
            2,
            "BAD..name",
        ),
        (
            &["--format", "json", "list", "--dir", "nowhere"][..],
            "input",
            2,
            "nowhere",
        ),
        (
            &["issue", "--format=json", "--ttl"][..],
            "input",
            2,
            "--ttl",
        ),
        // clap's whole message, on one line: which argument is missing.
        (
            &["--format", "json", "verify"][..],
            "input",
            2,
            "--name <NAME>",
        ),
    ] {
        let run = s.run(args);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        let e: ErrorReport = serde_json::from_str(&run.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", run.stderr));
        assert_eq!(e.version, 2);
        assert_eq!(
            (e.error.kind.as_str(), i32::from(e.error.exit_code)),
            (kind, code)
        );
        assert!(
            e.error.message.contains(says),
            "{args:?}: {}",
            e.error.message
        );
    }
    // The text form is unchanged, and the last --format given decides.
    let run = s.run(&["list", "--dir", "nowhere"]);
    assert!(
        run.stderr.starts_with("clusterca: error: "),
        "{}",
        run.stderr
    );
    let run = s.run(&["--format", "json", "list", "--format", "text", "--bogus"]);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

#[test]
fn docs_json_md_states_the_version_the_binary_writes() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
    assert!(
        doc.contains(&format!("**Version: {}**", clusterca::output::JSON_VERSION)),
        "docs/json.md does not state version {}",
        clusterca::output::JSON_VERSION
    );
}
