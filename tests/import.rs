//! `import`: a CA directory made by the real `puppetserver ca setup` (committed under
//! fixtures/puppetserver, see fixtures/README.md) adopted in place, and CAs made by the real
//! `openssl` copied into new directories; what clusterca then signs is checked by openssl.

mod common;

use common::Scratch;
use serde_json::Value;

fn json(run: common::Run) -> Value {
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn der(s: &Scratch, file: &str) -> Vec<u8> {
    let pem = std::fs::read(s.path(file)).unwrap();
    clusterca_pki::inspect::certificates(&pem)
        .unwrap()
        .remove(0)
}

/// The issuer DN bytes of `leaf` equal the subject DN bytes of the first cert of `ca`.
fn issuer_is_ca_subject(s: &Scratch, leaf: &str, ca: &str) -> bool {
    let (issuer, _) = clusterca_pki::inspect::raw_names(&der(s, leaf)).unwrap();
    let (_, subject) = clusterca_pki::inspect::raw_names(&der(s, ca)).unwrap();
    issuer == subject
}

/// A CSR as a Puppet agent makes it: RSA key, CN = certname, `DNS:<certname>` plus
/// `dns_alt_names`, and `pp_*` extension requests from csr_attributes.yaml.
fn agent_csr(s: &Scratch, name: &str, extra: &[&str]) {
    let mut args = vec![
        "req".to_owned(),
        "-new".into(),
        "-newkey".into(),
        "rsa:2048".into(),
        "-nodes".into(),
        "-keyout".into(),
        format!("{name}.key"),
        "-out".into(),
        format!("{name}.csr"),
        "-subj".into(),
        format!("/CN={name}"),
        "-addext".into(),
        format!("subjectAltName=DNS:{name}"),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    s.openssl(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();
}

#[test]
fn a_puppetserver_cadir_is_adopted_in_place_and_signed_into() {
    let s = Scratch::new();
    common::copy_puppet_fixture(&s, "ca");
    let fixture_crl = s.read("ca/ca_crl.pem");
    let before = s.snapshot();

    let report = json(s.run(&["import", "--format", "json"]).ok());
    assert_eq!(report["action"], "adopted");
    assert_eq!(report["subject"], "/CN=Puppet CA: puppet.example.net");
    assert_eq!(report["key"], "RSA 4096");
    assert_eq!(report["chain_length"], 2);
    assert_eq!(report["crl_count"], 2);
    assert_eq!(report["next_serial"], common::serial_json(3));
    assert_eq!(report["signed"], 2);
    // `ca generate --ca-client` wrote no inventory line for admin: a note, nothing worse.
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule"], "not-in-inventory");
    assert_eq!(findings[0]["severity"], "info");
    // Nothing Puppet wrote was touched: only our lock file and the missing requests/ appeared.
    let mut after = s.snapshot();
    assert!(after
        .remove(std::path::Path::new("ca/clusterca.lock"))
        .is_some());
    assert_eq!(
        after
            .remove(std::path::Path::new("ca/requests"))
            .map(|e| e.1 & 0o7777),
        Some(0o755)
    );
    common::assert_unchanged(&before, &after, "import in place");

    // Issue into it, and sign an agent's CSR carrying Puppet's pp_* extensions.
    std::fs::create_dir_all(s.path("out")).unwrap();
    s.run(&[
        "issue",
        "web1.example.net",
        "web2.example.net",
        "--alt-name",
        "puppet.example.net",
        "--out",
        "out",
    ])
    .ok();
    agent_csr(
        &s,
        "agent.example.net",
        &[
            "-addext",
            "1.3.6.1.4.1.34380.1.1.13=ASN1:UTF8String:webserver",
            "-addext",
            "1.3.6.1.4.1.34380.1.2.1=ASN1:UTF8String:rack-12",
        ],
    );
    s.run(&["submit", "agent.example.net.csr"]).ok();
    s.run(&["sign", "agent.example.net"]).ok();

    for (cert, host) in [
        ("out/web1.example.net.pem", "puppet.example.net"),
        ("out/web2.example.net.pem", "web2.example.net"),
        ("ca/signed/agent.example.net.pem", "agent.example.net"),
    ] {
        let v = s.verify(cert, "-verify_hostname", host);
        assert_eq!(v.code, 0, "{cert}: {}{}", v.stdout, v.stderr);
        assert!(issuer_is_ca_subject(&s, cert, "ca/ca_crt.pem"), "{cert}");
        assert!(s
            .x509_text(cert)
            .contains("Signature Algorithm: sha256WithRSAEncryption"));
    }
    let agent = s.x509_text("ca/signed/agent.example.net.pem");
    assert!(agent.contains("1.3.6.1.4.1.34380.1.1.13:"), "{agent}");
    assert!(
        agent.contains("webserver") && agent.contains("rack-12"),
        "{agent}"
    );
    // Serials continue from Puppet's `serial` file (`03\n`); inventory in Puppet's format.
    let inventory = s.read("ca/inventory.txt");
    let lines: Vec<&str> = inventory.lines().collect();
    assert_eq!(lines.len(), 4, "{inventory}");
    for (line, (serial, cn)) in lines[1..].iter().zip([
        ("0x0003", "web1.example.net"),
        ("0x0004", "web2.example.net"),
        ("0x0005", "agent.example.net"),
    ]) {
        assert!(line.starts_with(&format!("{serial} ")), "{line}");
        assert!(line.ends_with(&format!("UTC /CN={cn}")), "{line}");
    }
    assert_eq!(s.read("ca/serial"), "0006");

    // Revocation: only the first (the intermediate's) CRL is replaced; the root's stays.
    s.run(&["revoke", "web2.example.net"]).ok();
    let revoked = s.crl_verify("out/web2.example.net.pem", &[]);
    assert_ne!(revoked.code, 0);
    assert!(
        revoked.stderr.contains("certificate revoked")
            || revoked.stdout.contains("certificate revoked"),
        "{}{}",
        revoked.stdout,
        revoked.stderr
    );
    // -crl_check_all needs the root's CRL too: the chain in ca_crl.pem is still whole.
    for cert in [
        "out/web1.example.net.pem",
        "ca/signed/agent.example.net.pem",
    ] {
        let v = s.crl_verify(cert, &["-crl_check_all"]);
        assert_eq!(v.code, 0, "{cert}: {}{}", v.stdout, v.stderr);
    }
    let crls = |text: &str| -> Vec<String> {
        text.split_inclusive("-----END X509 CRL-----\n")
            .map(str::to_owned)
            .collect()
    };
    let (old, new) = (crls(&fixture_crl), crls(&s.read("ca/ca_crl.pem")));
    assert_eq!(old.len(), 2);
    assert_eq!(new.len(), 2);
    assert_ne!(old[0], new[0]);
    assert_eq!(old[1], new[1], "the root CA's CRL was rewritten");

    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let list = json(s.run(&["list", "--all", "--format", "json"]).ok());
    let state = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["state"].as_str().unwrap().to_owned())
    };
    assert_eq!(state("web2.example.net").as_deref(), Some("revoked"));
    assert_eq!(state("puppet01.example.net").as_deref(), Some("signed"));
}

#[test]
fn each_of_puppets_serial_formats_is_continued() {
    // Server: `%04X` no newline; CLI setup: `002\n`; CLI generate: lowercase with newline.
    for text in ["0007", "007\n", "7\n", "0x7"] {
        let s = Scratch::new();
        common::copy_puppet_fixture(&s, "ca");
        std::fs::write(s.path("ca/serial"), text).unwrap();
        s.run(&["import"]).ok();
        std::fs::create_dir_all(s.path("out")).unwrap();
        std::fs::create_dir_all(s.path("out")).unwrap();
        s.run(&["issue", "node.example.net", "--out", "out"]).ok();
        let inventory = s.read("ca/inventory.txt");
        assert!(
            inventory.lines().last().unwrap().starts_with("0x0007 "),
            "{text:?}: {inventory}"
        );
        assert_eq!(s.read("ca/serial"), "0008", "after {text:?}");
    }
}

/// A self-signed CA made by openssl: `DIR/ca.key` (PKCS#8) and `DIR/ca.crt`.
fn openssl_ca(s: &Scratch, dir: &str, subj: &str, extra: &[&str]) {
    std::fs::create_dir_all(s.path(dir)).unwrap();
    let (key, crt) = (format!("{dir}/ca.key"), format!("{dir}/ca.crt"));
    let mut args = vec![
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &crt, "-days",
        "365", "-subj", subj,
    ];
    args.extend_from_slice(extra);
    s.openssl(&args).ok();
}

const CA_EXTS: [&str; 4] = [
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
];

/// A CRL by `dir`'s CA revoking `serial` (hex), made by `openssl ca -gencrl`.
fn openssl_crl(s: &Scratch, dir: &str, serial: &str) {
    std::fs::write(
        s.path(&format!("{dir}/index.txt")),
        format!("R\t301121000000Z\t251121000000Z\t{serial}\tunknown\t/CN=old.example.net\n"),
    )
    .unwrap();
    std::fs::write(s.path(&format!("{dir}/crlnumber")), "07\n").unwrap();
    std::fs::write(
        s.path(&format!("{dir}/openssl.cnf")),
        format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {dir}/index.txt\ncrlnumber = {dir}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n"
        ),
    )
    .unwrap();
    s.openssl(&[
        "ca",
        "-gencrl",
        "-config",
        &format!("{dir}/openssl.cnf"),
        "-keyfile",
        &format!("{dir}/ca.key"),
        "-cert",
        &format!("{dir}/ca.crt"),
        "-out",
        &format!("{dir}/ca.crl"),
    ])
    .ok();
}

