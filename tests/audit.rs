//! `audit` over a fleet made in the test: Puppet ssldirs and plain directories holding real
//! certificates from clusterca and from `openssl`, with one node for each problem. The audit
//! must find each problem exactly once and nothing on the good nodes.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use common::Scratch;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Report {
    files: usize,
    nodes: usize,
    certificates: usize,
    keys: usize,
    csrs: usize,
    crls: usize,
    findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Finding {
    node: String,
    subject: String,
    rule: String,
    severity: String,
    message: String,
}

const SHARED: &str = "puppet.example.net";

/// A Puppet agent ssldir for `name` at `fleet/<node>/ssl`, from the files `issue` wrote.
fn puppet_node(s: &Scratch, node: &str, name: &str) {
    let ssl = format!("fleet/{node}/ssl");
    for d in ["certs", "private_keys"] {
        std::fs::create_dir_all(s.path(&format!("{ssl}/{d}"))).unwrap();
    }
    std::fs::copy(
        s.path(&format!("out/{name}.pem")),
        s.path(&format!("{ssl}/certs/{name}.pem")),
    )
    .unwrap();
    std::fs::copy(
        s.path("ca/ca_crt.pem"),
        s.path(&format!("{ssl}/certs/ca.pem")),
    )
    .unwrap();
    std::fs::copy(s.path("ca/ca_crl.pem"), s.path(&format!("{ssl}/crl.pem"))).unwrap();
    let key = s.path(&format!("{ssl}/private_keys/{name}.pem"));
    std::fs::copy(s.path(&format!("out/{name}.key.pem")), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
}

fn issue(s: &Scratch, dir: &str, names: &[&str], alt: Option<&str>) {
    let mut args = vec!["issue", "--dir", dir, "--out", "out"];
    args.extend_from_slice(names);
    if let Some(a) = alt {
        args.extend_from_slice(&["--alt-name", a]);
    }
    s.run(&args).ok();
}

/// A certificate signed by our CA with `openssl ca`, valid over [start, end] (openssl's
/// YYYYMMDDHHMMSSZ), with SAN DNS:name,DNS:puppet.example.net and serial `serial` (hex).
fn openssl_signed(s: &Scratch, name: &str, start: &str, end: &str, serial: &str) {
    let d = format!("ossl-{name}");
    std::fs::create_dir_all(s.path(&d)).unwrap();
    std::fs::write(s.path(&format!("{d}/index.txt")), "").unwrap();
    std::fs::write(s.path(&format!("{d}/serial")), format!("{serial}\n")).unwrap();
    std::fs::write(
        s.path(&format!("{d}/ca.cnf")),
        format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {d}/index.txt\nserial = {d}/serial\nnew_certs_dir = {d}\ndefault_md = sha256\npolicy = p\ncopy_extensions = none\n[p]\ncommonName = supplied\n"
        ),
    )
    .unwrap();
    std::fs::write(
        s.path(&format!("{d}/ext.cnf")),
        format!("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:{name},DNS:{SHARED}\n"),
    )
    .unwrap();
    s.ec_csr(
        &format!("out/{name}.key.pem"),
        &format!("{d}/req.csr"),
        name,
        &[],
    );
    s.openssl(&[
        "ca",
        "-batch",
        "-config",
        &format!("{d}/ca.cnf"),
        "-cert",
        "ca/ca_crt.pem",
        "-keyfile",
        "ca/ca_key.pem",
        "-in",
        &format!("{d}/req.csr"),
        "-out",
        &format!("out/{name}.pem"),
        "-startdate",
        start,
        "-enddate",
        end,
        "-extfile",
        &format!("{d}/ext.cnf"),
        "-notext",
    ])
    .ok();
}

