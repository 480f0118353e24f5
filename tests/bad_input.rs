//! Bad input gets one line on stderr naming the input and the problem, exit 2, no panic, and
//! nothing written.

mod common;

use common::Scratch;

fn ready() -> Scratch {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "good.example.net"]).ok();
    std::fs::write(s.path("empty.pem"), b"").unwrap();
    let good = s.read("good.example.net.pem");
    std::fs::write(s.path("truncated.pem"), &good[..good.len() / 2]).unwrap();
    // Deterministic "random" bytes: an xorshift stream, not valid PEM or DER.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(s.path("random.bin"), noise).unwrap();
    let mut bad_b64 = good.replace("MII", "M!I");
    bad_b64.push('\n');
    std::fs::write(s.path("badbase64.pem"), bad_b64).unwrap();
    s
}

/// A certname past the longest allowed (200 bytes), valid otherwise: `a.a.a...`.
static LONG_NAME: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| vec!["a"; 101].join("."));

#[test]
fn each_bad_input_exits_2_with_one_line_and_writes_nothing() {
    let s = ready();
    let long_args = ["issue", LONG_NAME.as_str()];
    let mut cases: Vec<(&[&str], &str)> = vec![
        (&["issue", "../etc"], "../etc"),
        (&["issue", "UPPER.example.net"], "UPPER.example.net"),
        (&["issue", ""], "empty"),
        (&["issue", "ok.example.net", "../x"], "../x"),
        (
            &["issue", "x.example.net", "--alt-name", "IP:999.1.1.1"],
            "IP:999.1.1.1",
        ),
        (
            &["issue", "x.example.net", "--alt-name", "DNS:a b"],
            "DNS:a b",
        ),
        (
            &["issue", "x.example.net", "--alt-name", "*.example.net"],
            "--allow-wildcard",
        ),
        (&["issue", "x.example.net", "--ttl", "5w"], "5w"),
        (&["issue", "x.example.net", "--key-type", "dsa"], "dsa"),
        (
            &["issue", "x.example.net", "--key-type", "rsa-1024"],
            "rsa-1024",
        ),
        (
            &["issue", "x.example.net", "--out", "random.bin"],
            "--out \"random.bin\": exists and is not a directory",
        ),
        (
            &["issue", "x.example.net", "y.example.net", "x.example.net"],
            "x.example.net is given twice in this batch",
        ),
        (
            &["issue", "x.example.net", "--ttl", "5"],
            "lifetime \"5\" has no unit: add y, d, h, m or s (5d is 5 days)",
        ),
        (
            &["issue", "good.example.net"],
            "good.example.net is already issued",
        ),
        (
            &["issue", "x.example.net", "--lock-timeout", "soon"],
            "soon",
        ),
        (&["issue", "x.example.net", "--dir", "nowhere"], "nowhere"),
        (
            &["show", "truncated.pem"],
            "truncated.pem: malformed PEM: truncated",
        ),
        (&["show", "random.bin"], "random.bin"),
        (&["show", "empty.pem"], "empty.pem"),
        (&["show", "badbase64.pem"], "badbase64.pem"),
        (&["show", "no-such-file.pem"], "no-such-file.pem"),
        (
            &["show", "good.example.net.key.pem", "--cert", "random.bin"],
            "random.bin",
        ),
        (&["init"], "refusing to create a CA"),
        (&["init", "--dir", "new", "--ca-name", ""], "CA name"),
        // A CA name is one line: a newline would write a second inventory line.
        (
            &[
                "init",
                "--dir",
                "new",
                "--ca-name",
                "Puppet CA\n0x0002 forged",
            ],
            "control character U+000A",
        ),
        (
            &["init", "--dir", "new", "--ca-name", "CA \u{202e}lanretni"],
            "control character U+202E",
        ),
        (&["issue", "x.example.net", "--ttl", "10000y"], "\"10000y\""),
        // Past the CA's own end (15 years by default): refused, how to go on said.
        (
            &["issue", "x.example.net", "--ttl", "100y"],
            "after its CA does",
        ),
        (&["sign", "--all", "--ttl", "20y"], "--allow-beyond-ca"),
        (
            &["renew", "good.example.net", "--ttl", "16y"],
            "--allow-beyond-ca",
        ),
        (&["list", "--dir", "nowhere"], "nowhere"),
        // A certname becomes the DNS alt name: it must be a valid one.
        (
            &["issue", "--", "-lead.example.net"],
            "starts or ends with '-'",
        ),
        (&["issue", "under_score.example.net"], "'_'"),
        (
            &[
                "issue",
                "a234567890123456789012345678901234567890123456789012345678901234.example.net",
            ],
            "longer than 63 bytes",
        ),
        (&long_args, "at most 200 bytes"),
        // Bounded reads: an endless input is refused after its limit, not read to the end of
        // memory.
        (&["show", "/dev/zero"], "/dev/zero: larger than 1 MiB"),
        (&["submit", "/dev/zero"], "/dev/zero: larger than 1 MiB"),
        (
            &["issue", "--from-file", "/dev/zero"],
            "/dev/zero: larger than 64 MiB",
        ),
        (
            &["show", "good.example.net.pem", "--cert", "/dev/zero"],
            "/dev/zero: larger than 1 MiB",
        ),
    ];
    // A key type that does not exist (a typo) is named as unknown.
    cases.push((
        &["issue", "x.example.net", "--key-type", "rsa4096"],
        "unknown key type \"rsa4096\"",
    ));
    cases.push((
        &["init", "--dir", "new", "--key-type", "rsa-1024"],
        "unknown key type",
    ));
    for (args, needle) in cases {
        let before = s.snapshot();
        let run = s.run(args);
        assert_eq!(run.code, 2, "{args:?}: exit {}\n{}", run.code, run.stderr);
        assert_eq!(run.stdout, "", "{args:?} printed to stdout");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: not one line:\n{}", run.stderr);
        assert!(
            lines[0].starts_with("clusterca: error: "),
            "{args:?}: {}",
            lines[0]
        );
        assert!(
            lines[0].contains(needle),
            "{args:?}: {:?} not in {}",
            needle,
            lines[0]
        );
        assert!(!run.stderr.contains("panicked"), "{args:?} panicked");
        common::assert_unchanged(&before, &s.snapshot(), &format!("{args:?}"));
    }
}

