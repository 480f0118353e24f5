//! Symlinks and hard links planted in a CA directory: every command that would write through
//! them is refused with exit 2 and one line naming the entry, nothing outside the CA directory
//! changes, and `check` reports each as an error (`unsafe-entry`).

mod common;

use common::Scratch;

/// A CA in `ca/`, one certificate issued (so `clean` has work), and `outside/` holding a
/// directory and a file a planted link can point at.
fn setup() -> Scratch {
    let s = Scratch::new();
    s.run(&["init", "--dir", "ca", "--ca-name", "Link CA"]).ok();
    std::fs::create_dir(s.path("out")).unwrap();
    s.run(&["issue", "--dir", "ca", "--out", "out", "first.example.net"])
        .ok();
    std::fs::create_dir_all(s.path("outside/dir")).unwrap();
    std::fs::write(s.path("outside/dir/first.example.net.pem"), b"not yours\n").unwrap();
    std::fs::write(s.path("outside/file"), b"root's file\n").unwrap();
    s.ec_csr("k.pem", "new.csr", "new.example.net", &[]);
    s
}

/// Replaces `ca/<entry>` with a symlink to `target` (keeping the real one aside).
fn plant(s: &Scratch, entry: &str, target: &str) {
    let p = s.path(&format!("ca/{entry}"));
    std::fs::rename(&p, s.path(&format!("ca/{entry}.real"))).unwrap();
    std::os::unix::fs::symlink(s.path(target), &p).unwrap();
}

#[track_caller]
fn refused(s: &Scratch, args: &[&str], names: &str, why: &str) {
    let before = s.snapshot_of("outside");
    let run = s.run(args);
    assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: {}", run.stderr);
    assert!(
        lines[0].contains(names) && lines[0].contains(why),
        "{args:?}: {}",
        run.stderr
    );
    common::assert_unchanged(&before, &s.snapshot_of("outside"), &format!("{args:?}"));
}

#[track_caller]
fn check_reports(s: &Scratch, entry: &str) {
    let run = s.run(&["check", "--dir", "ca", "--format", "json"]);
    assert_ne!(run.code, 0, "check passed with {entry} planted");
    let findings: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let hit = findings["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule"] == "unsafe-entry");
    let hit = hit.unwrap_or_else(|| panic!("no unsafe-entry for {entry}: {}", run.stdout));
    assert_eq!(hit["severity"], "error");
    assert!(
        hit["subject"].as_str().unwrap_or_default().ends_with(entry),
        "{hit}"
    );
}

#[test]
fn a_symlinked_signed_dir_is_refused_and_reported() {
    let s = setup();
    plant(&s, "signed", "outside/dir");
    let why = "is a symbolic link";
    refused(
        &s,
        &["issue", "--dir", "ca", "--out", "out", "b.example.net"],
        "ca/signed",
        why,
    );
    refused(
        &s,
        &["clean", "--dir", "ca", "first.example.net"],
        "ca/signed",
        why,
    );
    refused(&s, &["list", "--dir", "ca", "--all"], "ca/signed", why);
    check_reports(&s, "signed");
}

#[test]
fn a_symlinked_requests_dir_is_refused_and_reported() {
    let s = setup();
    plant(&s, "requests", "outside/dir");
    let why = "is a symbolic link";
    refused(
        &s,
        &["submit", "--dir", "ca", "new.csr"],
        "ca/requests",
        why,
    );
    refused(
        &s,
        &["clean", "--dir", "ca", "first.example.net"],
        "ca/requests",
        why,
    );
    check_reports(&s, "requests");
}

#[test]
fn a_symlinked_ca_key_is_refused_and_reported() {
    let s = setup();
    std::fs::copy(s.path("ca/ca_key.pem"), s.path("outside/file")).unwrap();
    plant(&s, "ca_key.pem", "outside/file");
    refused(
        &s,
        &["issue", "--dir", "ca", "--out", "out", "b.example.net"],
        "ca/ca_key.pem",
        "is a symbolic link",
    );
    check_reports(&s, "ca_key.pem");
    // Its mode is the target's concern, not the link's: no mode finding for the link.
    let run = s.run(&["check", "--dir", "ca"]);
    assert!(!run.stdout.contains("loose-mode"), "{}", run.stdout);
}

#[test]
fn a_symlinked_lock_is_refused_and_reported() {
    let s = setup();
    std::fs::write(s.path("ca/clusterca.lock"), b"").unwrap();
    plant(&s, "clusterca.lock", "outside/file");
    refused(
        &s,
        &["issue", "--dir", "ca", "--out", "out", "b.example.net"],
        "ca/clusterca.lock",
        "is a symbolic link",
    );
    check_reports(&s, "clusterca.lock");
}

#[test]
fn a_hard_linked_lock_is_refused_and_reported() {
    let s = setup();
    let _ = std::fs::remove_file(s.path("ca/clusterca.lock"));
    std::fs::hard_link(s.path("outside/file"), s.path("ca/clusterca.lock")).unwrap();
    refused(
        &s,
        &["issue", "--dir", "ca", "--out", "out", "b.example.net"],
        "ca/clusterca.lock",
        "2 hard links",
    );
    refused(
        &s,
        &["submit", "--dir", "ca", "new.csr"],
        "ca/clusterca.lock",
        "2 hard links",
    );
    check_reports(&s, "clusterca.lock");
}

#[test]
fn a_symlinked_ca_directory_is_refused() {
    let s = setup();
    std::os::unix::fs::symlink(s.path("ca"), s.path("link")).unwrap();
    refused(
        &s,
        &["issue", "--dir", "link", "--out", "out", "b.example.net"],
        "link",
        "is a symbolic link",
    );
}

#[test]
fn install_refuses_a_symlinked_layout_directory() {
    let s = setup();
    std::fs::create_dir(s.path("ssl")).unwrap();
    std::os::unix::fs::symlink(s.path("outside/dir"), s.path("ssl/private_keys")).unwrap();
    refused(
        &s,
        &[
            "install",
            "--dir",
            "ca",
            "--from",
            "out",
            "--ssldir",
            "ssl",
            "first.example.net",
        ],
        "ssl/private_keys",
        "symbolic link",
    );
}
