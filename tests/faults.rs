//! Fault injection: every mutating command, run under `strace -f -e inject=SYSCALL:error=E:when=N`
//! for every file-changing syscall it makes, for EVERY N from 1 to the number of such calls
//! (counted first, uninjected), with E = EIO or ENOSPC in turn (clusterca treats every errno of
//! these calls alike, so each call is failed once). After each injected run:
//! - no panic, and exit 4 (or 0 when the failed call was not on the critical path);
//! - `check` is clean, or reports a finding that `check --repair` then fixes;
//! - no serial recorded twice, none at or below one used before the command;
//! - no recorded certificate whose key (written by `issue`) is missing, empty or another key;
//! - the same command run again succeeds, or refuses because its work is already done (and
//!   the state shows it is).
//!
//! Needs strace (`apt-get install strace`); without it the test says so and returns.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Instant;

use clusterca_pki::{inspect, PrivateKey};

const SYSCALLS: [&str; 17] = [
    "write",
    "pwrite64",
    "fsync",
    "fdatasync",
    "rename",
    "renameat",
    "renameat2",
    "openat",
    "openat2",
    "mkdirat",
    "linkat",
    "unlink",
    "unlinkat",
    "fchmod",
    "fchown",
    "ftruncate",
    "syncfs",
];
const ERRORS: [&str; 2] = ["EIO", "ENOSPC"];

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_clusterca")
}

fn clusterca(dir: &Path, args: &[String]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run clusterca")
}

