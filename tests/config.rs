//! The optional config file: its values become defaults, the environment and flags win,
//! `clusterca config` says where each value came from, and a bad file is refused by name.

mod common;

use common::Scratch;

#[test]
fn config_values_are_defaults_that_environment_and_flags_override() {
    let s = Scratch::new();
    std::fs::write(
        s.path("clusterca.toml"),
        "# defaults of this site\ndir = \"site-ca\"\nttl = \"30d\"\nkey_type = \"ec-p384\"\n",
    )
    .unwrap();
    let with_config = |args: &[&str]| {
        common::finish(
            s.cmd(args)
                .env("CLUSTERCA_CONFIG", s.path("clusterca.toml"))
                .output()
                .unwrap(),
        )
    };
    // dir from the file.
    with_config(&["init"]).ok();
    assert!(s.path("site-ca/ca_crt.pem").exists());
    assert!(!s.path("ca").exists());
    // ttl and key type from the file: openssl reads them in the certificate.
    with_config(&["issue", "a.example.net"]).ok();
    let text = s.x509_text("a.example.net.pem");
    assert!(text.contains("NIST CURVE: P-384"), "{text}");
    let ends_in_31_days = s
        .openssl(&[
            "x509",
            "-in",
            "a.example.net.pem",
            "-noout",
            "-checkend",
            &(31 * 86_400).to_string(),
        ])
        .code
        != 0;
    assert!(ends_in_31_days, "ttl 30d from the file not applied");
    // A flag wins over the file.
    with_config(&[
        "issue",
        "b.example.net",
        "--key-type",
        "ec-p256",
        "--ttl",
        "1y",
    ])
    .ok();
    assert!(s
        .x509_text("b.example.net.pem")
        .contains("NIST CURVE: P-256"));
    // The environment wins over the file; `config` says so.
    let run = common::finish(
        s.cmd(&["--format", "json", "config"])
            .env("CLUSTERCA_CONFIG", s.path("clusterca.toml"))
            .env("CLUSTERCA_DIR", "env-ca")
            .output()
            .unwrap(),
    )
    .ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(v["file"].as_str().unwrap().ends_with("clusterca.toml"));
    let value = |key: &str| {
        v["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(value("dir")["value"], "env-ca");
    assert_eq!(value("dir")["source"], "environment");
    assert_eq!(value("ttl")["value"], "30d");
    assert_eq!(value("ttl")["source"], "config");
    assert_eq!(value("owner")["value"], serde_json::Value::Null);
    assert_eq!(value("owner")["source"], "built-in");
    // Without a file (and none in /etc on a test machine that has none): built-in.
    let run = s.run(&["config"]).ok();
    assert!(run.stdout.contains("ttl          5y"), "{}", run.stdout);
}

#[test]
fn a_bad_config_file_is_refused_naming_it() {
    let s = Scratch::new();
    for (text, says) in [
        (
            "dir = \"x\"\nttl = \"5\"\n",
            "ttl: lifetime \"5\" has no unit",
        ),
        ("key_tpye = \"ec-p256\"\n", "unknown field `key_tpye`"),
        ("key_type = \"rsa4096\"\n", "key_type"),
        ("dir = [1, 2]\n", "invalid type"),
        ("dir = \"\"\n", "dir is empty"),
        ("this is not toml\n", "clusterca.toml:1"),
        // The line the problem is on, counted from 1.
        ("dir = \"x\"\nbogus = 1\n", "clusterca.toml:2"),
        ("\n\n\nbogus = 1\n", "clusterca.toml:4"),
    ] {
        std::fs::write(s.path("clusterca.toml"), text).unwrap();
        let run = common::finish(
            s.cmd(&["list"])
                .env("CLUSTERCA_CONFIG", s.path("clusterca.toml"))
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 2, "{text:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("clusterca.toml") && run.stderr.contains(says),
            "{text:?}: {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    // A named file that is not there is an error, not silence.
    let run = common::finish(
        s.cmd(&["list"])
            .env("CLUSTERCA_CONFIG", s.path("missing.toml"))
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.toml"), "{}", run.stderr);
}

#[test]
fn a_config_file_cannot_hang_or_flood_a_command() {
    let s = Scratch::new();
    let run_with = |path: &std::path::Path| {
        common::finish(
            s.cmd(&["list"])
                .env("CLUSTERCA_CONFIG", path)
                .output()
                .unwrap(),
        )
    };
    // A FIFO (nobody writes it) and a device: refused at once, not read.
    let fifo = s.path("config.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    for path in [fifo.as_path(), std::path::Path::new("/dev/zero")] {
        let started = std::time::Instant::now();
        let run = run_with(path);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    // Hostile values are quoted short and escaped, on one line.
    let long = "k".repeat(500);
    for text in [
        format!("key_type = \"{long}\"\n"),
        format!("{long} = 1\n"),
        "key_type = \"\\u001b[31mred\"\n".to_owned(),
    ] {
        std::fs::write(s.path("clusterca.toml"), &text).unwrap();
        let run = run_with(&s.path("clusterca.toml"));
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.len() < 400,
            "{} bytes: {}",
            run.stderr.len(),
            run.stderr
        );
        assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
    }
    // Too large: the limit said in the unit it is set in.
    std::fs::write(s.path("big.toml"), "#".repeat(100_000)).unwrap();
    let run = run_with(&s.path("big.toml"));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("larger than 64 KiB"), "{}", run.stderr);
}
