//! The serial rule and what a failure can leave, each defect reproduced through the binary:
//! hostile `serial` and `inventory.txt` contents never panic, wrap or reuse a serial; a torn
//! inventory line never ends up mid-file; `revoke --serial` refuses serials never issued; a
//! stale request is seen and removed; `check --repair` re-checks under its own lock.

mod common;

use std::collections::BTreeSet;

use common::Scratch;

fn ready() -> Scratch {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net", "b.example.net"]).ok();
    s
}

/// Serial of a certificate file, read by openssl.
fn openssl_serial(s: &Scratch, file: &str) -> u64 {
    let out = s.openssl(&["x509", "-noout", "-serial", "-in", file]).ok();
    let hex = out
        .stdout
        .trim()
        .strip_prefix("serial=")
        .unwrap()
        .to_owned();
    u64::from_str_radix(&hex, 16).unwrap()
}

fn inventory_serials(s: &Scratch) -> Vec<u64> {
    s.read("ca/inventory.txt")
        .lines()
        .filter_map(|l| u64::from_str_radix(l.split(' ').next()?.strip_prefix("0x")?, 16).ok())
        .collect()
}

fn line(serial: &str, cn: &str) -> String {
    format!("{serial} 2026-01-01T00:00:00UTC 2031-01-01T00:00:00UTC /CN={cn}\n")
}

/// A snapshot without the lock file, whose holder line changes whenever the lock is taken.
fn without_lock(
    mut snap: std::collections::BTreeMap<std::path::PathBuf, (Vec<u8>, u32)>,
) -> std::collections::BTreeMap<std::path::PathBuf, (Vec<u8>, u32)> {
    snap.remove(std::path::Path::new("ca/clusterca.lock"));
    snap
}

fn no_panic(run: &common::Run) {
    assert!(
        !run.stderr.contains("panicked") && run.code != 101,
        "{}",
        run.stderr
    );
}

#[test]
fn every_hostile_serial_file_is_reported_repaired_and_never_reused() {
    let digits = "9".repeat(2 << 20);
    for content in [
        "",
        "0",
        "zz\u{202e}top",
        digits.as_str(),
        "0002",
        "1",
        "FFFFFFFFFFFFFFFF",
        "80000000",
    ] {
        let s = ready();
        std::fs::write(s.path("ca/serial"), content).unwrap();
        let check = s.run(&["check"]);
        no_panic(&check);
        assert_eq!(check.code, 1, "{content:.20?}: {}", check.stdout);
        assert!(
            check.stdout.lines().all(|l| l.len() < 400),
            "a line quotes the file"
        );
        let repair = s.run(&["check", "--repair"]);
        no_panic(&repair);
        assert_eq!(repair.code, 0, "{content:.20?}: {}", repair.stdout);
        s.run(&["issue", "c.example.net"]).ok();
        assert_eq!(
            openssl_serial(&s, "c.example.net.pem"),
            4,
            "{content:.20?}: a, b are 2 and 3"
        );
        assert_eq!(inventory_serials(&s), [1, 2, 3, 4]);
    }
}

#[test]
fn a_serial_file_behind_the_records_is_overruled_before_issuing() {
    // Behind the inventory, behind signed/, behind the CRL: each is skipped past.
    let s = ready();
    std::fs::write(s.path("ca/serial"), "0002").unwrap();
    s.run(&["issue", "c.example.net"]).ok();
    assert_eq!(openssl_serial(&s, "c.example.net.pem"), 4);

    // A certificate in signed/ that no inventory line records (Puppet's CLI leaves those).
    let t = ready();
    t.run(&["init", "--dir", "ca2"]).ok();
    std::fs::create_dir(t.path("o2")).unwrap();
    std::fs::write(t.path("ca2/serial"), "0040").unwrap();
    t.run(&["issue", "z.example.net", "--dir", "ca2", "--out", "o2"])
        .ok();
    // Pretend ca's signed/ holds serial 0x40 (the file's serial is all the rule reads).
    std::fs::copy(
        t.path("o2/z.example.net.pem"),
        t.path("ca/signed/z.example.net.pem"),
    )
    .unwrap();
    std::fs::write(t.path("ca/serial"), "0004").unwrap();
    t.run(&["issue", "c.example.net"]).ok();
    assert_eq!(openssl_serial(&t, "c.example.net.pem"), 0x41);

    // A CRL entry for a serial above the file (revoked with --force).
    let u = ready();
    u.run(&["revoke", "--serial", "0x30", "--force"]).ok();
    u.run(&["issue", "c.example.net"]).ok();
    assert_eq!(openssl_serial(&u, "c.example.net.pem"), 0x31);
    let crl = u
        .openssl(&["crl", "-noout", "-text", "-in", "ca/ca_crl.pem"])
        .ok()
        .stdout;
    assert!(crl.contains("Serial Number: 30") && !crl.contains("Serial Number: 31"));
}

