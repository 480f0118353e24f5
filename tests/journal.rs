//! `clusterca.journal`: an interrupted batch is finished or undone by the next signer and by
//! `check --repair`; a journal someone else wrote gets no more from us than a certificate of
//! this CA under its own name in `signed/`, and `check` never hangs on or reads what it names
//! on another user's word.

mod common;

use std::process::Command;

use common::Scratch;

fn ready() -> Scratch {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net", "b.example.net"]).ok();
    s
}

/// A journal entry as JSON.
fn entry(serial: u64, name: &str, pem: &str, key: Option<&str>) -> serde_json::Value {
    let mut e = serde_json::json!({ "serial": serial, "name": name, "certificate": pem });
    if let Some(k) = key {
        e["key"] = k.into();
    }
    e
}

fn write_journal(s: &Scratch, entries: Vec<serde_json::Value>) {
    let j = serde_json::json!({ "version": 1, "entries": entries });
    std::fs::write(s.path("ca/clusterca.journal"), j.to_string()).unwrap();
}

/// clusterca with a deadline, so a hang fails the test instead of stalling it.
fn run_within(s: &Scratch, secs: u32, args: &[&str]) -> common::Run {
    let out = Command::new("timeout")
        .arg(secs.to_string())
        .arg(env!("CARGO_BIN_EXE_clusterca"))
        .args(args)
        .current_dir(s.path(""))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    common::finish(out)
}

#[test]
fn a_recorded_batch_whose_files_are_missing_is_finished_by_the_next_signer() {
    let s = ready();
    // What a failure right after the inventory append leaves: the line, no signed/ file.
    let pem = s.read("ca/signed/b.example.net.pem");
    std::fs::remove_file(s.path("ca/signed/b.example.net.pem")).unwrap();
    write_journal(
        &s,
        vec![entry(
            3,
            "b.example.net",
            &pem,
            Some("b.example.net.key.pem"),
        )],
    );
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1);
    assert!(
        check.stdout.contains("interrupted-batch"),
        "{}",
        check.stdout
    );
    let crl = s.run(&["crl"]).ok();
    assert!(
        crl.stderr.contains("note: finished an interrupted batch"),
        "the recovery is told: {}",
        crl.stderr
    );
    assert_eq!(s.read("ca/signed/b.example.net.pem"), pem);
    assert!(!s.path("ca/clusterca.journal").exists());
    assert_eq!(s.run(&["check"]).code, 0);
}

#[test]
fn an_unrecorded_batch_is_dropped_and_its_serial_never_reused() {
    let s = ready();
    let pem = s.read("ca/signed/b.example.net.pem");
    // Serial 9 has no inventory line: the batch never reached its commit point.
    write_journal(&s, vec![entry(9, "c.example.net", &pem, None)]);
    std::fs::write(s.path("ca/serial"), "000A").unwrap();
    s.run(&["check", "--repair"]).ok();
    assert!(!s.path("ca/signed/c.example.net.pem").exists());
    assert!(!s.path("ca/clusterca.journal").exists());
}

#[test]
fn a_journal_naming_another_certificate_writes_nothing_and_is_set_aside() {
    let s = ready();
    // a.example.net's real certificate (serial 2, recorded) filed under another name.
    let pem = s.read("ca/signed/a.example.net.pem");
    write_journal(&s, vec![entry(2, "evil.example.net", &pem, None)]);
    let run = s.run(&["crl"]).ok();
    assert!(
        run.stderr.contains("subject is not CN=evil.example.net"),
        "{}",
        run.stderr
    );
    assert!(!s.path("ca/signed/evil.example.net.pem").exists());
    assert!(!s.path("ca/clusterca.journal").exists());
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1, "a person must look at what was set aside");
    assert!(
        check.stdout.contains("journal-set-aside"),
        "{}",
        check.stdout
    );
}

#[test]
fn a_journal_certificate_from_another_ca_is_not_written() {
    let s = ready();
    s.run(&["init", "--dir", "other"]).ok();
    std::fs::create_dir(s.path("o")).unwrap();
    s.run(&["issue", "c.example.net", "--dir", "other", "--out", "o"])
        .ok();
    let foreign = s.read("o/c.example.net.pem");
    // Serial 2 is recorded here too: only the signature tells them apart.
    let mut inv = s.read("ca/inventory.txt");
    inv.push_str(s.read("other/inventory.txt").lines().nth(1).unwrap());
    inv.push('\n');
    std::fs::write(s.path("ca/inventory.txt"), inv).unwrap();
    write_journal(&s, vec![entry(2, "c.example.net", &foreign, None)]);
    let run = s.run(&["crl"]).ok();
    assert!(
        run.stderr.contains("not signed by this CA"),
        "{}",
        run.stderr
    );
    assert!(!s.path("ca/signed/c.example.net.pem").exists());
}