#[test]
fn an_openssl_ca_with_its_crl_is_copied_into_a_new_directory() {
    let s = Scratch::new();
    openssl_ca(&s, "ossl", "/O=Example/CN=Example Issuing CA", &CA_EXTS);
    openssl_crl(&s, "ossl", "10");
    let report = json(
        s.run(&[
            "import",
            "--cert",
            "ossl/ca.crt",
            "--key",
            "ossl/ca.key",
            "--crl",
            "ossl/ca.crl",
            "--format",
            "json",
        ])
        .ok(),
    );
    assert_eq!(report["action"], "created");
    assert_eq!(report["key"], "RSA 2048");
    // One past the highest serial the CRL revokes.
    assert_eq!(report["next_serial"], common::serial_json(0x11));
    // At most a note: serial 1 was never recorded by this directory.
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "info"));
    assert_eq!(s.mode("ca/ca_key.pem"), common::ca_key_mode());
    assert!(s
        .read("ca/ca_key.pem")
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(
        s.read("ca/ca_crt.pem").matches("BEGIN CERTIFICATE").count(),
        1
    );

    std::fs::create_dir_all(s.path("out")).unwrap();
    s.run(&[
        "issue",
        "web1.example.net",
        "web2.example.net",
        "--alt-name",
        "pool.example.net",
        "--out",
        "out",
        // Within the OpenSSL CA's year.
        "--ttl",
        "90d",
    ])
    .ok();
    assert!(s.read("ca/inventory.txt").starts_with("0x0011 "));
    for cert in ["out/web1.example.net.pem", "out/web2.example.net.pem"] {
        let v = s.crl_verify(cert, &["-verify_hostname", "pool.example.net"]);
        assert_eq!(v.code, 0, "{cert}: {}{}", v.stdout, v.stderr);
        assert!(issuer_is_ca_subject(&s, cert, "ossl/ca.crt"), "{cert}");
    }
    s.run(&["revoke", "web1.example.net"]).ok();
    let v = s.crl_verify("out/web1.example.net.pem", &[]);
    assert!(v.stderr.contains("certificate revoked"), "{}", v.stderr);
    assert_eq!(s.crl_verify("out/web2.example.net.pem", &[]).code, 0);
    // The CRL kept openssl's entry and moved on from its number (7).
    let crl = s
        .openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-text"])
        .ok()
        .stdout;
    assert!(crl.contains("Serial Number: 10"), "{crl}");
    assert!(crl.contains("Serial Number: 11"), "{crl}");
    assert!(
        crl.contains("X509v3 CRL Number: \n                8"),
        "{crl}"
    );
    s.run(&["check"]).ok();
}

