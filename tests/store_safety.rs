//! The reason clusterca exists: concurrent signers and crashes never corrupt the CA store or
//! reuse a serial. Real processes, a real lock, real `kill -9`, and `openssl verify`.

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Scratch;

/// Serials of every inventory line, each line checked here against Puppet Server's format
/// independently of clusterca: `0x<4+ uppercase hex> <time>UTC <time>UTC /CN=<name>`.
fn inventory_serials(s: &Scratch) -> Vec<u64> {
    let is_time = |t: &str| {
        t.len() == 22
            && t.ends_with("UTC")
            && t.as_bytes()[10] == b'T'
            && t[..19].bytes().filter(u8::is_ascii_digit).count() == 14
    };
    s.read("ca/inventory.txt")
        .lines()
        .map(|l| {
            let parts: Vec<&str> = l.splitn(4, ' ').collect();
            assert_eq!(parts.len(), 4, "malformed line {l:?}");
            let hex = parts[0].strip_prefix("0x").expect("0x prefix");
            assert!(
                hex.len() >= 4
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
                "{l:?}"
            );
            assert!(
                is_time(parts[1]) && is_time(parts[2]),
                "malformed times in {l:?}"
            );
            assert!(parts[3].starts_with("/CN="), "{l:?}");
            u64::from_str_radix(hex, 16).unwrap()
        })
        .collect()
}

/// Serial of each `signed/` certificate, read by openssl: all of them in one bundle and one
/// `openssl storeutl` run (one process per certificate costs ~25 ms each).
fn signed_serials(s: &Scratch) -> Vec<u64> {
    let mut bundle = String::new();
    let mut count = 0;
    for entry in std::fs::read_dir(s.path("ca/signed")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pem") {
            bundle.push_str(&std::fs::read_to_string(&path).unwrap());
            count += 1;
        }
    }
    std::fs::write(s.path("all-signed.pem"), bundle).unwrap();
    let run = s
        .openssl(&["storeutl", "-noout", "-text", "-certs", "all-signed.pem"])
        .ok();
    let serials: Vec<u64> = run
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(|v| {
            let hex = v
                .split("(0x")
                .nth(1)
                .and_then(|h| h.strip_suffix(')'))
                .unwrap_or_else(|| panic!("{v:?}"));
            u64::from_str_radix(hex, 16).unwrap()
        })
        .collect();
    std::fs::remove_file(s.path("all-signed.pem")).unwrap();
    assert_eq!(
        serials.len(),
        count,
        "openssl read {} of {count} certificates",
        serials.len()
    );
    serials
}

