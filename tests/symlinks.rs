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

/// `install` of `first.example.net` from `out/` into the ssldir `ssl/`.
const INSTALL: [&str; 8] = [
    "install",
    "--dir",
    "ca",
    "--from",
    "out",
    "--ssldir",
    "ssl",
    "first.example.net",
];

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

/// `issue` refused over the CA directory's `entry` (exit 2, one line naming it, saying `why`),
/// and `check` reporting it.
#[track_caller]
fn issue_refused_and_reported(s: &Scratch, entry: &str, why: &str) {
    let issue = ["issue", "--dir", "ca", "--out", "out", "b.example.net"];
    refused(s, &issue, &format!("ca/{entry}"), why);
    check_reports(s, entry);
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
    issue_refused_and_reported(&s, "ca_key.pem", "is a symbolic link");
    // Its mode is the target's concern, not the link's: no mode finding for the link.
    let run = s.run(&["check", "--dir", "ca"]);
    assert!(!run.stdout.contains("loose-mode"), "{}", run.stdout);
}

#[test]
fn a_symlinked_lock_is_refused_and_reported() {
    let s = setup();
    std::fs::write(s.path("ca/clusterca.lock"), b"").unwrap();
    plant(&s, "clusterca.lock", "outside/file");
    issue_refused_and_reported(&s, "clusterca.lock", "is a symbolic link");
}

#[test]
fn a_hard_linked_lock_is_refused_and_reported() {
    let s = setup();
    let _ = std::fs::remove_file(s.path("ca/clusterca.lock"));
    std::fs::hard_link(s.path("outside/file"), s.path("ca/clusterca.lock")).unwrap();
    refused(
        &s,
        &["submit", "--dir", "ca", "new.csr"],
        "ca/clusterca.lock",
        "2 hard links",
    );
    issue_refused_and_reported(&s, "clusterca.lock", "2 hard links");
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
    refused(&s, &INSTALL, "ssl/private_keys", "symbolic link");
}

#[test]
fn install_reads_from_without_following_a_symlink_and_only_a_matching_key() {
    let s = setup();
    // Another CA's key, which the one who can write --from must not get installed.
    s.run(&["init", "--dir", "other", "--ca-name", "Other CA"])
        .ok();
    std::fs::copy(s.path("other/ca_key.pem"), s.path("outside/file")).unwrap();
    let key = s.path("out/first.example.net.key.pem");
    let real = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    std::os::unix::fs::symlink(s.path("outside/file"), &key).unwrap();
    std::fs::create_dir(s.path("ssl")).unwrap();
    let install = INSTALL;
    refused(
        &s,
        &install,
        "first.example.net.key.pem",
        "is a symbolic link",
    );
    assert!(!s.path("ssl/private_keys").exists(), "installed something");
    // A regular file holding another key: refused too, naming the mismatch.
    std::fs::remove_file(&key).unwrap();
    std::fs::copy(s.path("other/ca_key.pem"), &key).unwrap();
    refused(&s, &install, "first.example.net.key.pem", "not the key");
    // The right key installs.
    std::fs::write(&key, real).unwrap();
    s.run(&install).ok();
}

#[test]
fn a_hard_linked_inventory_is_refused_and_reported() {
    let s = setup();
    std::fs::copy(s.path("ca/inventory.txt"), s.path("outside/file")).unwrap();
    std::fs::remove_file(s.path("ca/inventory.txt")).unwrap();
    std::fs::hard_link(s.path("outside/file"), s.path("ca/inventory.txt")).unwrap();
    issue_refused_and_reported(&s, "inventory.txt", "2 hard links");
    // Only that: nothing derived from an inventory that was not read.
    let run = s.run(&["check", "--dir", "ca"]);
    for noise in ["not-in-inventory", "serial-gap"] {
        assert!(!run.stdout.contains(noise), "{}", run.stdout);
    }
}

#[test]
fn install_never_changes_the_owner_or_mode_of_a_hard_linked_file() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup();
    let install = INSTALL;
    s.run(&install).ok();
    // The installed CA bundle, hard-linked to a file outside, its mode loosened.
    let ca = s.path("ssl/certs/ca.pem");
    std::fs::copy(&ca, s.path("outside/file")).unwrap();
    std::fs::set_permissions(
        s.path("outside/file"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    std::fs::remove_file(&ca).unwrap();
    std::fs::hard_link(s.path("outside/file"), &ca).unwrap();
    let before = s.snapshot_of("outside");
    let run = s.run(&install).ok();
    assert!(run.stdout.contains("replaced"), "{}", run.stdout);
    common::assert_unchanged(&before, &s.snapshot_of("outside"), "install");
    assert_eq!(s.mode("ssl/certs/ca.pem"), 0o644);
}

#[test]
fn install_refuses_a_crl_it_cannot_read_instead_of_skipping_it() {
    let s = setup();
    std::fs::copy(s.path("ca/ca_crl.pem"), s.path("outside/file")).unwrap();
    plant(&s, "ca_crl.pem", "outside/file");
    std::fs::create_dir(s.path("ssl")).unwrap();
    refused(&s, &INSTALL, "ca/ca_crl.pem", "is a symbolic link");
}

#[test]
fn a_directory_or_fifo_in_a_files_place_is_exit_2_and_reported() {
    let s = setup();
    let _ = std::fs::remove_file(s.path("ca/clusterca.lock"));
    std::fs::create_dir(s.path("ca/clusterca.lock")).unwrap();
    issue_refused_and_reported(&s, "clusterca.lock", "is a directory");
    std::fs::remove_dir(s.path("ca/clusterca.lock")).unwrap();
    // A FIFO for inventory.txt: check reports it rather than stopping (or hanging) on it.
    std::fs::rename(s.path("ca/inventory.txt"), s.path("inventory.real")).unwrap();
    nix::unistd::mkfifo(&s.path("ca/inventory.txt"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    check_reports(&s, "inventory.txt");
}

#[test]
fn two_backups_in_one_second_both_kept() {
    let s = setup();
    std::fs::create_dir(s.path("ssl")).unwrap();
    let install = |from: &str| {
        s.run(&[
            "install",
            "--dir",
            "ca",
            "--from",
            from,
            "--ssldir",
            "ssl",
            "--backup",
            "first.example.net",
        ])
    };
    install("out").ok();
    // Same name, another issuance (after clean): every file but the CA bundle changes.
    s.run(&["clean", "--dir", "ca", "first.example.net"]).ok();
    std::fs::create_dir(s.path("out2")).unwrap();
    s.run(&["issue", "--dir", "ca", "--out", "out2", "first.example.net"])
        .ok();
    install("out2").ok();
    install("out").ok();
    let backups = common::names_in(&s.path("ssl/private_keys"))
        .iter()
        .filter(|n| n.contains(".bak."))
        .count();
    assert_eq!(backups, 2, "each replacement keeps its backup");
}