#[test]
fn an_intermediate_bundle_without_a_crl_gets_a_new_crl() {
    let s = Scratch::new();
    openssl_ca(&s, "root", "/CN=Example Root CA", &CA_EXTS);
    // An EC intermediate with a SEC1 key, signed by the root.
    std::fs::create_dir_all(s.path("int")).unwrap();
    s.openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "int/ca.key",
    ])
    .ok();
    s.openssl(&[
        "req",
        "-new",
        "-key",
        "int/ca.key",
        "-out",
        "int/ca.csr",
        "-subj",
        "/CN=Example Intermediate CA",
    ])
    .ok();
    std::fs::write(
        s.path("int/ext.cnf"),
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n",
    )
    .unwrap();
    s.openssl(&[
        "x509",
        "-req",
        "-in",
        "int/ca.csr",
        "-CA",
        "root/ca.crt",
        "-CAkey",
        "root/ca.key",
        "-set_serial",
        "5",
        "-days",
        "365",
        "-extfile",
        "int/ext.cnf",
        "-out",
        "int/ca.crt",
    ])
    .ok();
    let bundle = s.read("int/ca.crt") + &s.read("root/ca.crt");
    std::fs::write(s.path("bundle.pem"), &bundle).unwrap();

    let report = json(
        s.run(&[
            "import",
            "--cert",
            "bundle.pem",
            "--key",
            "int/ca.key",
            "--format",
            "json",
        ])
        .ok(),
    );
    assert_eq!(report["chain_length"], 2);
    assert_eq!(report["key"], "ECDSA P-256");
    assert_eq!(report["next_serial"], common::serial_json(2));
    assert!(s.crl_signed_by_ca());
    assert!(s.crl_aki_is_ca_ski());
    std::fs::create_dir_all(s.path("out")).unwrap();
    s.run(&["issue", "node.example.net", "--out", "out", "--ttl", "90d"])
        .ok();
    let v = s.crl_verify(
        "out/node.example.net.pem",
        &["-verify_hostname", "node.example.net"],
    );
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(issuer_is_ca_subject(
        &s,
        "out/node.example.net.pem",
        "int/ca.crt"
    ));
}