#[test]
fn recovery_does_not_write_through_a_symlinked_signed_directory() {
    let s = ready();
    let pem = s.read("ca/signed/b.example.net.pem");
    std::fs::remove_file(s.path("ca/signed/b.example.net.pem")).unwrap();
    std::fs::rename(s.path("ca/signed"), s.path("ca/signed.real")).unwrap();
    std::fs::create_dir(s.path("victim")).unwrap();
    std::os::unix::fs::symlink(s.path("victim"), s.path("ca/signed")).unwrap();
    write_journal(&s, vec![entry(3, "b.example.net", &pem, None)]);
    let run = s.run(&["crl"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("symlink"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(s.path("victim")).unwrap().count(), 0);
}

#[test]
fn check_never_hangs_on_a_fifo_named_by_a_journal_or_planted_in_signed() {
    let s = ready();
    let pem = s.read("ca/signed/b.example.net.pem");
    nix::unistd::mkfifo(
        &s.path("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let fifo = s.path("fifo").display().to_string();
    write_journal(&s, vec![entry(3, "b.example.net", &pem, Some(&fifo))]);
    let check = run_within(&s, 20, &["check"]);
    assert_eq!(check.code, 1, "{}{}", check.stdout, check.stderr);
    assert!(
        check.stdout.contains("recorded-without-key")
            && check.stdout.contains("not a regular file"),
        "{}",
        check.stdout
    );
    // A FIFO in place of a certificate the journal's recovery reads.
    std::fs::remove_file(s.path("ca/signed/b.example.net.pem")).unwrap();
    nix::unistd::mkfifo(
        &s.path("ca/signed/b.example.net.pem"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let repair = run_within(&s, 20, &["check", "--repair"]);
    assert_ne!(repair.code, 124, "check --repair hung on a FIFO");
    assert!(
        repair.stderr.contains("not a regular file"),
        "{}",
        repair.stderr
    );
}

#[test]
fn a_torn_line_that_still_parses_beside_a_journal_is_cut_not_kept() {
    let s = ready();
    let pem = s.read("ca/signed/b.example.net.pem");
    // A short write stopped inside the subject: the rest still parses.
    let inv = s.read("ca/inventory.txt");
    let torn = "0x0004 2026-01-01T00:00:00UTC 2031-01-01T00:00:00UTC /CN=c.examp";
    std::fs::write(s.path("ca/inventory.txt"), format!("{inv}{torn}")).unwrap();
    write_journal(&s, vec![entry(4, "c.example.net", &pem, None)]);
    s.run(&["check", "--repair"]).ok();
    assert_eq!(s.read("ca/inventory.txt"), inv);
    s.run(&["issue", "d.example.net"]).ok();
    assert!(!s.read("ca/inventory.txt").contains("c.examp"));
}

#[test]
fn init_never_removes_a_staging_directory_it_did_not_make() {
    let s = Scratch::new();
    // `exec` keeps the shell's pid, which names the staging directory.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "mkdir -p .ca.init.$$/precious && exec {} init --dir ca",
            env!("CARGO_BIN_EXE_clusterca")
        ))
        .current_dir(s.path(""))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kept = std::fs::read_dir(s.path(""))
        .unwrap()
        .flatten()
        .any(|e| e.path().join("precious").is_dir());
    assert!(kept, "init removed a directory it did not create");
}

#[test]
fn as_root_check_reads_no_key_file_named_by_another_users_journal() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: needs root to give the journal to another user");
        return;
    }
    let s = ready();
    let pem = s.read("ca/signed/b.example.net.pem");
    write_journal(
        &s,
        vec![entry(3, "b.example.net", &pem, Some("/etc/shadow"))],
    );
    nix::unistd::chown(
        &s.path("ca/clusterca.journal"),
        Some(nix::unistd::Uid::from_raw(65534)),
        None,
    )
    .unwrap();
    let check = s.run(&["check"]);
    assert!(
        check.stdout.contains("journal-keys-unchecked"),
        "{}",
        check.stdout
    );
    assert!(!check.stdout.contains("/etc/shadow"), "{}", check.stdout);
}
