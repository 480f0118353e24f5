//! `init --puppet` (what `puppetserver ca setup` makes) and `init --chain` (an offline root),
//! read back with the real openssl and compared with Puppet's own output in
//! fixtures/puppetserver; the refusals write nothing. The real Puppet Server running on such
//! a directory is tests/puppetserver.rs.

mod common;

use std::collections::BTreeSet;

use common::Scratch;

/// The PEM blocks of `label` in `file`, each as its own PEM text.
fn blocks(s: &Scratch, file: &str, label: &str) -> Vec<String> {
    let text = s.read(file);
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    text.split(&begin)
        .skip(1)
        .map(|rest| format!("{begin}{}{end}\n", rest.split(&end).next().unwrap()))
        .collect()
}

fn write(s: &Scratch, rel: &str, text: &str) {
    std::fs::write(s.path(rel), text).unwrap();
}

/// `openssl x509 -text` of a PEM text.
fn text_of(s: &Scratch, pem: &str) -> String {
    write(s, "one.pem", pem);
    s.x509_text("one.pem")
}

/// The names of the X509v3 extensions `openssl x509 -text` shows, with "critical".
fn extensions(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("X509v3 ") || l.starts_with("Netscape Comment"))
        .map(|l| l.trim_end_matches(':').trim().to_owned())
        .collect()
}

/// `openssl verify` of `cert` through ca_crt.pem with every CRL of ca_crl.pem checked.
fn verify_chain(s: &Scratch, cert: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "verify",
        "-crl_check_all",
        "-CRLfile",
        "ca/ca_crl.pem",
        "-CAfile",
        "ca/ca_crt.pem",
    ];
    args.extend_from_slice(extra);
    args.push(cert);
    s.openssl(&args)
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
}

#[test]
fn init_puppet_makes_what_puppetserver_ca_setup_makes() {
    let s = Scratch::new();
    let out = s
        .run(&[
            "init",
            "--puppet",
            "--ca-name",
            "Puppet CA: puppet.example.net",
            "--format",
            "json",
        ])
        .ok()
        .stdout;
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["key_type"], "rsa-4096", "{json}");
    assert_eq!(json["serial_number"], common::serial_json(2), "{json}");
    assert!(json["root"]["subject"]
        .as_str()
        .unwrap()
        .starts_with("/CN=Puppet Root CA: "));

    // ca_crt.pem: the intermediate, then the root; as Puppet's fixture.
    let certs = blocks(&s, "ca/ca_crt.pem", "CERTIFICATE");
    assert_eq!(certs.len(), 2, "{}", s.read("ca/ca_crt.pem"));
    let (int, root) = (text_of(&s, &certs[0]), text_of(&s, &certs[1]));
    assert_eq!(
        field(&int, "Subject:"),
        "CN = Puppet CA: puppet.example.net"
    );
    let root_cn = field(&root, "Subject:").to_owned();
    let hex = root_cn.strip_prefix("CN = Puppet Root CA: ").unwrap();
    assert!(
        hex.len() == 14 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{root_cn}"
    );
    assert_eq!(field(&int, "Issuer:"), root_cn);
    assert_eq!(field(&root, "Issuer:"), root_cn);
    assert_eq!(field(&root, "Serial Number:"), "1 (0x1)");
    assert_eq!(field(&int, "Serial Number:"), "2 (0x2)");
    for t in [&int, &root] {
        assert!(t.contains("Public-Key: (4096 bit)"), "{t}");
        assert!(t.contains("sha256WithRSAEncryption"), "{t}");
        assert!(t.contains("Puppet Server Internal Certificate"), "{t}");
        assert!(t.contains("CA:TRUE") && !t.contains("pathlen"), "{t}");
    }
    let fixture = Scratch::new();
    common::copy_puppet_fixture(&fixture, "ca");
    let theirs = blocks(&fixture, "ca/ca_crt.pem", "CERTIFICATE");
    for (ours, theirs) in [(&int, &theirs[0]), (&root, &theirs[1])] {
        assert_eq!(
            extensions(ours),
            extensions(&text_of(&fixture, theirs)),
            "{ours}"
        );
    }
    // The root signed the intermediate.
    write(&s, "root.pem", &certs[1]);
    write(&s, "int.pem", &certs[0]);
    let v = s.openssl(&["verify", "-CAfile", "root.pem", "int.pem"]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    // root_key.pem is the root's key, secret like ca_key.pem.
    assert_eq!(s.mode("ca/root_key.pem"), common::ca_key_mode());
    let from_key = s
        .openssl(&["pkey", "-in", "ca/root_key.pem", "-pubout"])
        .ok()
        .stdout;
    let from_cert = s
        .openssl(&["x509", "-in", "root.pem", "-noout", "-pubkey"])
        .ok()
        .stdout;
    assert_eq!(from_key, from_cert);
    // ca_crl.pem: the intermediate's CRL, then the root's, each verified by its issuer.
    let crls = blocks(&s, "ca/ca_crl.pem", "X509 CRL");
    assert_eq!(crls.len(), 2, "{}", s.read("ca/ca_crl.pem"));
    for (crl, issuer) in [(&crls[0], "int.pem"), (&crls[1], "root.pem")] {
        write(&s, "one.crl", crl);
        let v = s.openssl(&["crl", "-in", "one.crl", "-noout", "-CAfile", issuer]);
        assert!(v.stderr.contains("verify OK"), "{}{}", v.stdout, v.stderr);
    }
    assert_eq!(s.read("ca/infra_crl.pem"), s.read("ca/ca_crl.pem"));
    assert_eq!(s.read("ca/infra_inventory.txt"), "");
    assert_eq!(s.read("ca/infra_serials"), "");
    assert_eq!(s.read("ca/inventory.txt"), "");
    assert_eq!(s.read("ca/serial"), "0002");
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);

    // It signs: a leaf verifies through the chain with every CRL checked, and a revocation
    // keeps the root's CRL second.
    s.run(&[
        "issue",
        "web1.example.net",
        "--alt-name",
        "puppet.example.net",
    ])
    .ok();
    let v = verify_chain(
        &s,
        "web1.example.net.pem",
        &["-verify_hostname", "puppet.example.net"],
    );
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(s.read("ca/inventory.txt").starts_with("0x0002 "));
    s.run(&["revoke", "web1.example.net"]).ok();
    let after = blocks(&s, "ca/ca_crl.pem", "X509 CRL");
    assert_eq!(after.len(), 2);
    assert_eq!(after[1], crls[1]);
    let v = s.crl_verify("web1.example.net.pem", &[]);
    assert!(v.stderr.contains("certificate revoked"), "{}", v.stderr);
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}