#[test]
fn unusable_cas_are_refused_and_nothing_is_written() {
    let s = Scratch::new();
    openssl_ca(&s, "good", "/CN=Good CA", &CA_EXTS);
    openssl_ca(&s, "other", "/CN=Other CA", &CA_EXTS);
    openssl_crl(&s, "other", "10");
    openssl_ca(
        &s,
        "leaf",
        "/CN=leaf.example.net",
        &["-addext", "basicConstraints=critical,CA:FALSE"],
    );
    openssl_ca(
        &s,
        "nosign",
        "/CN=No Sign CA",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,digitalSignature,cRLSign",
        ],
    );
    openssl_ca(&s, "repeated", "/OU=ops/OU=pki/CN=Repeated CA", &CA_EXTS);
    let mut multi = vec!["-multivalue-rdn"];
    multi.extend_from_slice(&CA_EXTS);
    openssl_ca(&s, "multi", "/CN=Multi CA+O=Example", &multi);
    std::fs::write(
        s.path("reversed.pem"),
        s.read("good/ca.crt") + &s.read("other/ca.crt"),
    )
    .unwrap();
    std::fs::write(
        s.path("garbage.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();

    let cases: [(&[&str], &str, &str); 10] = [
        (
            &["--cert", "good/ca.crt", "--key", "other/ca.key"],
            "other/ca.key",
            "does not match",
        ),
        (
            &["--cert", "leaf/ca.crt", "--key", "leaf/ca.key"],
            "leaf/ca.crt",
            "not a CA certificate",
        ),
        (
            &["--cert", "nosign/ca.crt", "--key", "nosign/ca.key"],
            "nosign/ca.crt",
            "lacks keyCertSign",
        ),
        (
            &["--cert", "repeated/ca.crt", "--key", "repeated/ca.key"],
            "repeated/ca.crt",
            "appears more than once",
        ),
        (
            &["--cert", "multi/ca.crt", "--key", "multi/ca.key"],
            "multi/ca.crt",
            "multi-valued RDN",
        ),
        (
            &[
                "--cert",
                "good/ca.crt",
                "--key",
                "good/ca.key",
                "--crl",
                "other/ca.crl",
            ],
            "other/ca.crl",
            "not signed by the CA",
        ),
        (
            &["--cert", "reversed.pem", "--key", "good/ca.key"],
            "reversed.pem",
            "not signed by certificate 2",
        ),
        (
            &["--cert", "garbage.pem", "--key", "good/ca.key"],
            "garbage.pem",
            "malformed",
        ),
        (
            &["--cert", "good/ca.crt", "--key", "missing.key"],
            "missing.key",
            "No such file",
        ),
        (
            &[
                "--cert",
                "good/ca.crt",
                "--key",
                "good/ca.key",
                "--next-serial",
                "zz",
            ],
            "--next-serial",
            "hexadecimal",
        ),
    ];
    let before = s.snapshot();
    for (args, names, says) in cases {
        let mut all = vec!["import"];
        all.extend_from_slice(args);
        let run = s.run(&all);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(names), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
        common::assert_unchanged(&before, &s.snapshot(), &format!("{args:?}"));
    }
    // Into a directory that is already a CA: refused, the CA untouched.
    s.run(&["init"]).ok();
    let before = s.snapshot();
    let run = s.run(&["import", "--cert", "good/ca.crt", "--key", "good/ca.key"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    common::assert_unchanged(&before, &s.snapshot(), "import over a CA");
    // In place, a partial CA directory (Puppet Server refuses to start on it too).
    std::fs::remove_file(s.path("ca/serial")).unwrap();
    let run = s.run(&["import"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("serial"), "{}", run.stderr);
}

#[test]
fn the_import_report_counts_in_words() {
    let s = Scratch::new();
    openssl_ca(&s, "ossl", "/CN=Words CA", &CA_EXTS);
    let run = s
        .run(&["import", "--cert", "ossl/ca.crt", "--key", "ossl/ca.key"])
        .ok();
    assert!(
        run.stdout
            .contains("\n  bundle       1 certificate; 1 CRL\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("(s)"), "{}", run.stdout);
}