/// `openssl verify` of every file in `signed/`, in chunks.
fn verify_all_signed(s: &Scratch) -> usize {
    let mut files: Vec<String> = std::fs::read_dir(s.path("ca/signed"))
        .unwrap()
        .map(|e| format!("ca/signed/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".pem"))
        .collect();
    files.sort();
    for chunk in files.chunks(200) {
        let mut args = vec!["verify", "-CAfile", "ca/ca_crt.pem"];
        args.extend(chunk.iter().map(String::as_str));
        let run = s.openssl(&args);
        assert_eq!(
            run.code, 0,
            "openssl verify failed:\n{}{}",
            run.stdout, run.stderr
        );
        assert_eq!(
            run.stdout.lines().filter(|l| l.ends_with(": OK")).count(),
            chunk.len()
        );
    }
    files.len()
}

fn write_names(s: &Scratch, file: &str, names: impl Iterator<Item = String>) {
    let text: String = names.map(|n| n + " smartproxy.example.net\n").collect();
    std::fs::write(s.path(file), text).unwrap();
}

fn spawn_issue(s: &Scratch, names: &str, out: &str) -> Child {
    std::fs::create_dir_all(s.path(out)).unwrap();
    s.cmd(&[
        "issue",
        "--from-file",
        names,
        "--out",
        out,
        "--lock-timeout",
        "120s",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// 8 batch signers of `per_proc` names each, then 8 x 10 single-certificate signers, racing on
/// the CA directory as it stands: every new certificate gets its own serial, the serials
/// continue exactly from `serial`, and everything verifies.
pub fn concurrent_signers(s: &Scratch, per_proc: usize) {
    let inv_before: BTreeSet<u64> = inventory_serials(s).into_iter().collect();
    let signed_before = signed_serials(s).len();
    let start = u64::from_str_radix(s.read("ca/serial").trim(), 16).unwrap();
    let children: Vec<Child> = (0..8)
        .map(|p| {
            let file = format!("names{p}.txt");
            write_names(
                s,
                &file,
                (0..per_proc).map(|i| format!("p{p}-n{i}.example.net")),
            );
            spawn_issue(s, &file, &format!("out{p}"))
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Plus single-certificate signers racing each other: many short lock holds.
    let singles: Vec<Child> = (0..8)
        .map(|p| {
            let out = format!("single{p}");
            std::fs::create_dir_all(s.path(&out)).unwrap();
            let script = (0..10)
                .map(|i| {
                    format!(
                        "{} issue s{p}-{i}.example.net --out {out} --lock-timeout 60s >/dev/null",
                        env!("CARGO_BIN_EXE_clusterca")
                    )
                })
                .collect::<Vec<_>>()
                .join(" && ");
            std::process::Command::new("sh")
                .args(["-c", &script])
                .current_dir(s.dir.path())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in singles {
        assert!(c.wait().unwrap().success());
    }

    let total = 8 * per_proc + 8 * 10;
    let inv = inventory_serials(s);
    assert_eq!(inv.len(), inv_before.len() + total, "inventory lines");
    let distinct: BTreeSet<u64> = inv.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        inv.len(),
        "a serial appears twice in inventory.txt"
    );
    let new: BTreeSet<u64> = distinct.difference(&inv_before).copied().collect();
    assert_eq!(
        new,
        (start..start + total as u64).collect(),
        "new serials do not continue from `serial`"
    );
    let signed = signed_serials(s);
    assert_eq!(signed.len(), signed_before + total);
    let signed_distinct: BTreeSet<u64> = signed.iter().copied().collect();
    assert_eq!(
        signed_distinct.len(),
        signed.len(),
        "two signed/ certificates share a serial"
    );
    assert_eq!(verify_all_signed(s), signed_before + total);
    assert_eq!(s.read("ca/serial"), format!("{:04X}", start + total as u64));
    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
}

#[test]
fn eight_concurrent_signers_never_share_a_serial() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    concurrent_signers(&s, 200);
}

#[test]
fn eight_concurrent_signers_with_an_imported_puppet_rsa_ca() {
    let s = Scratch::new();
    common::copy_puppet_fixture(&s, "ca");
    s.run(&["import"]).ok();
    assert!(s.read("ca/ca_key.pem").contains("BEGIN RSA PRIVATE KEY"));
    concurrent_signers(&s, 50);
}

#[test]
fn a_second_signer_times_out_with_exit_3_naming_the_holder() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let store = clusterca_store::Store::open(&s.path("ca")).unwrap();
    let guard = store.signer(Duration::from_secs(5)).unwrap();
    let before = s.snapshot();
    let started = Instant::now();
    let run = s.run(&["issue", "late.example.net", "--lock-timeout", "400ms"]);
    let waited = started.elapsed();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("clusterca.lock"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        waited >= Duration::from_millis(400),
        "gave up after {waited:?}"
    );
    common::assert_unchanged(&before, &s.snapshot(), "timed-out issue");
    let repair = s.run(&["check", "--repair", "--lock-timeout", "200ms"]);
    assert_eq!(repair.code, 3, "{}", repair.stderr);
    // Reads take no lock.
    s.run(&["list", "--all"]).ok();
    s.run(&["check"]).ok();
    drop(guard);
    s.run(&["issue", "late.example.net", "--lock-timeout", "1s"])
        .ok();
}

/// xorshift64*: deterministic delays, so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

const ROUNDS: usize = 100;

#[test]
fn kill_9_at_random_moments_never_reuses_a_serial() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let mut rng = Rng(0x00C0_FFEE_1234_5678);
    let mut killed = 0;
    let mut repaired_rounds = 0;
    let mut last_serial = 2u64;
    for round in 0..ROUNDS {
        let file = format!("round{round}.txt");
        write_names(
            &s,
            &file,
            (0..12).map(|i| format!("r{round}-n{i}.example.net")),
        );
        let mut child = spawn_issue(&s, &file, &format!("out{round}"));
        std::thread::sleep(Duration::from_micros(rng.next() % 20_000));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
        }
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed += 1;
        } else {
            assert!(status.success(), "round {round}: issue failed on its own");
        }
        let serial = u64::from_str_radix(s.read("ca/serial").trim(), 16).unwrap();
        assert!(
            serial >= last_serial,
            "round {round}: serial went back from {last_serial} to {serial}"
        );
        last_serial = serial;

        let mut check = s.run(&["--format", "json", "check"]);
        if check.code != 0 {
            repaired_rounds += 1;
            // --repair checks again after repairing and exits by what is left.
            check = s.run(&["--format", "json", "check", "--repair"]);
        }
        assert_eq!(
            check.code, 0,
            "round {round}: not clean after repair:\n{}",
            check.stdout
        );
        let report: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
        for f in report["findings"].as_array().unwrap() {
            assert_eq!(f["severity"], "info", "round {round}: {f}");
        }
    }
    assert!(
        killed >= ROUNDS / 4,
        "only {killed} of {ROUNDS} rounds were killed mid-run: the test proves little"
    );
    let inv = inventory_serials(&s);
    let distinct: BTreeSet<u64> = inv.iter().copied().collect();
    assert_eq!(distinct.len(), inv.len(), "a serial was recorded twice");
    let signed = signed_serials(&s);
    let signed_distinct: BTreeSet<u64> = signed.iter().copied().collect();
    assert_eq!(
        signed_distinct.len(),
        signed.len(),
        "a serial was issued twice"
    );
    assert!(
        signed_distinct.is_subset(&distinct),
        "a signed cert is missing from the inventory"
    );
    assert!(
        signed_distinct.iter().all(|&n| n < last_serial),
        "serial file behind a signed cert"
    );
    verify_all_signed(&s);
    eprintln!("{killed} of {ROUNDS} rounds killed mid-run, {repaired_rounds} needed --repair, {} certs survived", signed.len());
}

#[test]
fn only_the_owner_may_open_the_lock_files() {
    // Anyone who can open a lock file can hold an OFD read lock on it, which blocks every
    // signer: the lock and the lease are 0600, and one found looser is tightened on use.
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", "a.example.net"]).ok();
    assert_eq!(s.mode("ca/clusterca.lock"), 0o600);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        s.path("ca/clusterca.lock"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    s.run(&["issue", "b.example.net"]).ok();
    assert_eq!(s.mode("ca/clusterca.lock"), 0o600);
}

/// A CA directory the user may not look into is an I/O error (exit 4, "permission denied"),
/// not "not a CA directory ... run init" (exit 2), which would send them to make a new CA.
#[test]
fn permission_denied_on_the_ca_directory_is_said_as_such() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: needs root to run clusterca as nobody (setpriv)");
        return;
    }
    if !common::have_program("setpriv", "util-linux") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    s.run(&["init"]).ok();
    std::fs::set_permissions(s.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    // Readable but not searchable (0744), then neither (0700), by nobody.
    for mode in [0o744, 0o700] {
        std::fs::set_permissions(s.path("ca"), std::fs::Permissions::from_mode(mode)).unwrap();
        for args in [
            &["list", "--all"][..],
            &["issue", "a.example.net", "--out", "/tmp"],
        ] {
            let out = std::process::Command::new("setpriv")
                .args(["--reuid", &nobody.uid.to_string(), "--regid"])
                .args([&nobody.gid.to_string(), "--clear-groups", "--"])
                .arg(env!("CARGO_BIN_EXE_clusterca"))
                .args(args)
                .current_dir(s.dir.path())
                .env_clear()
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(4), "{mode:o} {args:?}: {err}");
            assert!(
                err.contains("Permission denied") && !err.contains("init"),
                "{mode:o} {args:?}: {err}"
            );
        }
    }
}