#[test]
fn init_chain_keeps_the_root_key_out_of_the_ca_directory() {
    let s = Scratch::new();
    std::fs::create_dir(s.path("offline")).unwrap();
    let out = s
        .run(&["init", "--chain", "--root-key-out", "offline/root.key"])
        .ok()
        .stdout;
    assert!(out.contains("root key     offline/root.key"), "{out}");
    assert_eq!(s.mode("offline/root.key"), 0o600);
    assert!(!s.path("ca/root_key.pem").exists());
    assert!(!s.path("ca/infra_crl.pem").exists());
    let certs = blocks(&s, "ca/ca_crt.pem", "CERTIFICATE");
    assert_eq!(certs.len(), 2);
    let (int, root) = (text_of(&s, &certs[0]), text_of(&s, &certs[1]));
    assert!(int.contains("CA:TRUE, pathlen:0"), "{int}");
    assert!(int.contains("ASN1 OID: prime256v1"), "{int}");
    assert!(!int.contains("Puppet Server Internal Certificate"), "{int}");
    assert!(
        field(&root, "Subject:").starts_with("CN = Root CA: "),
        "{root}"
    );
    let from_key = s
        .openssl(&["pkey", "-in", "offline/root.key", "-pubout"])
        .ok()
        .stdout;
    write(&s, "root.pem", &certs[1]);
    let from_cert = s
        .openssl(&["x509", "-in", "root.pem", "-noout", "-pubkey"])
        .ok()
        .stdout;
    assert_eq!(from_key, from_cert);
    s.run(&["issue", "a.example.net"]).ok();
    let v = verify_chain(&s, "a.example.net.pem", &[]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    // No Puppet look: no note.
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    assert!(
        !check.stdout.contains("puppet-cannot-sign"),
        "{}",
        check.stdout
    );
}

#[test]
fn bad_init_combinations_write_nothing() {
    let s = Scratch::new();
    std::fs::write(s.path("taken.key"), "mine\n").unwrap();
    for (args, needle) in [
        (
            &["init", "--chain", "--root-key-out", "ca/root.key"][..],
            "its directory does not exist",
        ),
        (
            &["init", "--chain", "--root-key-out", "taken.key"][..],
            "taken.key",
        ),
        (&["init", "--chain"][..], "--root-key-out"),
        (
            &["init", "--root-key-out", "r.key"][..],
            "need --chain or --puppet",
        ),
        (
            &["init", "--root-name", "R"][..],
            "need --chain or --puppet",
        ),
        (
            &["init", "--puppet", "--key-type", "ec-p256"][..],
            "Puppet Server signs only with RSA keys",
        ),
        (
            &["init", "--puppet", "--chain", "--root-key-out", "r.key"][..],
            "cannot be used",
        ),
    ] {
        let before = s.snapshot();
        let run = s.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        assert!(s.snapshot() == before, "{args:?} wrote something");
    }
    assert_eq!(s.read("taken.key"), "mine\n");
}

#[test]
fn the_root_key_is_never_written_into_the_ca_directory_however_it_is_named() {
    let s = Scratch::new();
    // --dir exists (empty), reached through `..` and through a symlink alias.
    std::fs::create_dir_all(s.path("cj")).unwrap();
    std::fs::create_dir_all(s.path("sub")).unwrap();
    std::os::unix::fs::symlink(s.path("cj"), s.path("alias")).unwrap();
    for out in ["sub/../cj/root.pem", "alias/root.pem", "./cj/root.pem"] {
        let before = s.snapshot();
        let run = s.run(&["init", "--dir", "cj", "--chain", "--root-key-out", out]);
        assert_eq!(run.code, 2, "{out}: {}{}", run.stdout, run.stderr);
        // Refused as inside, or (the alias) as a path through a symbolic link.
        assert!(
            run.stderr.contains("inside the CA directory") || run.stderr.contains("symbolic link"),
            "{out}: {}",
            run.stderr
        );
        assert!(s.snapshot() == before, "{out} wrote something");
    }
    // Spelled through the CA directory's name but outside it: fine.
    std::fs::create_dir_all(s.path("ci")).unwrap();
    s.run(&[
        "init",
        "--dir",
        "ci",
        "--chain",
        "--root-key-out",
        "ci/../cik.pem",
    ])
    .ok();
    assert_eq!(s.mode("cik.pem"), 0o600);
    // A fresh two-level CA is clean: no gap for the root's serial 1, nothing to note.
    let check = s.run(&["check", "--dir", "ci"]).ok();
    assert!(!check.stdout.contains("serial-gap"), "{}", check.stdout);
    // A loose root key in the CA directory (--puppet keeps it there) is an error.
    let p = Scratch::new();
    p.run(&["init", "--puppet", "--key-type", "rsa-2048"]).ok();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        p.path("ca/root_key.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let check = p.run(&["check"]);
    assert_eq!(check.code, 1, "{}{}", check.stdout, check.stderr);
    assert!(
        check.stdout.contains("root key must be 0640"),
        "{}",
        check.stdout
    );
}

/// The move of the staging directory into place fails (as when another `init` wins the race
/// for --dir): everything staged goes, the root key and Puppet's infra_* files too.
#[test]
fn a_failed_init_puppet_leaves_no_staged_keys() {
    if !common::have_program("strace", "strace") {
        return;
    }
    let s = Scratch::new();
    let out = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "inject=renameat,renameat2:error=EIO",
        ])
        .arg(env!("CARGO_BIN_EXE_clusterca"))
        .args(["init", "--dir", "pca", "--puppet", "--key-type", "rsa-2048"])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn check_and_import_note_an_ec_key_in_a_puppet_looking_directory() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let check = s.run(&["check"]).ok();
    assert!(
        !check.stdout.contains("puppet-cannot-sign"),
        "{}",
        check.stdout
    );
    // Puppet's infrastructure files beside it: it looks like Puppet Server's.
    std::fs::write(s.path("ca/infra_inventory.txt"), "").unwrap();
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "a note, not a problem: {}", check.stdout);
    assert!(
        check.stdout.contains("puppet-cannot-sign"),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains("ECDSA P-256"), "{}", check.stdout);
    let json = s.run(&["--format", "json", "import"]).ok().stdout;
    assert!(json.contains("\"puppet-cannot-sign\""), "{json}");
    // Another program's Netscape Comment is not Puppet's.
    let o = Scratch::new();
    let made = o.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "o.key",
        "-out",
        "o.crt",
        "-subj",
        "/CN=OpenSSL CA",
        "-days",
        "300",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-addext",
        "nsComment=OpenSSL Generated Certificate",
    ]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    o.run(&["import", "--cert", "o.crt", "--key", "o.key"]).ok();
    let check = o.run(&["check"]).ok();
    assert!(
        !check.stdout.contains("puppet-cannot-sign"),
        "{}",
        check.stdout
    );
    // An RSA CA there: nothing to say.
    let r = Scratch::new();
    r.run(&["init", "--key-type", "rsa-2048"]).ok();
    std::fs::write(r.path("ca/infra_inventory.txt"), "").unwrap();
    let check = r.run(&["check"]).ok();
    assert!(
        !check.stdout.contains("puppet-cannot-sign"),
        "{}",
        check.stdout
    );
}