#[test]
fn a_huge_inventory_serial_neither_wraps_the_counter_nor_panics() {
    let s = ready();
    let mut inv = s.read("ca/inventory.txt");
    inv.push_str(&line("0xFFFFFFFFFFFFFFFF", "huge.example.net"));
    std::fs::write(s.path("ca/inventory.txt"), inv).unwrap();
    std::fs::write(s.path("ca/serial"), "not hex").unwrap();
    let check = s.run(&["check"]);
    no_panic(&check);
    assert!(
        check.stdout.contains("serial-above-limit"),
        "{}",
        check.stdout
    );
    let repair = s.run(&["check", "--repair"]);
    no_panic(&repair);
    assert!(
        repair.stdout.contains("to 0004"),
        "repair must write one past the highest usable serial: {}",
        repair.stdout
    );
    assert_eq!(s.read("ca/serial"), "0004");
    s.run(&["issue", "c.example.net", "d.example.net"]).ok();
    assert_eq!(openssl_serial(&s, "c.example.net.pem"), 4);
    assert_eq!(openssl_serial(&s, "d.example.net.pem"), 5);
}

#[test]
fn past_puppets_limit_issue_refuses_naming_it_and_writes_nothing() {
    let s = ready();
    std::fs::write(s.path("ca/serial"), "7FFFFFFF").unwrap();
    let before = without_lock(s.snapshot());
    let run = s.run(&["issue", "c.example.net"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("0x7FFFFFFF"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1);
    common::assert_unchanged(&before, &without_lock(s.snapshot()), "refused");
    // One below the limit is the last serial handed out.
    std::fs::write(s.path("ca/serial"), "7FFFFFFE").unwrap();
    s.run(&["issue", "c.example.net"]).ok();
    assert_eq!(openssl_serial(&s, "c.example.net.pem"), 0x7FFF_FFFE);
    assert_eq!(s.read("ca/serial"), "7FFFFFFF");
    assert_eq!(s.run(&["issue", "d.example.net"]).code, 2);
}

#[test]
fn a_torn_inventory_line_is_cut_before_the_next_append() {
    let s = ready();
    let mut inv = s.read("ca/inventory.txt");
    let whole = inv.clone();
    inv.push_str("0x0004 2026-11-2");
    std::fs::write(s.path("ca/inventory.txt"), inv).unwrap();
    s.run(&["issue", "c.example.net"]).ok();
    let after = s.read("ca/inventory.txt");
    assert!(after.starts_with(&whole), "{after}");
    assert!(!after.contains("2026-11-2\n") && !after.contains("2026-11-20x"));
    assert_eq!(after.lines().count(), 4, "{after}");
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
}

#[test]
fn a_last_line_missing_only_its_newline_is_kept() {
    let s = ready();
    let inv = s.read("ca/inventory.txt");
    std::fs::write(s.path("ca/inventory.txt"), inv.trim_end()).unwrap();
    s.run(&["issue", "c.example.net"]).ok();
    assert_eq!(inventory_serials(&s), [1, 2, 3, 4]);
}

#[test]
fn a_malformed_inventory_line_does_not_make_a_serial_issued() {
    let s = ready();
    let mut inv = s.read("ca/inventory.txt");
    inv.push_str("0x0050 junk\n");
    std::fs::write(s.path("ca/inventory.txt"), inv).unwrap();
    let run = s.run(&["revoke", "--serial", "0x50"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("never issued"), "{}", run.stderr);
}

#[test]
fn revoking_a_serial_never_issued_is_refused_unless_forced() {
    let s = ready();
    let before = without_lock(s.snapshot());
    let run = s.run(&["revoke", "--serial", "0x05"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("0x0005") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    common::assert_unchanged(&before, &without_lock(s.snapshot()), "refused");
    // Issued serials (and the CA's own inventory line) are accepted without --force.
    s.run(&["revoke", "--serial", "0x02"]).ok();
    s.run(&["revoke", "--serial", "0x05", "--force"]).ok();
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(
        check.stdout.contains("crl-unissued-serial"),
        "{}",
        check.stdout
    );
    // The forced serial is never handed out: the next certificate is not born revoked.
    s.run(&["issue", "c.example.net"]).ok();
    assert_eq!(openssl_serial(&s, "c.example.net.pem"), 6);
}

#[test]
fn a_stale_request_beside_its_signed_certificate_is_found_and_removed() {
    let s = ready();
    s.ec_csr("r.key", "r.csr", "r.example.net", &[]);
    s.run(&["submit", "r.csr"]).ok();
    let request = s.read("ca/requests/r.example.net.pem");
    s.run(&["sign", "r.example.net"]).ok();
    // What a failed removal after signing leaves.
    std::fs::write(s.path("ca/requests/r.example.net.pem"), request).unwrap();
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1);
    assert!(check.stdout.contains("stale-request"), "{}", check.stdout);
    s.run(&["check", "--repair"]).ok();
    assert!(!s.path("ca/requests/r.example.net.pem").exists());
    s.run(&["sign", "--all"]).ok();
}

#[test]
fn repair_beside_live_signers_reports_what_it_saw_under_its_lock() {
    let s = ready();
    // Enough certificates that reading signed/ takes a while: a check that reads `serial`
    // first and signed/ last, outside the lock, then sees serials handed out in between.
    let names: String = (0..400).map(|i| format!("old{i}.example.net\n")).collect();
    std::fs::write(s.path("names.txt"), names).unwrap();
    std::fs::create_dir(s.path("old")).unwrap();
    s.run(&["issue", "--from-file", "names.txt", "--out", "old"])
        .ok();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut reports = Vec::new();
    std::thread::scope(|scope| {
        for w in 0..2 {
            let (s, stop) = (&s, &stop);
            scope.spawn(move || {
                std::fs::create_dir_all(s.path(&format!("out{w}"))).unwrap();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let name = format!("w{w}-{i}.example.net");
                    let out = format!("out{w}");
                    s.run(&["issue", &name, "--out", &out, "--lock-timeout", "30s"])
                        .ok();
                    i += 1;
                }
            });
        }
        for _ in 0..40 {
            reports.push(s.run(&["check", "--repair", "--lock-timeout", "30s"]));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    for r in &reports {
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(!r.stdout.contains("serial-behind"), "{}", r.stdout);
    }
    let serials = inventory_serials(&s);
    let unique: BTreeSet<u64> = serials.iter().copied().collect();
    assert_eq!(unique.len(), serials.len(), "a serial recorded twice");
    assert_eq!(s.run(&["check"]).code, 0);
}

#[test]
fn restoring_the_directory_from_a_backup_in_place_reuses_no_serial() {
    let s = ready();
    let backup = s.path("backup");
    let cp = |from: &std::path::Path, to: &std::path::Path| {
        let out = std::process::Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(to)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    cp(&s.path("ca"), &backup);
    s.run(&["issue", "c.example.net", "d.example.net"]).ok();
    // cp -a back over the live directory: old serial, old cache, old times; new certs stay.
    cp(&backup.join("."), &s.path("ca"));
    s.run(&["issue", "e.example.net"]).ok();
    assert_eq!(openssl_serial(&s, "e.example.net.pem"), 6);
    let serials: Vec<u64> = inventory_serials(&s);
    assert!(!serials[..serials.len() - 1].contains(&6));
}

#[test]
fn a_planted_serial_cache_is_reported_and_removed() {
    let s = ready();
    // After clean the cache keeps a serial that left signed/ (the inventory still has it):
    // harmless, not stale.
    s.run(&["clean", "b.example.net"]).ok();
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    // A cache whose stamp is signed/'s own, so the rule would believe it.
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(s.path("ca/signed")).unwrap();
    let planted = format!(
        "v1 {} {} {} 1 2147483646\n",
        m.ino(),
        m.ctime(),
        m.ctime_nsec()
    );
    std::fs::write(s.path("ca/clusterca.signed-max"), planted).unwrap();
    let check = s.run(&["check"]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert!(
        check.stdout.contains("signed-max-stale"),
        "{}",
        check.stdout
    );
    s.run(&["check", "--repair"]).ok();
    s.run(&["issue", "c.example.net"]).ok();
    assert_eq!(openssl_serial(&s, "c.example.net.pem"), 4);
}

#[test]
fn issue_replaces_only_an_earlier_certificate_of_this_ca_for_the_name() {
    let s = ready();
    std::fs::write(s.path("c.example.net.pem"), "precious").unwrap();
    let before = without_lock(s.snapshot());
    let run = s.run(&["issue", "c.example.net"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    common::assert_unchanged(&before, &without_lock(s.snapshot()), "refused");
    // A certificate of this CA for that name (cleaned, its key removed) is replaced.
    s.run(&["clean", "b.example.net"]).ok();
    std::fs::remove_file(s.path("b.example.net.key.pem")).unwrap();
    s.run(&["issue", "b.example.net"]).ok();
    // One for another name is not.
    std::fs::copy(s.path("a.example.net.pem"), s.path("d.example.net.pem")).unwrap();
    assert_eq!(s.run(&["issue", "d.example.net"]).code, 2);
}
