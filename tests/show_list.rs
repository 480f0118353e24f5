//! `show` and `list`: what they report, in text and in JSON that deserializes into the
//! documented schema (docs/json.md) with unknown fields denied.

// The schema structs mirror docs/json.md field for field so that deserializing with unknown
// fields denied checks the whole contract; not every field is asserted on.
#![allow(dead_code, clippy::large_enum_variant)]

mod common;

use common::{is_rfc3339_utc, Scratch, Serial};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shown {
    source: String,
    objects: Vec<Object>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Object {
    Certificate(Cert),
    Csr(Csr),
    Crl(Crl),
    PrivateKey(PrivateKey),
    PublicKey(Key),
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Key {
    algorithm: String,
    bits: u32,
    curve: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BasicConstraints {
    ca: bool,
    path_len: Option<u32>,
    critical: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cert {
    subject: String,
    subject_oneline: String,
    issuer: String,
    serial_number: Serial,
    not_before: String,
    not_after: String,
    seconds_left: i64,
    subject_alt_names: Vec<String>,
    dns_alt_names: Vec<String>,
    public_key: Key,
    signature_algorithm: String,
    basic_constraints: Option<BasicConstraints>,
    key_usage: Vec<String>,
    extended_key_usage: Vec<String>,
    subject_key_identifier: Option<String>,
    fingerprint: String,
    revoked: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Csr {
    subject: String,
    subject_alt_names: Vec<String>,
    dns_alt_names: Vec<String>,
    public_key: Key,
    signature_algorithm: String,
    signature_valid: bool,
    requested_extensions: Vec<String>,
    fingerprint: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Revoked {
    serial_number: Serial,
    revoked_at: String,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Crl {
    issuer: String,
    this_update: String,
    next_update: Option<String>,
    crl_number: Option<String>,
    signature_algorithm: String,
    revoked: Vec<Revoked>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateKey {
    format: String,
    public_key: Key,
    matches_certificate: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fingerprints {
    #[serde(rename = "SHA1")]
    sha1: String,
    #[serde(rename = "SHA256")]
    sha256: String,
    #[serde(rename = "SHA512")]
    sha512: String,
    default: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Status {
    name: String,
    state: String,
    dns_alt_names: Vec<String>,
    subject_alt_names: Vec<String>,
    authorization_extensions: serde_json::Map<String, serde_json::Value>,
    fingerprint: String,
    fingerprints: Fingerprints,
    serial_number: Option<Serial>,
    not_before: Option<String>,
    not_after: Option<String>,
    seconds_left: Option<i64>,
}

fn show_json(s: &Scratch, args: &[&str]) -> Shown {
    let mut full = vec!["--format", "json", "show"];
    full.extend_from_slice(args);
    let run = s.run(&full).ok();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.stdout))
}

/// openssl's SHA-256 fingerprint line (`sha256 Fingerprint=AB:CD...`) → `AB:CD...`.
fn openssl_fingerprint(s: &Scratch, cert: &str) -> String {
    let out = s
        .openssl(&["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"])
        .ok();
    out.stdout.trim().split_once('=').unwrap().1.to_owned()
}

fn setup() -> Scratch {
    let s = Scratch::new();
    s.run(&["init", "--ca-name", "Puppet CA: show.test"]).ok();
    s.run(&[
        "issue",
        "puppet.example.net",
        "--alt-name",
        "puppet,IP:192.0.2.10",
    ])
    .ok();
    s
}

#[test]
fn certificate_json_matches_what_openssl_reads() {
    let s = setup();
    let shown = show_json(&s, &["puppet.example.net.pem"]);
    assert_eq!(shown.source, "puppet.example.net.pem");
    let [Object::Certificate(c)] = &shown.objects[..] else {
        panic!("{:?}", shown.objects)
    };
    assert_eq!(c.subject, "CN=puppet.example.net");
    assert_eq!(c.subject_oneline, "/CN=puppet.example.net");
    assert_eq!(c.issuer, "CN=Puppet CA: show.test");
    assert_eq!(c.serial_number, Serial::of(2));
    assert_eq!(
        c.subject_alt_names,
        ["DNS:puppet", "DNS:puppet.example.net", "IP:192.0.2.10"]
    );
    assert_eq!(c.dns_alt_names, ["puppet", "puppet.example.net"]);
    assert_eq!(
        c.public_key,
        Key {
            algorithm: "ECDSA".into(),
            bits: 256,
            curve: Some("P-256".into())
        }
    );
    assert_eq!(c.signature_algorithm, "ecdsa-with-SHA256");
    let bc = c.basic_constraints.as_ref().unwrap();
    assert!(!bc.ca && bc.critical && bc.path_len.is_none());
    assert_eq!(c.key_usage, ["digitalSignature"]);
    assert_eq!(c.extended_key_usage, ["serverAuth", "clientAuth"]);
    assert!(c.subject_key_identifier.is_some());
    assert_eq!(
        c.fingerprint,
        openssl_fingerprint(&s, "puppet.example.net.pem")
    );
    // Five years less a day of backdating: between 1820 and 1826 days left.
    let days = c.seconds_left / 86_400;
    assert!((1820..=1826).contains(&days), "{days} days left");
    assert!(is_rfc3339_utc(&c.not_before) && is_rfc3339_utc(&c.not_after));

    // The same certificate by certname, from signed/.
    let by_name = show_json(&s, &["puppet.example.net"]);
    assert!(by_name.source.ends_with("signed/puppet.example.net.pem"));
    let text = s.run(&["show", "puppet.example.net.pem"]).ok().stdout;
    assert!(
        text.contains("alt names       DNS:puppet, DNS:puppet.example.net, IP:192.0.2.10"),
        "{text}"
    );
    assert!(
        text.contains(&format!("(SHA256) {}", c.fingerprint)),
        "{text}"
    );
}

#[test]
fn bundles_der_csrs_crls_and_keys_from_openssl() {
    let s = setup();
    // A bundle: every block is shown.
    let bundle = s.read("puppet.example.net.pem") + &s.read("ca/ca_crt.pem");
    std::fs::write(s.path("bundle.pem"), bundle).unwrap();
    let shown = show_json(&s, &["bundle.pem"]);
    assert_eq!(shown.objects.len(), 2);
    assert!(
        matches!(&shown.objects[1], Object::Certificate(c) if c.basic_constraints.as_ref().unwrap().ca)
    );

    // DER.
    s.openssl(&[
        "x509",
        "-in",
        "puppet.example.net.pem",
        "-outform",
        "DER",
        "-out",
        "cert.der",
    ])
    .ok();
    let der = show_json(&s, &["cert.der"]);
    assert!(
        matches!(&der.objects[..], [Object::Certificate(c)] if c.serial_number == Serial::of(2))
    );

    // A CSR made by openssl, with SANs.
    s.openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        "csr.key",
        "-out",
        "node.csr",
        "-subj",
        "/CN=node.example.net",
        "-addext",
        "subjectAltName=DNS:node.example.net,DNS:smartproxy.example.net",
    ])
    .ok();
    let csr = show_json(&s, &["node.csr"]);
    let [Object::Csr(r)] = &csr.objects[..] else {
        panic!("{:?}", csr.objects)
    };
    assert_eq!(r.subject, "CN=node.example.net");
    assert_eq!(
        r.dns_alt_names,
        ["node.example.net", "smartproxy.example.net"]
    );
    assert!(r.signature_valid);
    assert_eq!(r.public_key.curve.as_deref(), Some("P-384"));
    assert!(r.requested_extensions.contains(&"2.5.29.17".to_owned()));

    // The CA's CRL.
    let crl = show_json(&s, &["ca/ca_crl.pem"]);
    let [Object::Crl(l)] = &crl.objects[..] else {
        panic!("{:?}", crl.objects)
    };
    assert_eq!(l.issuer, "CN=Puppet CA: show.test");
    assert_eq!(l.crl_number.as_deref(), Some("0"));
    assert!(l.revoked.is_empty() && l.next_update.is_some());

    // Keys in OpenSSL's traditional forms: PKCS#1 RSA and SEC1 EC, each matched to a cert.
    s.openssl(&["genrsa", "-traditional", "-out", "rsa.key", "2048"])
        .ok();
    s.openssl(&[
        "req", "-new", "-x509", "-key", "rsa.key", "-out", "rsa.pem", "-subj", "/CN=rsa", "-days",
        "1",
    ])
    .ok();
    s.openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "ec.key",
    ])
    .ok();
    s.openssl(&[
        "req", "-new", "-x509", "-key", "ec.key", "-out", "ec.pem", "-subj", "/CN=ec", "-days", "1",
    ])
    .ok();
    assert!(s.read("rsa.key").contains("BEGIN RSA PRIVATE KEY"));
    assert!(s.read("ec.key").contains("BEGIN EC PRIVATE KEY"));
    for (key, cert, format, algorithm, bits) in [
        ("rsa.key", "rsa.pem", "pkcs1", "RSA", 2048),
        ("ec.key", "ec.pem", "sec1", "ECDSA", 256),
        (
            "puppet.example.net.key.pem",
            "puppet.example.net.pem",
            "pkcs8",
            "ECDSA",
            256,
        ),
    ] {
        let shown = show_json(&s, &[key, "--cert", cert]);
        let [Object::PrivateKey(k)] = &shown.objects[..] else {
            panic!("{:?}", shown.objects)
        };
        assert_eq!(
            (
                k.format.as_str(),
                k.public_key.algorithm.as_str(),
                k.public_key.bits
            ),
            (format, algorithm, bits)
        );
        assert_eq!(k.matches_certificate, Some(true), "{key}");
    }
    // A key against the wrong certificate: reported, exit 1, and the key itself never printed.
    let run = s.run(&["show", "rsa.key", "--cert", "ec.pem"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("matches cert    NO"), "{}", run.stdout);
    assert!(!run.stdout.contains("PRIVATE KEY"));
    // A public key.
    let shown = show_json(&s, &["ca/ca_pub.pem"]);
    assert!(matches!(&shown.objects[..], [Object::PublicKey(k)] if k.algorithm == "ECDSA"));
}

#[test]
fn list_reports_puppet_certificate_status_fields() {
    let s = setup();
    s.run(&[
        "issue",
        "proxy01.example.net",
        "proxy02.example.net",
        "--alt-name",
        "smartproxy.example.net",
    ])
    .ok();
    // Without --all: pending requests only, as `puppetserver ca list`.
    let pending: Vec<Status> =
        serde_json::from_str(&s.run(&["--format", "json", "list"]).ok().stdout).unwrap();
    assert!(pending.is_empty());
    let run = s.run(&["--format", "json", "list", "--all"]).ok();
    let all: Vec<Status> =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let names: Vec<&str> = all.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "proxy01.example.net",
            "proxy02.example.net",
            "puppet.example.net"
        ]
    );
    for st in &all {
        assert_eq!(st.state, "signed");
        let left = st.seconds_left.expect("seconds_left of a certificate");
        assert!(
            (5 * 365 - 1) * 86_400 < left && left <= 5 * 365 * 86_400,
            "{left}"
        );
        assert!(st.authorization_extensions.is_empty());
        assert_eq!(st.fingerprint, st.fingerprints.sha256);
        assert_eq!(st.fingerprint, st.fingerprints.default);
        assert_eq!(st.fingerprints.sha1.len(), 20 * 3 - 1);
        assert_eq!(st.fingerprints.sha512.len(), 64 * 3 - 1);
        assert_eq!(
            st.fingerprint,
            openssl_fingerprint(&s, &format!("ca/signed/{}.pem", st.name))
        );
        assert!(is_rfc3339_utc(st.not_before.as_deref().unwrap()));
        assert!(is_rfc3339_utc(st.not_after.as_deref().unwrap()));
    }
    let puppet = &all[2];
    assert_eq!(puppet.serial_number, Some(Serial::of(2)));
    assert_eq!(puppet.dns_alt_names, ["puppet", "puppet.example.net"]);
    // Puppet puts IP alt names first.
    assert_eq!(
        puppet.subject_alt_names,
        ["IP:192.0.2.10", "DNS:puppet", "DNS:puppet.example.net"]
    );
    assert_eq!(all[1].serial_number, Some(Serial::of(4)));
    assert!(all[1]
        .dns_alt_names
        .contains(&"smartproxy.example.net".to_owned()));
    // The inventory agrees with list on serial and dates (in Puppet's form there).
    let inv = s.read("ca/inventory.txt");
    let line = inv
        .lines()
        .find(|l| l.ends_with("/CN=puppet.example.net"))
        .unwrap();
    let puppet_form = |t: &str| t.replace('Z', "UTC");
    assert_eq!(
        line,
        format!(
            "{} {} {} /CN=puppet.example.net",
            puppet.serial_number.as_ref().unwrap().hex,
            puppet_form(puppet.not_before.as_deref().unwrap()),
            puppet_form(puppet.not_after.as_deref().unwrap())
        )
    );

    let text = s.run(&["list", "--all"]).ok().stdout;
    assert!(text.starts_with("NAME"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("puppet.example.net")
            && l.contains("signed")
            && l.contains("DNS:puppet")),
        "{text}"
    );
}

#[test]
fn text_output_escapes_control_characters_from_certificates() {
    let s = Scratch::new();
    s.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "evil.key",
        "-out",
        "evil.pem",
        "-days",
        "1",
        "-subj",
        "/CN=evil\u{1b}[31mred",
    ])
    .ok();
    let run = s.run(&["show", "evil.pem"]).ok();
    assert!(
        !run.stdout.contains('\u{1b}'),
        "raw escape reached the terminal: {:?}",
        run.stdout
    );
    assert!(run.stdout.contains("\\u{1b}[31mred"), "{}", run.stdout);
}

#[test]
fn show_dash_reads_standard_input() {
    let s = setup();
    let from_file = s
        .run(&["--format", "json", "show", "puppet.example.net.pem"])
        .ok()
        .stdout;
    let out = s
        .cmd(&["--format", "json", "show", "-"])
        .stdin(std::fs::File::open(s.path("puppet.example.net.pem")).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let from_stdin = String::from_utf8(out.stdout).unwrap();
    // The same objects; only the file named differs.
    let strip = |t: &str| -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(t).unwrap();
        v.as_object_mut().unwrap().remove("source");
        // The two runs may straddle a second boundary.
        for o in v["objects"].as_array_mut().unwrap() {
            o.as_object_mut().unwrap().remove("seconds_left");
        }
        v
    };
    assert_eq!(strip(&from_stdin), strip(&from_file));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&from_stdin).unwrap()["source"],
        "-"
    );
    // Nothing on standard input is bad input, said as such.
    let out = s
        .cmd(&["show", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("clusterca: error: -: "));
}

#[test]
fn list_names_shows_those_certnames_in_any_state() {
    let s = setup();
    s.run(&["issue", "a.example.net", "b.example.net"]).ok();
    s.run(&["revoke", "b.example.net"]).ok();
    let run = s
        .run(&[
            "--format",
            "json",
            "list",
            "b.example.net",
            "puppet.example.net",
        ])
        .ok();
    let listed: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<(&str, &str)> = listed
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("b.example.net", "revoked"),
            ("puppet.example.net", "signed")
        ]
    );
    // An unknown name: the others are listed, it is named on stderr, exit 1.
    let run = s.run(&["list", "a.example.net", "nobody.example.net"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("a.example.net") && !run.stdout.contains("b.example.net"));
    assert_eq!(
        run.stderr,
        "clusterca: no request or certificate for nobody.example.net\n"
    );
    // A name that is no certname is bad input.
    let run = s.run(&["list", "../x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
