//! The CSR queue and the signing policy, with CSRs made by the real `openssl req`.

mod common;

use common::Scratch;

/// `openssl req` for CN=`cn` with extra `-addext` values; writes `<file>.csr`.
fn csr(s: &Scratch, file: &str, cn: &str, exts: &[&str]) -> String {
    let out = format!("{file}.csr");
    s.ec_csr(&format!("{file}.key"), &out, cn, exts);
    out
}

fn store_state(s: &Scratch) -> (Vec<String>, String, String) {
    let mut signed: Vec<String> = std::fs::read_dir(s.path("ca/signed"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    signed.sort();
    (signed, s.read("ca/serial"), s.read("ca/inventory.txt"))
}

/// (case, CN, `-addext` values, `sign` flags, Ok or Err(what the error must say)).
type Case<'a> = (
    &'a str,
    &'a str,
    &'a [&'a str],
    &'a [&'a str],
    Result<(), &'a str>,
);

#[test]
fn policy_refuses_what_it_must_and_signs_what_it_may() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let san = "subjectAltName=DNS:n.example.net,DNS:smartproxy.example.net";
    // (case, CN, extensions, sign flags, expected: Ok(()) or Err(needle))
    let cases: &[Case] = &[
        ("plain", "plain.example.net", &[], &[], Ok(())),
        (
            "own-san",
            "own.example.net",
            &["subjectAltName=DNS:own.example.net"],
            &[],
            Ok(()),
        ),
        (
            "san-refused",
            "n.example.net",
            &[san],
            &[],
            Err("alt name DNS:smartproxy.example.net is not among the alt names this CA allows"),
        ),
        (
            "san-allowed",
            "m.example.net",
            &["subjectAltName=DNS:m.example.net,DNS:smartproxy.example.net"],
            &["--allow-alt-name", "smartproxy.example.net"],
            Ok(()),
        ),
        (
            "domain-pattern",
            "p.example.net",
            &["subjectAltName=DNS:web1.pool.example.net,IP:192.0.2.7"],
            &[
                "--allow-alt-name",
                "*.pool.example.net",
                "--allow-alt-name",
                "IP:192.0.2.7",
            ],
            Ok(()),
        ),
        (
            "ip-refused",
            "q.example.net",
            &["subjectAltName=IP:192.0.2.8"],
            &["--allow-alt-name", "IP:192.0.2.7"],
            Err("IP:192.0.2.8 is not among the alt names this CA allows"),
        ),
        (
            "wildcard",
            "w.example.net",
            &["subjectAltName=DNS:*.example.net"],
            &["--allow-alt-name", "*.example.net"],
            Err("wildcard alt name DNS:*.example.net"),
        ),
        (
            "ca-true",
            "c.example.net",
            &["basicConstraints=critical,CA:TRUE"],
            &[],
            Err("CA:TRUE"),
        ),
        (
            "pp-cli-auth",
            "a.example.net",
            &["1.3.6.1.4.1.34380.1.3.39=ASN1:UTF8String:true"],
            &[],
            Err("1.3.6.1.4.1.34380.1.3.39 (pp_cli_auth)"),
        ),
        (
            "pp-auth-other",
            "b.example.net",
            &["1.3.6.1.4.1.34380.1.3.1=ASN1:UTF8String:x"],
            &[],
            Err("1.3.6.1.4.1.34380.1.3.1"),
        ),
        (
            "unknown-ext",
            "u.example.net",
            &["1.2.3.4.5=ASN1:UTF8String:x"],
            &[],
            Err("extension 1.2.3.4.5 is not allowed"),
        ),
        (
            "pp-copied",
            "pp.example.net",
            &[
                "1.3.6.1.4.1.34380.1.1.1=ASN1:UTF8String:uuid-1234",
                "1.3.6.1.4.1.34380.1.2.1=ASN1:UTF8String:private",
            ],
            &[],
            Ok(()),
        ),
    ];
    for (case, cn, exts, flags, expected) in cases {
        let file = csr(&s, case, cn, exts);
        s.run(&["submit", &file]).ok();
        let before = store_state(&s);
        let mut args = vec!["sign", *cn];
        args.extend_from_slice(flags);
        let run = s.run(&args);
        match expected {
            Ok(()) => {
                assert_eq!(run.code, 0, "{case}: {}", run.stderr);
                let cert = format!("ca/signed/{cn}.pem");
                let v = s.verify(&cert, "-verify_hostname", cn);
                assert_eq!(v.code, 0, "{case}: {}{}", v.stdout, v.stderr);
                assert!(
                    !s.path(&format!("ca/requests/{cn}.pem")).exists(),
                    "{case}: request left"
                );
                // The certificate carries the request's key.
                let key_pub = s
                    .openssl(&["pkey", "-in", &format!("{case}.key"), "-pubout"])
                    .ok()
                    .stdout;
                let cert_pub = s
                    .openssl(&["x509", "-in", &cert, "-noout", "-pubkey"])
                    .ok()
                    .stdout;
                assert_eq!(key_pub, cert_pub, "{case}");
            }
            Err(needle) => {
                assert_eq!(run.code, 2, "{case}: {}", run.stderr);
                assert!(
                    run.stderr.contains(needle),
                    "{case}: {needle:?} not in {}",
                    run.stderr
                );
                assert_eq!(run.stderr.lines().count(), 1, "{case}");
                assert_eq!(before, store_state(&s), "{case}: the store changed");
                assert!(
                    s.path(&format!("ca/requests/{cn}.pem")).exists(),
                    "{case}: request lost"
                );
            }
        }
    }
    let text = s.x509_text("ca/signed/pp.example.net.pem");
    assert!(
        text.contains("1.3.6.1.4.1.34380.1.1.1") && text.contains("uuid-1234"),
        "{text}"
    );
    assert!(text.contains("1.3.6.1.4.1.34380.1.2.1"), "{text}");
    let text = s.x509_text("ca/signed/m.example.net.pem");
    assert!(
        text.contains("DNS:m.example.net, DNS:smartproxy.example.net"),
        "{text}"
    );
    s.run(&["check"]).ok();
}