#[test]
fn an_existing_key_file_is_never_overwritten() {
    let s = ready();
    std::fs::write(s.path("new.example.net.key.pem"), b"precious").unwrap();
    let before = s.snapshot();
    let run = s.run(&["issue", "new.example.net"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("new.example.net.key.pem already exists"),
        "{}",
        run.stderr
    );
    common::assert_unchanged(&before, &s.snapshot(), "refused");
}

#[test]
fn a_symlink_at_the_key_path_is_refused_and_its_target_untouched() {
    let s = ready();
    std::fs::write(s.path("outside"), b"outside").unwrap();
    std::os::unix::fs::symlink(s.path("outside"), s.path("link.example.net.key.pem")).unwrap();
    let run = s.run(&["issue", "link.example.net"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(std::fs::read(s.path("outside")).unwrap(), b"outside");
}

#[test]
fn init_over_a_partial_or_foreign_directory_changes_nothing() {
    let s = Scratch::new();
    std::fs::create_dir(s.path("other")).unwrap();
    std::fs::write(s.path("other/notes.txt"), b"keep").unwrap();
    let before = s.snapshot();
    let run = s.run(&["init", "--dir", "other"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("notes.txt"), "{}", run.stderr);
    common::assert_unchanged(&before, &s.snapshot(), "refused");
    // An empty directory is fine, as for `puppetserver ca setup`.
    std::fs::create_dir(s.path("empty")).unwrap();
    s.run(&["init", "--dir", "empty"]).ok();
    assert!(s.path("empty/ca_key.pem").exists());
}

#[test]
fn a_partial_ca_is_named_as_such() {
    let s = ready();
    std::fs::remove_file(s.path("ca/serial")).unwrap();
    let run = s.run(&["issue", "x.example.net"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("partial CA: missing serial"),
        "{}",
        run.stderr
    );
    assert!(!s.path("x.example.net.key.pem").exists());
}

/// Every line of `text` is short: an error quotes at most 80 bytes of what it read.
fn assert_short_lines(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            line.len() < 400,
            "{what}: a line of {} bytes: {}...",
            line.len(),
            &line[..200]
        );
    }
}

#[test]
fn a_huge_serial_or_inventory_line_is_quoted_in_80_bytes() {
    let s = ready();
    std::fs::write(s.path("ca/serial"), "A".repeat(2 << 20)).unwrap();
    let before = s.snapshot();
    let run = s.run(&["issue", "x.example.net"]);
    assert_eq!(run.code, 2, "{}", &run.stderr[..run.stderr.len().min(300)]);
    assert_short_lines("issue with a 2 MB serial", &run.stderr);
    assert!(run.stderr.contains("serial"), "{}", run.stderr);
    common::assert_unchanged(&before, &s.snapshot(), "2 MB serial");

    let s = ready();
    let mut inventory = s.read("ca/inventory.txt");
    inventory.push_str(&format!(
        "0x0009 2026-11-20T11:59:11UTC 2031-11-20T11:59:11UTC /CN={}\n",
        "z".repeat(10 << 20)
    ));
    std::fs::write(s.path("ca/inventory.txt"), inventory).unwrap();
    for args in [
        &["check"][..],
        &["list", "--all"],
        &["issue", "y.example.net"],
    ] {
        let run = s.run(args);
        assert!(!run.stderr.contains("panicked"), "{args:?}");
        assert_short_lines(&format!("{args:?} stderr"), &run.stderr);
        assert_short_lines(&format!("{args:?} stdout"), &run.stdout);
    }
    let check = s.run(&["check"]);
    assert!(check.stdout.contains("8192-byte limit"), "{}", check.stdout);
}

#[test]
fn bidi_controls_from_a_certificate_are_escaped() {
    let s = Scratch::new();
    // A right-to-left override in a certificate's names, as anyone can make one.
    s.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-utf8",
        "-subj",
        "/CN=invoice\u{202e}fdp.exe",
        "-addext",
        "subjectAltName=DNS:ok.example.net",
    ])
    .ok();
    let run = s.run(&["show", "c.pem"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains('\u{202e}'), "{}", run.stdout);
    assert!(
        run.stdout.contains("invoice\\u{202e}fdp.exe"),
        "{}",
        run.stdout
    );
    // In JSON too: the same value, escaped.
    let run = s.run(&["show", "c.pem", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains('\u{202e}'), "{}", run.stdout);
    assert!(
        run.stdout.contains("invoice\\u202efdp.exe"),
        "{}",
        run.stdout
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        v.to_string().contains('\u{202e}'),
        "the JSON value keeps the character"
    );
}

#[test]
fn a_corrupt_serial_file_stops_issuance_and_leaves_no_key() {
    let s = ready();
    std::fs::write(s.path("ca/serial"), b"zz\n").unwrap();
    let before = s.snapshot();
    let run = s.run(&["issue", "x.example.net"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("serial") && run.stderr.contains("hexadecimal"),
        "{}",
        run.stderr
    );
    common::assert_unchanged(&before, &s.snapshot(), "corrupt serial");
}
