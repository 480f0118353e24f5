//! `check` finds each kind of damage, `check --repair` fixes exactly the safe ones.

#![allow(dead_code)] // schema structs: every field is part of the contract, not all asserted

mod common;

use common::Scratch;
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    findings: Vec<Finding>,
    repaired: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Finding {
    subject: String,
    rule: String,
    severity: String,
    message: String,
}

fn check(s: &Scratch, repair: bool) -> (i32, Report) {
    let mut args = vec!["--format", "json", "check"];
    if repair {
        args.push("--repair");
    }
    let run = s.run(&args);
    let report =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    (run.code, report)
}

fn rules(r: &Report) -> Vec<(&str, &str)> {
    let mut v: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity.as_str()))
        .collect();
    v.sort();
    v
}

fn ready() -> Scratch {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net", "b.example.net"]).ok();
    s
}

#[test]
fn a_fresh_store_is_clean() {
    let s = ready();
    let (code, report) = check(&s, false);
    assert_eq!(code, 0);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(s
        .run(&["check"])
        .ok()
        .stdout
        .contains("clean: 0 errors, 0 warnings, 0 notes"));
}

#[test]
fn repair_fixes_torn_lines_lagging_serials_missing_lines_and_temp_files() {
    let s = ready();
    let good_inventory = s.read("ca/inventory.txt");
    // A crash mid-append, a serial file rolled back, a cert whose line never made it, debris.
    let without_b: String = good_inventory
        .lines()
        .filter(|l| !l.ends_with("/CN=b.example.net"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(
        s.path("ca/inventory.txt"),
        format!("{without_b}0x0009 2026-11-20T1"),
    )
    .unwrap();
    std::fs::write(s.path("ca/serial"), "0003").unwrap();
    std::fs::write(s.path("ca/signed/.c.example.net.pem.tmp.99.0"), "partial").unwrap();
    std::fs::write(s.path("ca/.serial.tmp.99.1"), "00").unwrap();

    let (code, report) = check(&s, false);
    assert_eq!(code, 1);
    assert_eq!(
        rules(&report),
        [
            ("not-in-inventory", "info"),
            ("serial-behind", "error"),
            ("stale-temp-file", "info"),
            ("stale-temp-file", "info"),
            ("torn-inventory-line", "error"),
        ]
    );
    let (code, report) = check(&s, true);
    assert_eq!(code, 0, "{:?}", report.findings);
    assert_eq!(report.repaired.len(), 5, "{:?}", report.repaired);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    // The inventory holds every certificate once, whole lines only, b's line appended again.
    let inv = s.read("ca/inventory.txt");
    assert!(inv.ends_with('\n'));
    let mut lines: Vec<&str> = inv.lines().collect();
    let mut want: Vec<&str> = good_inventory.lines().collect();
    lines.sort();
    want.sort();
    assert_eq!(lines, want);
    assert_eq!(s.read("ca/serial"), "0004");
    assert!(!s.path("ca/signed/.c.example.net.pem.tmp.99.0").exists());
    // And issuing goes on from the right serial.
    s.run(&["issue", "c.example.net"]).ok();
    assert!(s.read("ca/inventory.txt").contains("0x0004 "));
}

#[test]
fn damage_that_cannot_be_repaired_is_reported_and_left_alone() {
    let s = ready();
    // A certificate from another CA, filed under a name it does not carry.
    let other = Scratch::new();
    other.run(&["init"]).ok();
    other.run(&["issue", "x.example.net"]).ok();
    std::fs::copy(
        other.path("x.example.net.pem"),
        s.path("ca/signed/intruder.example.net.pem"),
    )
    .unwrap();
    // A copy of a's certificate under b's name: a duplicate serial too.
    std::fs::copy(
        s.path("ca/signed/a.example.net.pem"),
        s.path("ca/signed/b.example.net.pem"),
    )
    .unwrap();
    // A CRL signed by the other CA.
    std::fs::copy(other.path("ca/ca_crl.pem"), s.path("ca/ca_crl.pem")).unwrap();

    let (code, report) = check(&s, true);
    assert_eq!(code, 1);
    let found = rules(&report);
    for want in [
        ("crl-signature", "error"),
        ("duplicate-serial", "error"),
        ("foreign-certificate", "error"),
        ("name-mismatch", "error"),
    ] {
        assert!(found.contains(&want), "{want:?} not in {found:?}");
    }
    let mismatch: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == "name-mismatch")
        .collect();
    assert_eq!(mismatch.len(), 2, "{mismatch:?}");
    // Nothing it must not touch was touched.
    assert!(s.path("ca/signed/intruder.example.net.pem").exists());
}

#[test]
fn repair_tightens_loose_modes_and_says_what_it_changed() {
    use std::os::unix::fs::PermissionsExt;
    let s = ready();
    let set = |rel: &str, mode: u32| {
        std::fs::set_permissions(s.path(rel), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    // What a copy with the wrong umask, or an adopted cadir, may have.
    set("ca/ca_key.pem", 0o664);
    set("ca/ca_crt.pem", 0o666);
    set("ca/signed", 0o777);
    let (code, report) = check(&s, false);
    assert_eq!(code, 1);
    let key = report
        .findings
        .iter()
        .find(|f| f.rule == "loose-mode" && f.subject.ends_with("ca_key.pem"))
        .unwrap_or_else(|| panic!("{:?}", report.findings));
    assert_eq!(key.severity, "error");
    assert!(
        key.message.contains("mode 0664") && key.message.contains("`check --repair` sets 0640"),
        "{}",
        key.message
    );
    let (code, report) = check(&s, true);
    assert_eq!(code, 0, "{:?}", report.findings);
    for want in [
        "chmod 0640 ca/ca_key.pem (was 0664)",
        "chmod 0644 ca/ca_crt.pem (was 0666)",
        "chmod 0755 ca/signed (was 0777)",
    ] {
        assert!(
            report.repaired.iter().any(|r| r == want),
            "{want:?} not in {:?}",
            report.repaired
        );
    }
    assert_eq!(s.mode("ca/ca_key.pem"), 0o640);
    assert_eq!(s.mode("ca/ca_crt.pem"), 0o644);
    assert_eq!(s.mode("ca/signed"), 0o755);
    assert!(report.findings.iter().all(|f| f.rule != "loose-mode"));

    // A key with another hard link is not changed (its mode is the other name's too): not
    // among the repairs, and the finding says why instead of promising one.
    set("ca/ca_key.pem", 0o644);
    std::fs::hard_link(s.path("ca/ca_key.pem"), s.path("elsewhere.pem")).unwrap();
    let (code, report) = check(&s, true);
    assert_eq!(code, 1);
    assert!(report.repaired.is_empty(), "{:?}", report.repaired);
    let key = report
        .findings
        .iter()
        .find(|f| f.rule == "loose-mode")
        .unwrap_or_else(|| panic!("{:?}", report.findings));
    assert!(
        key.message.contains("other hard links") && !key.message.contains("--repair"),
        "{}",
        key.message
    );
    assert_eq!(s.mode("elsewhere.pem"), 0o644);
}

#[test]
fn an_expired_crl_is_an_error() {
    let s = ready();
    let store = clusterca_store::Store::open(&s.path("ca")).unwrap();
    let ca = store.load_ca().unwrap();
    let past = OffsetDateTime::now_utc() - time::Duration::days(30);
    let crl = ca
        .crl(&clusterca_pki::CrlSpec {
            number: 1,
            this_update: past,
            next_update: past + time::Duration::days(1),
            revoked: vec![],
        })
        .unwrap();
    std::fs::write(s.path("ca/ca_crl.pem"), crl).unwrap();
    let (code, report) = check(&s, false);
    assert_eq!(code, 1);
    assert_eq!(rules(&report), [("crl-expired", "error")]);
    // openssl agrees that the CRL is signed by the CA but out of date.
    let v = s
        .openssl(&[
            "crl",
            "-in",
            "ca/ca_crl.pem",
            "-CAfile",
            "ca/ca_crt.pem",
            "-noout",
            "-nextupdate",
        ])
        .ok();
    assert!(v.stdout.contains("nextUpdate="), "{}", v.stdout);
}

#[test]
fn puppets_own_format_variants_are_accepted() {
    let s = ready();
    // The Ruby CLI's serial (`3\n`) and lowercase hex, and old `+00:00` timestamps.
    let inv = s.read("ca/inventory.txt");
    let rewritten: String = inv
        .lines()
        .map(|l| {
            let mut parts = l.splitn(4, ' ');
            let (serial, nb, na, subject) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            let old = |t: &str| t.replace("UTC", "+00:00");
            format!(
                "{} {} {} {subject}\n",
                serial.to_lowercase(),
                old(nb),
                old(na)
            )
        })
        .collect();
    std::fs::write(s.path("ca/inventory.txt"), rewritten).unwrap();
    std::fs::write(s.path("ca/serial"), "4\n").unwrap();
    let (code, report) = check(&s, false);
    assert_eq!(code, 0, "{:?}", report.findings);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    // Issuing reads them and writes Puppet Server's forms.
    s.run(&["issue", "c.example.net"]).ok();
    assert_eq!(s.read("ca/serial"), "0005");
}

#[test]
fn serial_gaps_are_info_only() {
    let s = ready();
    std::fs::write(s.path("ca/serial"), "0010").unwrap();
    let (code, report) = check(&s, false);
    assert_eq!(code, 0);
    assert_eq!(rules(&report), [("serial-gap", "info")]);
    assert!(
        report.findings[0].message.contains("0x0004-0x000F"),
        "{}",
        report.findings[0].message
    );
}

#[test]
fn check_reads_each_certificate_once_and_still_finds_a_foreign_one() {
    if !common::have_program("strace", "strace") {
        return;
    }
    let s = ready();
    let names: Vec<String> = (0..40).map(|i| format!("n{i}.example.net")).collect();
    let mut args = vec!["issue"];
    args.extend(names.iter().map(String::as_str));
    s.run(&args).ok();
    // One certificate signed by another CA, filed under a name of its own.
    let other = Scratch::new();
    other.run(&["init"]).ok();
    other.run(&["issue", "stray.example.net"]).ok();
    std::fs::copy(
        other.path("ca/signed/stray.example.net.pem"),
        s.path("ca/signed/stray.example.net.pem"),
    )
    .unwrap();
    let trace = s.path("trace.txt").display().to_string();
    let out = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o", &trace])
        .arg(env!("CARGO_BIN_EXE_clusterca"))
        .args(["--format", "json", "check", "--warn-days", "36500"])
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    let found = rules(&report);
    assert!(
        found.contains(&("foreign-certificate", "error")),
        "{found:?}"
    );
    // The lifecycle notes come from the same reading: every certificate expires within
    // 36,500 days.
    let expiring = report
        .findings
        .iter()
        .filter(|f| f.rule == "cert-expiring")
        .count();
    let files = common::names_in(&s.path("ca/signed")).len();
    assert_eq!(expiring, files, "{found:?}");
    let trace = std::fs::read_to_string(&trace).unwrap();
    for name in names
        .iter()
        .map(String::as_str)
        .chain(["stray.example.net"])
    {
        let opens = trace
            .lines()
            .filter(|l| l.contains(&format!("\"{name}.pem\"")))
            .count();
        assert_eq!(opens, 1, "{name}.pem opened {opens} times:\n{trace}");
    }
}

#[test]
fn a_signed_file_holding_more_than_its_certificate_and_a_fifo_among_requests_are_found() {
    // A reviewer's cases: a foreign certificate appended to a signed/ file (agents get the
    // whole file), junk after one, and a FIFO named like a request (it stops `list`).
    let s = ready();
    s.run(&["issue", "p1.example.net", "p4.example.net"]).ok();
    let other = Scratch::new();
    other.run(&["init"]).ok();
    other.run(&["issue", "foreign.example.net"]).ok();
    let foreign = other.read("ca/signed/foreign.example.net.pem");
    let mut p1 = s.read("ca/signed/p1.example.net.pem");
    p1.push_str(&foreign);
    std::fs::write(s.path("ca/signed/p1.example.net.pem"), p1).unwrap();
    let mut p4 = s.read("ca/signed/p4.example.net.pem");
    p4.push_str("junk\n");
    std::fs::write(s.path("ca/signed/p4.example.net.pem"), p4).unwrap();
    std::fs::create_dir_all(s.path("ca/requests")).unwrap();
    nix::unistd::mkfifo(
        &s.path("ca/requests/fifo.example.net.pem"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    std::fs::write(
        s.path("ca/requests/junk.example.net.pem"),
        "not a request\n",
    )
    .unwrap();
    let (code, report) = check(&s, false);
    assert_eq!(code, 1);
    let found: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.subject.as_str()))
        .collect();
    for (rule, subject) in [
        ("extra-content", "ca/signed/p1.example.net.pem"),
        ("extra-content", "ca/signed/p4.example.net.pem"),
        ("unsafe-entry", "ca/requests/fifo.example.net.pem"),
        ("unparseable-request", "ca/requests/junk.example.net.pem"),
    ] {
        assert!(
            found.contains(&(rule, subject)),
            "{rule} {subject}: {found:?}"
        );
    }
}

#[test]
fn a_repair_that_fails_half_way_says_what_it_repaired_before_it() {
    if !common::have_program("strace", "strace") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let s = ready();
    std::fs::write(s.path("ca/serial"), "0001").unwrap();
    std::fs::set_permissions(
        s.path("ca/ca_key.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = std::process::Command::new("strace")
        .args([
            "-f",
            "-o",
            "/dev/null",
            "-e",
            "inject=fchmod:error=EIO:when=2",
        ])
        .arg(env!("CARGO_BIN_EXE_clusterca"))
        .args(["check", "--repair"])
        .current_dir(s.path("."))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot chmod ca/ca_key.pem")
            && err.contains("repaired before it: set ca/serial to 0004"),
        "{err}"
    );
    // What failed is still found; what was repaired stays repaired.
    let (code, report) = check(&s, false);
    assert_eq!(code, 1);
    assert!(rules(&report).contains(&("loose-mode", "error")));
    assert_eq!(s.read("ca/serial"), "0004");
}