/// The fleet: node name -> the one finding it must produce (None: a good node).
fn fleet(s: &Scratch) -> BTreeMap<&'static str, Option<&'static str>> {
    s.run(&["init"]).ok();
    std::fs::create_dir_all(s.path("out")).unwrap();
    issue(
        s,
        "ca",
        &[
            "good1.example.net",
            "good2.example.net",
            "revoked.example.net",
            "mismatch.example.net",
            "loose.example.net",
        ],
        Some(SHARED),
    );
    issue(s, "ca", &["noname.example.net"], None);
    // The shared certificate, as a load-balanced pool carries it: one cert, one key, plain dir.
    issue(s, "ca", &[SHARED], Some("puppet"));
    // From openssl, signed by our CA: one good, one expired in 2021.
    openssl_signed(
        s,
        "good3.example.net",
        "20250101000000Z",
        "20351231000000Z",
        "1000",
    );
    openssl_signed(
        s,
        "expired.example.net",
        "20200101000000Z",
        "20210101000000Z",
        "1001",
    );
    // From another CA (named differently: one issuer name with two CAs would be a finding).
    s.run(&["init", "--dir", "foreign", "--ca-name", "Foreign CA"])
        .ok();
    issue(s, "foreign", &["foreign.example.net"], Some(SHARED));
    s.run(&["revoke", "revoked.example.net"]).ok();

    for (node, name) in [
        ("good1", "good1.example.net"),
        ("good2", "good2.example.net"),
        ("good3", "good3.example.net"),
        ("noname", "noname.example.net"),
        ("expired", "expired.example.net"),
        ("foreign", "foreign.example.net"),
        ("revoked", "revoked.example.net"),
        ("mismatch", "mismatch.example.net"),
        ("loose", "loose.example.net"),
    ] {
        puppet_node(s, node, name);
    }
    // The pool: plain files, no ssldir.
    std::fs::create_dir_all(s.path("fleet/pool")).unwrap();
    for f in [format!("{SHARED}.pem"), format!("{SHARED}.key.pem")] {
        std::fs::copy(
            s.path(&format!("out/{f}")),
            s.path(&format!("fleet/pool/{f}")),
        )
        .unwrap();
    }
    // A key that is not the certificate's.
    s.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "fleet/mismatch/ssl/private_keys/mismatch.example.net.pem",
    ])
    .ok();
    std::fs::set_permissions(
        s.path("fleet/mismatch/ssl/private_keys/mismatch.example.net.pem"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    // A world-readable key.
    std::fs::set_permissions(
        s.path("fleet/loose/ssl/private_keys/loose.example.net.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    // A corrupt PEM: half a certificate.
    std::fs::create_dir_all(s.path("fleet/corrupt/ssl/certs")).unwrap();
    let good = s.read("out/good1.example.net.pem");
    std::fs::write(
        s.path("fleet/corrupt/ssl/certs/corrupt.example.net.pem"),
        &good[..good.len() / 2],
    )
    .unwrap();
    // A symlink loop, and unrelated files that are not findings.
    std::fs::create_dir_all(s.path("fleet/loop")).unwrap();
    std::os::unix::fs::symlink("self.pem", s.path("fleet/loop/self.pem")).unwrap();
    std::fs::write(s.path("fleet/good1/ssl/README"), "not a certificate\n").unwrap();
    std::fs::write(s.path("fleet/good1/ssl/puppet.conf"), "[main]\n").unwrap();

    BTreeMap::from([
        ("good1", None),
        ("good2", None),
        ("good3", None),
        ("pool", None),
        ("noname", Some("name-missing")),
        ("expired", Some("expired")),
        ("foreign", Some("foreign-issuer")),
        ("revoked", Some("revoked")),
        ("mismatch", Some("key-mismatch")),
        ("loose", Some("key-readable")),
        ("corrupt", Some("unparseable")),
        ("loop", Some("symlink-loop")),
    ])
}

fn audit_json(s: &Scratch, extra: &[&str]) -> (i32, Report) {
    let mut args = vec![
        "audit",
        "fleet",
        "--expect-name",
        SHARED,
        "--ca",
        "ca/ca_crt.pem",
        "--crl",
        "ca/ca_crl.pem",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let run = s.run(&args);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let report: Report =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    (run.code, report)
}

/// The node directory's name under fleet/ (`fleet/good1/ssl` -> `good1`).
fn node_name(node: &str) -> String {
    node.trim_start_matches("fleet/")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn each_problem_is_found_exactly_once_and_good_nodes_are_clean() {
    let s = Scratch::new();
    let expected = fleet(&s);
    let (code, report) = audit_json(&s, &[]);
    assert_eq!(code, 1);
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &report.findings {
        found
            .entry(node_name(&f.node))
            .or_default()
            .push(f.rule.clone());
        assert!(f.subject.starts_with(&f.node), "{f:?}");
        assert!(!f.message.is_empty());
        assert_eq!(f.severity, "error", "{f:?}");
    }
    for (node, rule) in &expected {
        let got = found.remove(*node).unwrap_or_default();
        match rule {
            None => assert!(got.is_empty(), "good node {node} has findings: {got:?}"),
            Some(rule) => assert_eq!(got, [*rule], "{node}: {:?}", report.findings),
        }
    }
    assert!(found.is_empty(), "findings on unknown nodes: {found:?}");
    // Following links finds the same (the loop is still one finding).
    let (_, followed) = audit_json(&s, &["--follow"]);
    let key = |r: &Report| -> Vec<(String, String)> {
        r.findings
            .iter()
            .map(|f| (f.subject.clone(), f.rule.clone()))
            .collect()
    };
    assert_eq!(key(&followed), key(&report));
    // 12 nodes; the loop and corrupt nodes hold nothing recognisable.
    assert_eq!(report.nodes, 10, "{report:?}");
    assert_eq!(report.keys, 10);
    assert!(report.certificates >= 19, "{report:?}");
    assert_eq!(report.crls, 9);

    // Text: a summary by rule, then the failing files.
    let text = s.run(&[
        "audit",
        "fleet",
        "--expect-name",
        SHARED,
        "--ca",
        "ca/ca_crt.pem",
        "--crl",
        "ca/ca_crl.pem",
    ]);
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("RULE"), "{}", text.stdout);
    for rule in expected.values().flatten() {
        let row = text
            .stdout
            .lines()
            .find(|l| l.starts_with(rule))
            .unwrap_or_else(|| panic!("no summary row for {rule}:\n{}", text.stdout));
        assert!(row.trim_end().ends_with(" 1"), "{row}");
    }
    assert!(text
        .stdout
        .contains("fleet/loose/ssl/private_keys/loose.example.net.pem"));
}

#[test]
fn thresholds_owners_and_the_warning_window() {
    let s = Scratch::new();
    fleet(&s);
    // Only the good nodes: clean, exit 0.
    for good in ["fleet/good1", "fleet/good2", "fleet/good3", "fleet/pool"] {
        let run = s.run(&[
            "audit",
            good,
            "--expect-name",
            SHARED,
            "--ca",
            "ca/ca_crt.pem",
            "--crl",
            "ca/ca_crl.pem",
        ]);
        assert_eq!(run.code, 0, "{good}: {}", run.stdout);
        assert!(run.stdout.contains("clean"), "{}", run.stdout);
    }
    // Certificates live 5 years: a 6-year window makes every one of good1's a warning, which
    // fails only with --fail-on warning.
    let args = [
        "audit",
        "fleet/good1",
        "--expect-name",
        SHARED,
        "--warn-days",
        "2200",
    ];
    let run = s.run(&args);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("expiring"), "{}", run.stdout);
    let mut strict = args.to_vec();
    strict.extend_from_slice(&["--fail-on", "warning"]);
    assert_eq!(s.run(&strict).code, 1);
    // Key owners: root's files are not nobody's.
    let uid = nix::unistd::geteuid().as_raw().to_string();
    let run = s.run(&[
        "audit",
        "fleet/good1",
        "--expect-name",
        SHARED,
        "--key-owner",
        &uid,
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let run = s.run(&[
        "audit",
        "fleet/good1",
        "--expect-name",
        SHARED,
        "--key-owner",
        "65533",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("key-owner"), "{}", run.stdout);
    // Another name nobody carries: every node certificate lacks it.
    let (_, report) = audit_json(&s, &["--expect-name", "other.example.net"]);
    let missing = report
        .findings
        .iter()
        .filter(|f| f.rule == "name-missing")
        .count();
    // 10 node certificates (corrupt one unparsed) + noname's second miss.
    assert_eq!(missing, 11, "{:?}", report.findings);
}

#[test]
fn bad_arguments_are_one_line_errors() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    std::fs::write(s.path("junk.pem"), "junk").unwrap();
    for (args, needle) in [
        (vec!["audit", "nowhere", "--expect-name", SHARED], "nowhere"),
        (vec!["audit", ".", "--expect-name", "DNS:a b"], "a b"),
        (
            vec!["audit", ".", "--expect-name", SHARED, "--ca", "junk.pem"],
            "junk.pem",
        ),
        (
            vec![
                "audit",
                ".",
                "--expect-name",
                SHARED,
                "--crl",
                "ca/ca_crt.pem",
            ],
            "no CRL",
        ),
        (
            vec![
                "audit",
                ".",
                "--expect-name",
                SHARED,
                "--key-owner",
                "no-such-user-x",
            ],
            "no-such-user-x",
        ),
    ] {
        let run = s.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn weak_keys_sha1_signatures_and_reused_serials() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    std::fs::create_dir_all(s.path("fleet/odd")).unwrap();
    std::fs::write(
        s.path("ext.cnf"),
        format!("subjectAltName=DNS:{SHARED}\nbasicConstraints=CA:FALSE\n"),
    )
    .unwrap();
    // (file, key spec, digest, serial): one RSA-1024, one SHA-1, two sharing serial 0x77.
    for (name, key, digest, serial) in [
        ("weak", "rsa:1024", "-sha256", "0x70"),
        ("sha1", "ec", "-sha1", "0x71"),
        ("twin-a", "ec", "-sha256", "0x77"),
        ("twin-b", "ec", "-sha256", "0x77"),
    ] {
        let mut req = vec!["req", "-new", "-newkey", key, "-nodes", "-keyout"];
        let keyfile = format!("{name}.key");
        let csr = format!("{name}.csr");
        let subj = format!("/CN={name}.example.net");
        req.extend_from_slice(&[&keyfile, "-out", &csr, "-subj", &subj]);
        if key == "ec" {
            req.extend_from_slice(&["-pkeyopt", "ec_paramgen_curve:P-256"]);
        }
        s.openssl(&req).ok();
        let out = format!("fleet/odd/{name}.crt");
        s.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca/ca_crt.pem",
            "-CAkey",
            "ca/ca_key.pem",
            "-set_serial",
            serial,
            "-days",
            "365",
            digest,
            "-extfile",
            "ext.cnf",
            "-out",
            &out,
        ])
        .ok();
    }
    let (code, report) = audit_json(&s, &[]);
    assert_eq!(code, 1);
    let got: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.subject.trim_start_matches("fleet/odd/").to_owned(),
                f.rule.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("sha1.crt".to_owned(), "sha1-signature".to_owned()),
            ("twin-b.crt".to_owned(), "duplicate-serial".to_owned()),
            ("weak.crt".to_owned(), "weak-key".to_owned()),
        ],
        "{:?}",
        report.findings
    );
    assert!(report.findings[1].message.contains("twin-a.crt"));
}

#[test]
fn a_progress_line_only_on_a_terminal() {
    let s = Scratch::new();
    fleet(&s);
    // Not a terminal: nothing on stderr (audit_json asserts it).
    audit_json(&s, &[]);
    // A terminal, from util-linux `script` (Debian's bsdutils, always installed).
    if !common::have_program("script", "bsdutils") {
        return;
    }
    let cmd = format!(
        "{} audit fleet --expect-name {SHARED} >/dev/null",
        env!("CARGO_BIN_EXE_clusterca")
    );
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(tty.contains("audit ["), "{tty:?}");
    assert!(tty.contains(" files"), "{tty:?}");
}

#[test]
fn a_key_whose_private_half_is_damaged_is_found_with_check_keys() {
    // A reviewer's case: an OpenSSL P-256 key next to its certificate, one bit of the private
    // scalar flipped. The stored public key still matches, so the default audit (which
    // compares the stored public key, as documented) passes it; --check-keys loads the key and
    // finds it.
    let s = Scratch::new();
    s.run(&["init", "--dir", "ca"]).ok();
    std::fs::create_dir_all(s.path("node")).unwrap();
    s.openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "sec1.pem",
    ]);
    s.openssl(&[
        "pkcs8", "-topk8", "-nocrypt", "-in", "sec1.pem", "-outform", "DER", "-out", "key.der",
    ]);
    s.openssl(&[
        "req",
        "-new",
        "-key",
        "sec1.pem",
        "-subj",
        "/CN=n.example.net",
        "-out",
        "n.csr",
    ]);
    s.run(&["submit", "--dir", "ca", "--sign", "n.csr"]).ok();
    std::fs::copy(s.path("ca/signed/n.example.net.pem"), s.path("node/n.pem")).unwrap();
    // PKCS#8 of a P-256 key: the 32-byte scalar starts at byte 36.
    let mut der = std::fs::read(s.path("key.der")).unwrap();
    der[36 + 4] ^= 0x01;
    std::fs::write(s.path("node/n.key"), &der).unwrap();
    std::fs::set_permissions(s.path("node/n.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let audit = |extra: &[&str]| {
        let mut args = vec!["audit", "node", "--ca", "ca/ca_crt.pem", "--format", "json"];
        args.extend_from_slice(extra);
        let run = s.run(&args);
        let report: Report = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
        (run.code, report)
    };
    let (code, report) = audit(&[]);
    assert_eq!(code, 0, "{report:?}");
    assert_eq!(report.keys, 1, "{report:?}");
    let (code, report) = audit(&["--check-keys"]);
    assert_eq!(code, 1, "{report:?}");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == "unparseable" || f.rule == "key-mismatch"),
        "{report:?}"
    );
}
