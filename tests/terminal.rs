//! What a person at a terminal sees: progress bars on stderr during long batches, a summary
//! line at the end of each, color for severities and states; none of it when the output is
//! not a terminal or `NO_COLOR` is set, and `--quiet` without the per-item lines. The
//! terminal is a real pty, made by util-linux's `script`.

mod common;

use common::Scratch;

/// Runs clusterca with `args` on a pseudo-terminal (stdout and stderr both), with `env`
/// added; returns everything the terminal got.
fn on_terminal(s: &Scratch, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut line = String::from(env!("CARGO_BIN_EXE_clusterca"));
    for a in args {
        line.push_str(" '");
        line.push_str(a);
        line.push('\'');
    }
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(s.path("."))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run script");
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn names_file(s: &Scratch, file: &str, prefix: &str, n: usize) {
    let text: String = (0..n)
        .map(|i| format!("{prefix}{i}.example.net\n"))
        .collect();
    std::fs::write(s.path(file), text).unwrap();
}

#[test]
fn a_terminal_gets_progress_a_summary_and_color_and_a_pipe_gets_none() {
    if !common::have_program("script", "bsdutils") {
        return;
    }
    let s = Scratch::new();
    s.run(&["init"]).ok();
    names_file(&s, "a.txt", "a", 600);
    names_file(&s, "b.txt", "b", 600);
    names_file(&s, "c.txt", "c", 600);

    // On a terminal: the stages of the batch as a bar, the per-item lines, the summary.
    let tty = on_terminal(&s, &["issue", "--from-file", "a.txt", "--out", "pki"], &[]);
    for want in [
        "generating keys",
        "signing",
        "/600",
        "issued a0.example.net serial 0x0002",
    ] {
        assert!(
            tty.contains(want),
            "{want:?} not on the terminal:\n{}",
            &tty[..tty.len().min(3000)]
        );
    }
    let last = tty.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        last.contains("600 certificates, serials 0x0002 to 0x0259, keys and certificates in pki"),
        "{last:?}"
    );
    // The summary's verb is colored (green) on a terminal.
    assert!(
        tty.contains("\u{1b}[32missued\u{1b}[0m 600 certificates"),
        "{last:?}"
    );

    // --quiet: the bar and the summary, no line per certificate.
    let quiet = on_terminal(
        &s,
        &["issue", "--from-file", "b.txt", "--out", "pki", "--quiet"],
        &[],
    );
    assert!(
        !quiet.contains("issued b0.example.net"),
        "{}",
        &quiet[..quiet.len().min(2000)]
    );
    assert!(quiet.contains("600 certificates, serials 0x025A to 0x04B1"));

    // NO_COLOR: the bar still (it is not color), no color.
    let plain = on_terminal(
        &s,
        &["issue", "--from-file", "c.txt", "--out", "pki", "--quiet"],
        &[("NO_COLOR", "1")],
    );
    assert!(plain.contains("signing"));
    assert!(!plain.contains("\u{1b}[32m"), "{plain}");

    // check: severities and its verdict in color, on a terminal only.
    std::fs::write(s.path("ca/signed/.x.example.net.pem.tmp.99.0"), "debris").unwrap();
    let check = on_terminal(&s, &["check"], &[]);
    assert!(check.contains("\u{1b}[36minfo   \u{1b}[0m"), "{check}");
    assert!(check.contains("\u{1b}[32mclean\u{1b}[0m"), "{check}");
    // list: states in color.
    let list = on_terminal(&s, &["list", "--all", "a1.example.net"], &[]);
    assert!(list.contains("\u{1b}[32msigned   \u{1b}[0m"), "{list}");

    // Not a terminal: no bar, no escape at all, the same summary.
    names_file(&s, "d.txt", "d", 600);
    let run = s
        .run(&["issue", "--from-file", "d.txt", "--out", "pki", "--quiet"])
        .ok();
    assert!(
        !run.stderr.contains("signing") && !run.stderr.contains('\u{1b}'),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        run.stdout.starts_with("issued 600 certificates"),
        "{}",
        run.stdout
    );
    let run = s.run(&["check"]);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
}