fn strace(dir: &Path, extra: &[String], args: &[String]) -> Output {
    Command::new("strace")
        .args(["-f", "-qq"])
        .args(extra)
        .arg(bin())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run strace")
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// Copies `from` into `to` (created), keeping permission bits.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
            let mode = entry.metadata().unwrap().permissions();
            std::fs::set_permissions(&target, mode).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// One mutating command and the state it starts from.
struct Case {
    label: &'static str,
    /// Scratch directory holding the state before the command.
    base: PathBuf,
    args: Vec<String>,
    /// The CA directory it changes.
    ca: &'static str,
    /// Names whose keys the command writes to `out/`.
    keys: Vec<String>,
    /// What holds once the command's work is done.
    goal: fn(&Path) -> Result<(), String>,
    /// What must hold after every run, failed or not, besides the serial and key rules.
    sound: fn(&Path) -> Result<(), String>,
}

fn nothing_more(_: &Path) -> Result<(), String> {
    Ok(())
}

/// The serial of the certificate in `rel`.
fn serial_of(dir: &Path, rel: &str) -> Result<u64, String> {
    let bytes = std::fs::read(dir.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
    match inspect::serial_and_spki(&bytes) {
        Ok((Some(s), _)) => Ok(s),
        other => Err(format!("{rel}: no serial ({other:?})")),
    }
}

/// `renew rk1 --rekey --out out` (its first key in `out0/`): whatever certificate of rk1 is
/// on record last, its key is kept: the first key while signed/ still holds the first
/// certificate, else `out/rk1.example.net.key.pem`, which must be that certificate's (or,
/// while the journal still holds the renewal, at least be there).
fn rekey_sound(d: &Path) -> Result<(), String> {
    let n = "rk1.example.net";
    let latest = inventory_serial_of(d, n).ok_or("rk1 is not on record")?;
    let signed = serial_of(d, &format!("ca/signed/{n}.pem"))?;
    if latest != signed {
        return exists(d, &format!("out/{n}.key.pem"))
            .map_err(|e| format!("serial {latest:#x} is on record, its new key is gone: {e}"));
    }
    let first_key =
        std::fs::read(d.join(format!("out0/{n}.key.pem"))).map_err(|e| e.to_string())?;
    let first = PrivateKey::from_bytes(&first_key).map_err(|e| e.to_string())?;
    let cert = std::fs::read(d.join(format!("ca/signed/{n}.pem"))).map_err(|e| e.to_string())?;
    let (_, spki) = inspect::serial_and_spki(&cert).map_err(|e| e.to_string())?;
    if spki == first.spki_der() {
        return Ok(());
    }
    key_matches(d, n, &format!("ca/signed/{n}.pem"))
}

/// `signed/NAME.pem` holds a certificate newer than the one issued at the start (serial 2).
fn renewed(d: &Path, name: &str) -> Result<(), String> {
    match serial_of(d, &format!("ca/signed/{name}.pem"))? {
        2 => Err(format!("{name} was not renewed")),
        _ => Ok(()),
    }
}

fn run_ok(dir: &Path, args: &str) {
    let out = clusterca(dir, &words(args));
    assert!(
        out.status.success(),
        "{args}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(words(args))
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        text(&out.stderr)
    );
}

fn csr(dir: &Path, name: &str) {
    openssl(
        dir,
        &format!(
            "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {name}.key -out {name}.csr -subj /CN={name}"
        ),
    );
}

fn exists(dir: &Path, rel: &str) -> Result<(), String> {
    match std::fs::metadata(dir.join(rel)) {
        Ok(m) if m.len() > 0 => Ok(()),
        _ => Err(format!("{rel} missing or empty")),
    }
}

fn absent(dir: &Path, rel: &str) -> Result<(), String> {
    match dir.join(rel).symlink_metadata() {
        Ok(_) => Err(format!("{rel} still there")),
        Err(_) => Ok(()),
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("{prefix}{i}.example.net"))
        .collect()
}

fn issued_with_keys(dir: &Path, names: &[String]) -> Result<(), String> {
    for n in names {
        exists(dir, &format!("ca/signed/{n}.pem"))?;
        exists(dir, &format!("out/{n}.pem"))?;
        key_matches(dir, n, &format!("out/{n}.pem"))?;
    }
    Ok(())
}

/// `out/NAME.key.pem` is a whole key, the key of the certificate in `cert`.
fn key_matches(dir: &Path, name: &str, cert: &str) -> Result<(), String> {
    let key = std::fs::read(dir.join(format!("out/{name}.key.pem")))
        .map_err(|e| format!("key of {name}: {e}"))?;
    let key = PrivateKey::from_bytes(&key).map_err(|e| format!("key of {name}: {e}"))?;
    let bytes = std::fs::read(dir.join(cert)).map_err(|e| format!("{cert}: {e}"))?;
    let (_, spki) = inspect::serial_and_spki(&bytes).map_err(|e| format!("{cert}: {e}"))?;
    if key.spki_der() != spki {
        return Err(format!("out/{name}.key.pem is not the key of {cert}"));
    }
    Ok(())
}

fn crl_serials(dir: &Path) -> (BTreeSet<u64>, u64) {
    let bytes = std::fs::read(dir.join("ca/ca_crl.pem")).unwrap();
    let crls = inspect::crls(&bytes).unwrap();
    let info = inspect::crl_info(&crls[0]).unwrap();
    let serials = info
        .revoked
        .iter()
        .map(|r| r.serial_decimal.parse().unwrap())
        .collect();
    let number = info.crl_number.and_then(|n| n.parse().ok()).unwrap_or(0);
    (serials, number)
}

fn inventory_serial_of(dir: &Path, name: &str) -> Option<u64> {
    let inv = std::fs::read_to_string(dir.join("ca/inventory.txt")).ok()?;
    inv.lines()
        .filter(|l| l.ends_with(&format!("/CN={name}")))
        .filter_map(|l| u64::from_str_radix(l.split(' ').next()?.strip_prefix("0x")?, 16).ok())
        .next_back()
}

fn revoked(dir: &Path, name: &str) -> Result<(), String> {
    let serial = inventory_serial_of(dir, name).ok_or(format!("{name} not in inventory"))?;
    if crl_serials(dir).0.contains(&serial) {
        Ok(())
    } else {
        Err(format!("serial {serial} of {name} not on the CRL"))
    }
}

fn check_clean(dir: &Path, ca: &str) -> Result<(), String> {
    let out = clusterca(dir, &words(&format!("check --dir {ca}")));
    if out.status.code() == Some(0) {
        Ok(())
    } else {
        Err(format!("check: {}{}", text(&out.stdout), text(&out.stderr)))
    }
}

fn cases(root: &Path) -> Vec<Case> {
    // One CA for all, made once; each case's starting state is made from it once.
    let template = root.join("template");
    std::fs::create_dir_all(&template).unwrap();
    run_ok(&template, "init --dir ca --ca-name Fault-CA");
    std::fs::create_dir(template.join("out")).unwrap();
    let make = |label: &str, setup: &dyn Fn(&Path)| {
        let base = root.join(label.replace([' ', '-'], "_"));
        copy_tree(&template, &base);
        setup(&base);
        base
    };
    let many = names("bulk", 20);
    let v = vec![
        Case {
            label: "issue 1",
            base: make("issue1", &|_| {}),
            args: words("issue one1.example.net --dir ca --out out"),
            ca: "ca",
            keys: names("one", 1),
            goal: |d| issued_with_keys(d, &names("one", 1)),
            sound: nothing_more,
        },
        Case {
            label: "issue 3",
            base: make("issue3", &|_| {}),
            args: words(
                "issue three1.example.net three2.example.net three3.example.net --dir ca --out out",
            ),
            ca: "ca",
            keys: names("three", 3),
            goal: |d| issued_with_keys(d, &names("three", 3)),
            sound: nothing_more,
        },
        Case {
            label: "issue --from-file 20",
            base: make("issue20", &|d| {
                std::fs::write(d.join("names.txt"), names("bulk", 20).join("\n")).unwrap()
            }),
            args: words("issue --from-file names.txt --dir ca --out out"),
            ca: "ca",
            keys: many,
            goal: |d| issued_with_keys(d, &names("bulk", 20)),
            sound: nothing_more,
        },
        Case {
            label: "submit",
            base: make("submit", &|d| csr(d, "req1.example.net")),
            args: words("submit req1.example.net.csr --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| exists(d, "ca/requests/req1.example.net.pem"),
            sound: nothing_more,
        },
        Case {
            label: "sign",
            base: make("sign", &|d| {
                csr(d, "req1.example.net");
                run_ok(d, "submit req1.example.net.csr --dir ca");
            }),
            args: words("sign req1.example.net --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| {
                exists(d, "ca/signed/req1.example.net.pem")?;
                absent(d, "ca/requests/req1.example.net.pem")
            },
            sound: nothing_more,
        },
        Case {
            // The batched API path (`serve`'s group commit): two requests autosigned and one
            // the alt-name policy refuses, filed instead, in one group.
            label: "submit --sign 3",
            base: make("group", &|d| {
                csr(d, "g1.example.net");
                csr(d, "g2.example.net");
                openssl(
                    d,
                    "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout g3.key -out g3.csr -subj /CN=g3.example.net -addext subjectAltName=DNS:g3.example.net,DNS:elsewhere.example.org",
                );
            }),
            args: words("submit g1.example.net.csr g2.example.net.csr g3.csr --sign --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| {
                // Each autosigned request ends signed, or (its signing failed before it was
                // recorded) queued for an admin: one of the two, never both, never neither.
                for n in ["g1", "g2"] {
                    let signed = exists(d, &format!("ca/signed/{n}.example.net.pem")).is_ok();
                    let queued = exists(d, &format!("ca/requests/{n}.example.net.pem")).is_ok();
                    if signed == queued {
                        return Err(format!("{n}: signed {signed}, queued {queued}"));
                    }
                }
                exists(d, "ca/requests/g3.example.net.pem")?;
                absent(d, "ca/signed/g3.example.net.pem")
            },
            sound: nothing_more,
        },
        Case {
            label: "sign --all",
            base: make("signall", &|d| {
                for n in names("req", 3) {
                    csr(d, &n);
                    run_ok(d, &format!("submit {n}.csr --dir ca"));
                }
            }),
            args: words("sign --all --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| {
                for n in names("req", 3) {
                    exists(d, &format!("ca/signed/{n}.pem"))?;
                    absent(d, &format!("ca/requests/{n}.pem"))?;
                }
                Ok(())
            },
            sound: nothing_more,
        },
        Case {
            label: "revoke",
            base: make("revoke", &|d| {
                run_ok(d, "issue v1.example.net --dir ca --out out")
            }),
            args: words("revoke v1.example.net --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| revoked(d, "v1.example.net"),
            sound: nothing_more,
        },
        Case {
            label: "clean",
            base: make("clean", &|d| {
                run_ok(d, "issue v1.example.net --dir ca --out out")
            }),
            args: words("clean v1.example.net --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| {
                revoked(d, "v1.example.net")?;
                absent(d, "ca/signed/v1.example.net.pem")
            },
            sound: nothing_more,
        },
        Case {
            label: "crl",
            base: make("crl", &|_| {}),
            args: words("crl --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| match crl_serials(d).1 {
                0 => Err("CRL number not raised".into()),
                _ => Ok(()),
            },
            sound: nothing_more,
        },
        Case {
            label: "check --repair",
            base: make("repair", &|d| {
                run_ok(d, "issue v1.example.net v2.example.net --dir ca --out out");
                // A torn last line, a serial file behind, a stale temporary file.
                let inv = d.join("ca/inventory.txt");
                let mut text = std::fs::read_to_string(&inv).unwrap();
                text.push_str("0x0009 2026-11-2");
                std::fs::write(&inv, text).unwrap();
                std::fs::write(d.join("ca/serial"), "0002").unwrap();
                std::fs::write(d.join("ca/signed/.v3.example.net.pem.tmp.1.1"), "x").unwrap();
            }),
            args: words("check --repair --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| check_clean(d, "ca"),
            sound: nothing_more,
        },
        Case {
            label: "import",
            base: make("import", &|d| {
                std::fs::create_dir(d.join("ossl")).unwrap();
                openssl(
                    d,
                    "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ossl/ca.key -out ossl/ca.crt -days 365 -subj /CN=Imported-CA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
                );
            }),
            args: words("import --cert ossl/ca.crt --key ossl/ca.key --dir newca"),
            ca: "newca",
            keys: Vec::new(),
            goal: |d| check_clean(d, "newca"),
            sound: nothing_more,
        },
        Case {
            label: "install",
            base: make("install", &|d| {
                run_ok(d, "issue v1.example.net --dir ca --out out");
                std::fs::create_dir(d.join("ssl")).unwrap();
            }),
            args: words("install v1.example.net --dir ca --from out --ssldir ssl"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| {
                let want = std::fs::read(d.join("out/v1.example.net.pem")).unwrap();
                match std::fs::read(d.join("ssl/certs/v1.example.net.pem")) {
                    Ok(got) if got == want => exists(d, "ssl/private_keys/v1.example.net.pem"),
                    _ => Err("ssl/certs/v1.example.net.pem is not the certificate".into()),
                }
            },
            sound: nothing_more,
        },
        Case {
            label: "renew",
            base: make("renew", &|d| {
                run_ok(
                    d,
                    "issue rn1.example.net --dir ca --out out --alt-name rn.example.net",
                )
            }),
            args: words("renew rn1.example.net --dir ca --out out"),
            ca: "ca",
            keys: names("rn", 1),
            goal: |d| {
                renewed(d, "rn1.example.net")?;
                key_matches(d, "rn1.example.net", "ca/signed/rn1.example.net.pem")
            },
            sound: nothing_more,
        },
        Case {
            label: "renew --rekey",
            base: make("rekey", &|d| {
                std::fs::create_dir(d.join("out0")).unwrap();
                run_ok(d, "issue rk1.example.net --dir ca --out out0")
            }),
            args: words("renew rk1.example.net --rekey --dir ca --out out"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| {
                renewed(d, "rk1.example.net")?;
                key_matches(d, "rk1.example.net", "ca/signed/rk1.example.net.pem")
            },
            sound: rekey_sound,
        },
        Case {
            label: "renew --ca",
            base: make("renewca", &|d| {
                run_ok(d, "issue v1.example.net --dir ca --out out")
            }),
            args: words("renew --ca --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| {
                let bundle = std::fs::read(d.join("ca/ca_crt.pem")).map_err(|e| e.to_string())?;
                match inspect::certificates(&bundle) {
                    Ok(c) if c.len() >= 2 => Ok(()),
                    _ => Err("ca_crt.pem holds no renewed CA certificate".into()),
                }
            },
            sound: nothing_more,
        },
        Case {
            label: "crl --prune",
            base: make("prune", &|d| {
                run_ok(d, "issue v1.example.net --dir ca --out out --ttl 1s");
                // Cleaned: revoked and out of signed/, so its entry goes once it expired.
                run_ok(d, "clean v1.example.net --dir ca");
                std::thread::sleep(std::time::Duration::from_millis(1_100));
            }),
            args: words("crl --prune --dir ca"),
            ca: "ca",
            keys: Vec::new(),
            goal: |d| match crl_serials(d).0.is_empty() {
                true => Ok(()),
                false => Err("the expired entry is still on the CRL".into()),
            },
            sound: nothing_more,
        },
        Case {
            label: "init --chain",
            base: make("initchain", &|_| {}),
            args: words("init --dir ca2 --chain --key-type ec-p256 --root-key-out out/root.key"),
            ca: "ca2",
            keys: Vec::new(),
            goal: |d| new_chain(d, "ca2", "out/root.key"),
            sound: |d| root_key_kept(d, "ca2", "out/root.key"),
        },
    ];
    // Each case's start is clean, but for the one that repairs.
    for c in v.iter().filter(|c| c.label != "check --repair") {
        check_clean(&c.base, "ca").unwrap_or_else(|e| panic!("{}: start: {e}", c.label));
    }
    v
}

/// A two-level CA made by `init` in `ca`: its root certificate (the bundle's second) is the
/// one whose key is in `key`, once the CA directory exists (a CA whose root key was lost could
/// never have its intermediate renewed).
fn root_key_kept(dir: &Path, ca: &str, key: &str) -> Result<(), String> {
    let Ok(bundle) = std::fs::read(dir.join(ca).join("ca_crt.pem")) else {
        return Ok(());
    };
    let certs = inspect::certificates(&bundle).map_err(|e| format!("{ca}/ca_crt.pem: {e}"))?;
    let root = certs
        .get(1)
        .ok_or_else(|| format!("{ca}/ca_crt.pem holds no root"))?;
    let (_, spki) = inspect::serial_and_spki(root).map_err(|e| format!("root: {e}"))?;
    let pem = std::fs::read(dir.join(key))
        .map_err(|e| format!("{ca} exists but its root key {key} does not: {e}"))?;
    let root_key = PrivateKey::from_bytes(&pem).map_err(|e| format!("{key}: {e}"))?;
    match root_key.spki_der() == spki {
        true => Ok(()),
        false => Err(format!("{key} is not the key of {ca}'s root")),
    }
}

/// `init` done: the CA directory is there with its root key, and nothing of an interrupted
/// attempt is left beside it (a staging directory would hold copies of the keys).
fn new_chain(dir: &Path, ca: &str, key: &str) -> Result<(), String> {
    exists(dir, &format!("{ca}/ca_crt.pem"))?;
    root_key_kept(dir, ca, key)?;
    let debris: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{ca}.init.")))
        .collect();
    match debris.is_empty() {
        true => Ok(()),
        false => Err(format!("left behind: {debris:?}")),
    }
}

/// Serials recorded in `ca`'s inventory (every line) and `signed/`, as a multiset.
fn recorded(dir: &Path, ca: &str) -> (Vec<u64>, Vec<u64>) {
    let inv = std::fs::read_to_string(dir.join(ca).join("inventory.txt")).unwrap_or_default();
    let inventory = inv
        .lines()
        .filter(|l| l.len() > 30)
        .filter_map(|l| u64::from_str_radix(l.split(' ').next()?.strip_prefix("0x")?, 16).ok())
        .collect();
    let mut signed = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir.join(ca).join("signed")) {
        for e in entries.flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if f.ends_with(".pem") && !f.starts_with('.') {
                let bytes = std::fs::read(e.path()).unwrap();
                if let Ok((Some(s), _)) = inspect::serial_and_spki(&bytes) {
                    signed.push(s);
                }
            }
        }
    }
    (inventory, signed)
}

fn no_duplicates(list: &[u64], what: &str) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    match list.iter().find(|s| !seen.insert(**s)) {
        Some(s) => Err(format!("serial {s:#x} recorded twice in {what}")),
        None => Ok(()),
    }
}

/// The serial invariants: nothing recorded twice, and every serial new since the start is
/// above all the serials recorded at the start.
fn serials_sound(dir: &Path, ca: &str, before: &BTreeSet<u64>) -> Result<(), String> {
    let (inventory, signed) = recorded(dir, ca);
    no_duplicates(&inventory, "inventory.txt")?;
    no_duplicates(&signed, "signed/")?;
    let top = before.iter().next_back().copied().unwrap_or(1);
    match inventory
        .iter()
        .chain(&signed)
        .find(|s| !before.contains(s) && **s <= top)
    {
        Some(s) => Err(format!(
            "new serial {s:#x} is not above {top:#x}, already used"
        )),
        None => Ok(()),
    }
}

/// Keys written by `issue` for certificates on record: present, whole, and theirs.
fn keys_sound(dir: &Path, keys: &[String]) -> Result<(), String> {
    for n in keys {
        if inventory_serial_of(dir, n).is_none() {
            continue;
        }
        let cert = if dir.join(format!("ca/signed/{n}.pem")).exists() {
            format!("ca/signed/{n}.pem")
        } else {
            // Recorded, its signed/ file not yet written back: the journal holds it.
            exists(dir, &format!("out/{n}.key.pem"))
                .map_err(|e| format!("{n} is on record but its key is gone: {e}"))?;
            continue;
        };
        key_matches(dir, n, &cert).map_err(|e| format!("{n} is on record: {e}"))?;
    }
    Ok(())
}

/// A case's index, what its injected run came to, and the injection.
type Outcome = (usize, Result<Tally, String>, String);

/// What one injected run did, for the summary.
#[derive(Default, Clone, Copy)]
struct Tally {
    points: usize,
    failed: usize,
    repaired: usize,
    rerun_refused: usize,
}

fn findings_need_repair(dir: &Path, ca: &str) -> Result<bool, String> {
    let out = clusterca(dir, &words(&format!("check --dir {ca} --format json")));
    match out.status.code() {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        other => Err(format!("check exited {other:?}: {}", text(&out.stderr))),
    }
}

/// One injected run and everything checked after it.
fn one_point(
    case: &Case,
    work: &Path,
    inject: &str,
    before: &BTreeSet<u64>,
) -> Result<Tally, String> {
    copy_tree(&case.base, work);
    let mut tally = Tally {
        points: 1,
        ..Tally::default()
    };
    let sys = inject.split(':').next().unwrap();
    let extra = vec![
        "-o".to_owned(),
        "/dev/null".to_owned(),
        "-e".to_owned(),
        format!("trace={sys}"),
        "-e".to_owned(),
        format!("inject={inject}"),
    ];
    let out = strace(work, &extra, &case.args);
    let code = out.status.code();
    let stderr = text(&out.stderr);
    if stderr.contains("panicked") || code == Some(101) {
        return Err(format!("panic: {stderr}"));
    }
    let allowed: &[i32] = if case.label == "check --repair" {
        &[0, 1, 4]
    } else {
        &[0, 4]
    };
    if !code.is_some_and(|c| allowed.contains(&c)) {
        return Err(format!("exit {code:?}: {stderr}"));
    }
    if code != Some(0) {
        tally.failed = 1;
    }
    let ca_there = work.join(case.ca).join("serial").exists();
    if ca_there {
        serials_sound(work, case.ca, before)?;
        keys_sound(work, &case.keys)?;
        (case.sound)(work)?;
        if findings_need_repair(work, case.ca)? {
            tally.repaired = 1;
            let fix = clusterca(work, &words(&format!("check --repair --dir {}", case.ca)));
            if fix.status.code() != Some(0) {
                return Err(format!(
                    "check --repair left findings: {}{}",
                    text(&fix.stdout),
                    text(&fix.stderr)
                ));
            }
            serials_sound(work, case.ca, before)?;
            keys_sound(work, &case.keys)?;
            (case.sound)(work)?;
        }
    }
    let again = clusterca(work, &case.args);
    match again.status.code() {
        Some(0) => {}
        Some(2) if (case.goal)(work).is_ok() => tally.rerun_refused = 1,
        other => {
            return Err(format!(
                "run again: exit {other:?}: {}{}",
                text(&again.stdout),
                text(&again.stderr)
            ))
        }
    }
    (case.goal)(work).map_err(|e| format!("after running again: {e}"))?;
    check_clean(work, case.ca).map_err(|e| format!("after running again: {e}"))?;
    serials_sound(work, case.ca, before)?;
    keys_sound(work, &case.keys)?;
    (case.sound)(work)?;
    Ok(tally)
}

/// How many calls of each syscall the busiest thread of the command makes, uninjected.
fn count_calls(case: &Case, work: &Path) -> BTreeMap<&'static str, usize> {
    copy_tree(&case.base, work);
    let trace = work.join("strace.out");
    let extra = vec![
        "-o".to_owned(),
        trace.display().to_string(),
        "-e".to_owned(),
        format!("trace={}", SYSCALLS.join(",")),
    ];
    let out = strace(work, &extra, &case.args);
    assert!(
        out.status.success(),
        "{}: uninjected run failed: {}",
        case.label,
        text(&out.stderr)
    );
    let mut per: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for line in std::fs::read_to_string(&trace).unwrap().lines() {
        let (pid, rest) = line.split_once(' ').unwrap_or(("", line));
        let rest = rest.trim_start();
        if let Some(sys) = SYSCALLS.iter().find(|s| rest.starts_with(&format!("{s}("))) {
            *per.entry((sys, pid.to_owned())).or_default() += 1;
        }
    }
    let mut max: BTreeMap<&'static str, usize> = BTreeMap::new();
    for ((sys, _), n) in per {
        let m = max.entry(sys).or_default();
        *m = (*m).max(n);
    }
    std::fs::remove_dir_all(work).unwrap();
    max
}

#[test]
fn every_io_error_at_every_call_leaves_a_store_that_check_sees_and_repair_fixes() {
    if !common::have_program("strace", "strace") || !common::have_program("openssl", "openssl") {
        return;
    }
    let started = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let cases = cases(root.path());
    // Calls the dynamic loader and the runtime make before main (counted on --version):
    // failing those stops the program before it is clusterca.
    let version = {
        let trace = root.path().join("version.out");
        strace(
            root.path(),
            &[
                "-o".into(),
                trace.display().to_string(),
                "-e".into(),
                "trace=openat".into(),
            ],
            &["--version".into()],
        );
        std::fs::read_to_string(&trace)
            .unwrap()
            .lines()
            .filter(|l| l.contains("openat("))
            .count()
    };
    let mut jobs = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let counts = count_calls(case, &root.path().join(format!("count{i}")));
        let (inv, signed) = recorded(&case.base, case.ca);
        let before: BTreeSet<u64> = inv.into_iter().chain(signed).collect();
        for (sys, n) in counts {
            let first = if sys == "openat" { version + 1 } else { 1 };
            for when in first..=n {
                // Every call is failed once, EIO and ENOSPC in turn: nothing in clusterca
                // tells one errno from the other, so failing the same call with both would
                // run the same path twice (each errno still fails every kind of call).
                let e = ERRORS[when % ERRORS.len()];
                jobs.push((i, format!("{sys}:error={e}:when={when}"), before.clone()));
            }
        }
    }
    let total = jobs.len();
    let queue = Mutex::new(jobs);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for worker in 0..3 {
            let (queue, results, cases, root) = (&queue, &results, &cases, root.path());
            scope.spawn(move || {
                let mut k = 0;
                while let Some((i, inject, before)) = queue.lock().unwrap().pop() {
                    k += 1;
                    let work = root.join(format!("w{worker}-{k}"));
                    let r = one_point(&cases[i], &work, &inject, &before);
                    let _ = std::fs::remove_dir_all(&work);
                    results.lock().unwrap().push((i, r, inject));
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let mut tallies = vec![Tally::default(); cases.len()];
    let mut failures = Vec::new();
    for (i, r, inject) in results {
        match r {
            Ok(t) => {
                let s = &mut tallies[i];
                s.points += t.points;
                s.failed += t.failed;
                s.repaired += t.repaired;
                s.rerun_refused += t.rerun_refused;
            }
            Err(e) => failures.push(format!("{} with {inject}: {e}", cases[i].label)),
        }
    }
    // Straight to stderr, past the test harness's capture: CI's log shows the coverage.
    let mut summary = format!(
        "fault injection: {total} injection points in {:.0?}\n",
        started.elapsed()
    );
    for (c, t) in cases.iter().zip(&tallies) {
        summary.push_str(&format!(
            "  {:<22} {:>4} points, {:>4} failed runs, {:>3} needed check --repair, {:>3} reruns found the work done\n",
            c.label, t.points, t.failed, t.repaired, t.rerun_refused
        ));
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr(), summary.as_bytes());
    assert!(
        failures.is_empty(),
        "{} of {total} injection points broke a promise:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(tallies.iter().all(|t| t.points > 0 && t.failed > 0));
}
