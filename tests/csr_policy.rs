//! What a CSR may be: one PEM block and nothing around it, a key clusterca signs for (others
//! named), each extension once, `pp_*` extensions non-critical. Each refusal is exit 2 with one
//! line naming the problem, and nothing written, no serial used.

mod common;

use common::Scratch;

#[track_caller]
fn refused(s: &Scratch, args: &[&str], needle: &str) {
    // (The lock file records who last took the lock: not content.)
    let snapshot = || {
        let mut t = s.snapshot_of("ca");
        t.remove(std::path::Path::new("clusterca.lock"));
        t
    };
    let before = snapshot();
    let run = s.run(args);
    assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: {}", run.stderr);
    assert!(
        lines[0].contains(needle),
        "{args:?}: {:?} not in {}",
        needle,
        lines[0]
    );
    common::assert_unchanged(&before, &snapshot(), &format!("{args:?}"));
}

#[test]
fn unsupported_keys_are_named() {
    let s = Scratch::new();
    s.run(&["init", "--dir", "ca"]).ok();
    s.openssl(&[
        "genpkey",
        "-genparam",
        "-algorithm",
        "DSA",
        "-pkeyopt",
        "dsa_paramgen_bits:1024",
        "-out",
        "dsa.param",
    ]);
    for (file, newkey, pkeyopt, name) in [
        ("p521", "ec", Some("ec_paramgen_curve:P-521"), "P-521"),
        ("k1", "ec", Some("ec_paramgen_curve:secp256k1"), "secp256k1"),
        (
            "bp",
            "ec",
            Some("ec_paramgen_curve:brainpoolP256r1"),
            "brainpoolP256r1",
        ),
        ("rsa1024", "rsa:1024", None, "RSA-1024"),
        ("ed448", "ed448", None, "Ed448"),
        ("dsa", "dsa:dsa.param", None, "DSA"),
    ] {
        let cn = format!("{file}.example.net");
        let subj = format!("/CN={cn}");
        let (key, csr) = (format!("{file}.key"), format!("{file}.csr"));
        let mut args = vec!["req", "-new", "-newkey", newkey];
        if let Some(o) = pkeyopt {
            args.extend(["-pkeyopt", o]);
        }
        args.extend(["-nodes", "-keyout", &key, "-subj", &subj, "-out", &csr]);
        let made = s.openssl(&args);
        assert_eq!(made.code, 0, "{file}: {}", made.stderr);
        refused(
            &s,
            &["submit", "--dir", "ca", &csr],
            &format!("its key is {name}; supported"),
        );
    }
}

#[test]
fn a_request_file_holds_one_block_and_nothing_else() {
    let s = Scratch::new();
    s.run(&["init", "--dir", "ca"]).ok();
    s.ec_csr("a.key", "a.csr", "a.example.net", &[]);
    s.ec_csr("b.key", "b.csr", "b.example.net", &[]);
    let (a, b) = (s.read("a.csr"), s.read("b.csr"));
    std::fs::write(s.path("two.csr"), format!("{a}{b}")).unwrap();
    refused(&s, &["submit", "--dir", "ca", "two.csr"], "2 PEM blocks");
    std::fs::write(s.path("junk.csr"), format!("{a}junk\n")).unwrap();
    refused(&s, &["submit", "--dir", "ca", "junk.csr"], "text around");
    std::fs::write(s.path("text.csr"), format!("Certificate Request:\n{a}")).unwrap();
    refused(&s, &["submit", "--dir", "ca", "text.csr"], "text around");
    // Whitespace around the block is fine.
    std::fs::write(s.path("spaced.csr"), format!("\n\n{a}\n\n")).unwrap();
    s.run(&["submit", "--dir", "ca", "spaced.csr"]).ok();
}

/// A CSR for `cn` with `exts` as (pp_* OID arc, critical) custom extensions, each a UTF8String.
fn csr_with_pp(cn: &str, exts: &[(u64, bool)]) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    for &(arc, critical) in exts {
        let mut e = rcgen::CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 34380, 1, 1, arc],
            vec![0x0c, 0x01, b'x'],
        );
        e.set_criticality(critical);
        params.custom_extensions.push(e);
    }
    params.serialize_request(&key).unwrap().pem().unwrap()
}