#[test]
fn alt_names_allow_file_and_sign_all() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    std::fs::write(
        s.path("ca/alt-names.allow"),
        "# shared names\nsmartproxy.example.net\n",
    )
    .unwrap();
    for i in 0..5 {
        let cn = format!("proxy{i}.example.net");
        let file = csr(
            &s,
            &format!("p{i}"),
            &cn,
            &[&format!(
                "subjectAltName=DNS:{cn},DNS:smartproxy.example.net"
            )],
        );
        s.run(&["submit", &file]).ok();
    }
    let pending = s.run(&["list"]).ok().stdout;
    assert_eq!(
        pending.lines().filter(|l| l.contains("requested")).count(),
        5,
        "{pending}"
    );
    s.run(&["sign", "--all"]).ok();
    for i in 0..5 {
        let v = s.verify(
            &format!("ca/signed/proxy{i}.example.net.pem"),
            "-verify_hostname",
            "smartproxy.example.net",
        );
        assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    }
    assert_eq!(s.read("ca/serial"), "0007");
    assert!(s
        .run(&["sign", "--all"])
        .ok()
        .stdout
        .contains("No requests to sign"));
}

#[test]
fn submit_refuses_bad_requests_and_writes_nothing() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let good = csr(&s, "good", "good.example.net", &[]);
    // A bad signature: flip a byte near the end of the DER (inside the signature).
    s.openssl(&["req", "-in", &good, "-outform", "DER", "-out", "good.der"])
        .ok();
    let mut der = std::fs::read(s.path("good.der")).unwrap();
    let n = der.len();
    der[n - 5] ^= 0x55;
    std::fs::write(s.path("badsig.der"), der).unwrap();
    // A mebibyte of garbage.
    let garbage: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(s.path("garbage.csr"), garbage).unwrap();
    let upper = csr(&s, "upper", "UPPER.example.net", &[]);
    s.run(&["submit", &good]).ok();
    let cases: &[(&[&str], &str)] = &[
        (
            &["submit", "good.csr", "--name", "other.example.net"],
            "does not match",
        ),
        (
            &["submit", "good.csr"],
            "already has a requested certificate",
        ),
        (&["submit", "badsig.der"], "signature does not verify"),
        (&["submit", "garbage.csr"], "garbage.csr"),
        (&["submit", &upper], "lower case"),
        (&["submit", "missing.csr"], "missing.csr"),
        (&["sign", "nobody.example.net"], "no certificate request"),
    ];
    for (args, needle) in cases {
        let before = s.snapshot();
        let run = s.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}");
        common::assert_unchanged(&before, &s.snapshot(), &format!("{args:?}"));
    }
    s.run(&["sign", "good.example.net"]).ok();
    let run = s.run(&["submit", "good.csr"]);
    assert!(
        run.stderr.contains("already has a signed certificate"),
        "{}",
        run.stderr
    );
}

#[test]
fn one_refused_request_does_not_hold_up_sign_all() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    // Anyone may queue a request; one asking for a name the policy refuses...
    let bad = csr(
        &s,
        "bad",
        "bad.example.net",
        &["subjectAltName=DNS:bad.example.net,DNS:www.example.com"],
    );
    s.run(&["submit", &bad]).ok();
    // ...and two good ones around it (sorted: a-, bad., c-).
    for cn in ["a-good.example.net", "c-good.example.net"] {
        let file = csr(&s, cn, cn, &[]);
        s.run(&["submit", &file]).ok();
    }
    let run = s.run(&["sign", "--all"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let refused: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(refused.len(), 1, "{}", run.stderr);
    assert!(
        refused[0].starts_with("clusterca: refused bad.example.net: ")
            && refused[0].contains("www.example.com"),
        "{}",
        refused[0]
    );
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("signed ") && l.contains(" serial "))
            .count(),
        2
    );
    // The batch's summary line.
    assert!(
        run.stdout
            .lines()
            .any(|l| l == "signed 2 certificates, 1 refused"),
        "{}",
        run.stdout
    );
    // Both good ones signed with serials 2 and 3: none taken for the refused one, which stays
    // queued.
    let (signed, serial, _) = store_state(&s);
    assert_eq!(signed, ["a-good.example.net.pem", "c-good.example.net.pem"]);
    assert_eq!(serial, "0004");
    assert!(s.path("ca/requests/bad.example.net.pem").exists());
    // Named explicitly, it is still all or nothing: exit 2, nothing signed.
    let run = s.run(&["sign", "bad.example.net"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(store_state(&s).1, "0004");
}