#[test]
fn duplicate_or_critical_pp_extensions_are_refused_naming_the_oid() {
    let s = Scratch::new();
    s.run(&["init", "--dir", "ca"]).ok();
    for (cn, exts, needle) in [
        (
            "dup.example.net",
            vec![(1, false), (1, false)],
            "extension 1.3.6.1.4.1.34380.1.1.1 appears twice",
        ),
        (
            "crit.example.net",
            vec![(4, true)],
            "extension 1.3.6.1.4.1.34380.1.1.4 is marked critical",
        ),
    ] {
        let file = format!("{cn}.csr");
        std::fs::write(s.path(&file), csr_with_pp(cn, &exts)).unwrap();
        s.run(&["submit", "--dir", "ca", &file]).ok();
        refused(&s, &["sign", "--dir", "ca", cn], needle);
    }
    // One non-critical pp_* extension is copied, non-critical, and OpenSSL accepts the result.
    std::fs::write(
        s.path("ok.csr"),
        csr_with_pp("ok.example.net", &[(1, false)]),
    )
    .unwrap();
    s.run(&["submit", "--dir", "ca", "ok.csr"]).ok();
    s.run(&["sign", "--dir", "ca", "ok.example.net"]).ok();
    let v = s.verify(
        "ca/signed/ok.example.net.pem",
        "-verify_hostname",
        "ok.example.net",
    );
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

#[test]
fn extensions_asked_for_where_the_policy_does_not_look_are_refused() {
    // Each asks for pp_cli_auth where a reader of the first extensionRequest value would not
    // see it: in a msExtReq attribute, in a second extensionRequest attribute, in a second
    // value of one (made with Python's cryptography by a reviewer; fixtures/csr/).
    let s = Scratch::new();
    s.run(&["init", "--dir", "ca"]).ok();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/csr");
    for (file, needle) in [
        ("msext", "msExtReq attribute (1.3.6.1.4.1.311.2.1.14)"),
        ("twoattr", "more than one extensionRequest value"),
        ("twoval", "more than one extensionRequest value"),
    ] {
        let csr = format!("{file}.csr");
        std::fs::copy(fixtures.join(&csr), s.path(&csr)).unwrap();
        s.run(&["submit", "--dir", "ca", &csr]).ok();
        refused(
            &s,
            &["sign", "--dir", "ca", &format!("{file}.example.net")],
            needle,
        );
    }
}

#[test]
fn a_request_whose_key_cannot_be_signed_is_refused_at_once_and_holds_up_no_one() {
    // An Ed25519 key with (forbidden) NULL parameters and an RSA key without its NULL (made
    // by a reviewer with Python's cryptography; fixtures/csr/): both self-signatures verify,
    // neither key can go into a certificate. Once, one of them in a group of `submit --sign`
    // made every request of the group fail to be signed, and then `sign --all` sign nothing.
    let s = Scratch::new();
    s.run(&["init", "--dir", "ca"]).ok();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/csr");
    for (file, name) in [
        ("ed25519-with-params", "bad1.example.net"),
        ("rsa-without-null", "bad2.example.net"),
    ] {
        let csr = format!("{file}.csr");
        std::fs::copy(fixtures.join(&csr), s.path(&csr)).unwrap();
        s.ec_csr("a.key", "a.csr", "a.example.net", &[]);
        s.ec_csr("b.key", "b.csr", "b.example.net", &[]);
        let run = s.run(&["submit", "--dir", "ca", "--sign", "a.csr", &csr, "b.csr"]);
        assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("key"), "{}", run.stderr);
        // Refused before anything was filed or signed: nothing changed.
        assert!(!s.path(&format!("ca/requests/{name}.pem")).exists());
        assert!(
            !s.path("ca/signed/a.example.net.pem").exists(),
            "{}",
            run.stdout
        );
        // Without it, the others are signed at once.
        let run = s.run(&["submit", "--dir", "ca", "--sign", "a.csr", "b.csr"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(
            s.path("ca/signed/a.example.net.pem").exists(),
            "{}",
            run.stdout
        );
        assert!(
            s.path("ca/signed/b.example.net.pem").exists(),
            "{}",
            run.stdout
        );
        s.run(&["clean", "--dir", "ca", "a.example.net", "b.example.net"])
            .ok();
    }
}

#[test]
fn a_disk_error_while_signing_files_the_requests_and_exits_4() {
    // A reviewer's case: the group's signing fails on the store (the syncfs of its batch);
    // the requests are filed for an admin, and the command says so with exit 4, not 0.
    if !common::have_program("strace", "strace") {
        return;
    }
    let s = Scratch::new();
    s.run(&["init", "--dir", "ca"]).ok();
    let mut args: Vec<String> = ["-f", "-qq", "-o", "/dev/null", "-e", "trace=syncfs", "-e"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.push("inject=syncfs:error=EIO:when=1".into());
    args.push(env!("CARGO_BIN_EXE_clusterca").into());
    args.extend(["submit", "--dir", "ca", "--sign"].map(String::from));
    for i in 0..6 {
        let name = format!("n{i}.example.net");
        s.ec_csr(&format!("{name}.key"), &format!("{name}.csr"), &name, &[]);
        args.push(format!("{name}.csr"));
    }
    let out = std::process::Command::new("strace")
        .args(&args)
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(4), "{stdout}{stderr}");
    assert!(stderr.contains("filed for an admin"), "{stderr}");
    for i in 0..6 {
        assert!(
            s.path(&format!("ca/requests/n{i}.example.net.pem"))
                .exists(),
            "{stdout}"
        );
        assert!(!s.path(&format!("ca/signed/n{i}.example.net.pem")).exists());
    }
    // An admin signs them later.
    let run = s.run(&["sign", "--dir", "ca", "--all"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(s.run(&["check", "--dir", "ca"]).code, 0);
}
