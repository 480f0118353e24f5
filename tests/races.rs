//! Races against a hostile local user: root runs clusterca on directories that an unprivileged
//! user (uid 65534) owns, while that user swaps a directory component for a symlink to a
//! root-only directory as fast as it can (`renameat2(RENAME_EXCHANGE)` in a loop, for the whole
//! run). Each operation runs `CLUSTERCA_RACE_RUNS` times (default 1,000): every run must
//! succeed or exit non-zero with one line naming the symlink, and nothing in the root-only
//! directory may be created, changed or deleted. Root only (the test prints one line and
//! returns otherwise); needs `setpriv` (util-linux) and python3 for the swapping user.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{Run, Scratch};

const HOSTILE: u32 = 65534;

fn runs() -> usize {
    std::env::var("CLUSTERCA_RACE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Swaps each `(real, link)` pair with `renameat2(RENAME_EXCHANGE)` in a loop, as the hostile
/// user; on SIGTERM writes how many swaps it made to `count`.
const SWAPPER: &str = r#"
import ctypes, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
pairs = [(sys.argv[i].encode(), sys.argv[i + 1].encode()) for i in range(2, len(sys.argv), 2)]
n = 0
def stop(*_):
    open(sys.argv[1], "w").write(str(n))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    for a, b in pairs:
        if libc.renameat2(-100, a, -100, b, 2) == 0:
            n += 1
"#;

/// The hostile user's swapping process. Paused (SIGSTOP) and put back in order while the test
/// prepares a phase, running while the measured commands run.
struct Swapper {
    child: Child,
    pairs: Vec<(PathBuf, PathBuf)>,
    count: PathBuf,
}

impl Swapper {
    /// Starts swapping each real directory with a symlink beside it (`NAME.evil`) that points
    /// at `target`. The symlinks are made by the hostile user.
    fn start(scratch: &Scratch, reals: &[PathBuf], target: &Path) -> Swapper {
        let mut pairs = Vec::new();
        for real in reals {
            let link = real.with_extension("evil");
            std::os::unix::fs::symlink(target, &link).unwrap();
            nix::unistd::fchownat(
                nix::fcntl::AT_FDCWD,
                &link,
                Some(nix::unistd::Uid::from_raw(HOSTILE)),
                Some(nix::unistd::Gid::from_raw(HOSTILE)),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .unwrap();
            pairs.push((real.clone(), link));
        }
        let script = scratch.path("swapper.py");
        std::fs::write(&script, SWAPPER).unwrap();
        // Written by the hostile user: a directory of its own.
        let own = scratch.path("hostile");
        if !own.exists() {
            std::fs::create_dir(&own).unwrap();
            give_away(&own);
        }
        let count = own.join("swapper.count");
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid",
            &HOSTILE.to_string(),
            "--regid",
            &HOSTILE.to_string(),
            "--clear-groups",
            system_python(),
        ])
        .arg(&script)
        .arg(&count)
        .stdin(Stdio::null());
        // The count file is written by the hostile user: a directory it may write.
        let _ = std::fs::remove_file(&count);
        for (a, b) in &pairs {
            cmd.arg(a).arg(b);
        }
        let child = cmd.spawn().expect("start the swapper");
        let mut s = Swapper {
            child,
            pairs,
            count,
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            s.child.try_wait().unwrap().is_none(),
            "the swapper exited at once"
        );
        s
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {sig}");
    }

    /// Stops the swapper and puts every real directory back at its name.
    fn pause(&self) {
        self.signal("-STOP");
        // Stopped for sure (state T), not just signalled, before the directories are restored.
        let stat = format!("/proc/{}/stat", self.child.id());
        for _ in 0..1000 {
            let state = std::fs::read_to_string(&stat).unwrap_or_default();
            let after_name = state.rsplit_once(") ").map(|(_, rest)| rest);
            if after_name.is_some_and(|r| r.starts_with('T') || r.starts_with('t')) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        self.restore();
        for (real, _) in &self.pairs {
            assert!(std::fs::symlink_metadata(real).unwrap().is_dir());
        }
    }

    /// Puts every real directory back at its name (the swapper not running).
    fn restore(&self) {
        for (real, link) in &self.pairs {
            if std::fs::symlink_metadata(real).is_ok_and(|m| m.file_type().is_symlink()) {
                nix::fcntl::renameat2(
                    nix::fcntl::AT_FDCWD,
                    real,
                    nix::fcntl::AT_FDCWD,
                    link,
                    nix::fcntl::RenameFlags::RENAME_EXCHANGE,
                )
                .unwrap();
            }
        }
    }

    fn resume(&self) {
        self.signal("-CONT");
    }

    /// Stops it for good; returns how many swaps it made.
    fn finish(mut self) -> u64 {
        self.signal("-CONT");
        self.signal("-TERM");
        self.child.wait().unwrap();
        self.restore();
        std::fs::read_to_string(&self.count)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A python3 the unprivileged user may run (not a per-user shim under root's home).
fn system_python() -> &'static str {
    ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("python3")
}

/// Whether this test can run: root, setpriv and python3.
fn can_race() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: the race tests run as root (they chown to an unprivileged user)");
        return false;
    }
    common::have_program("setpriv", "util-linux") && common::have_program("python3", "python3")
}

/// A scratch directory the hostile user can reach, with a root-only `secret/` holding
/// `files` (names a redirected write or unlink would hit).
fn arena(files: &[String]) -> Scratch {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    std::fs::set_permissions(s.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = s.path("secret");
    std::fs::create_dir(&secret).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o700)).unwrap();
    for f in files {
        let p = secret.join(f);
        std::fs::write(&p, b"root's own file\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    s
}

fn give_away(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", &format!("{HOSTILE}:{HOSTILE}")])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The tally of one raced operation.
#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    refused: usize,
}

impl Tally {
    /// Counts `run`, which must have succeeded or failed with one line naming a symlink.
    #[track_caller]
    fn add(&mut self, what: &str, run: &Run) {
        if run.code == 0 {
            self.ok += 1;
            return;
        }
        // Notes (a batch an earlier refused run left, finished now) are not errors.
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with("clusterca: note:"))
            .collect();
        assert!(
            lines.len() == 1 && lines[0].contains("symbolic link"),
            "{what}: exit {} without one line naming the symlink:\n{}",
            run.code,
            run.stderr
        );
        self.refused += 1;
    }
}

/// Runs `op(i)` `runs()` times under the swapper; asserts the secret tree unchanged and that
/// the swapper really swapped; prints the tally (the closing note quotes it).
fn race(s: &Scratch, what: &str, swapper: &Swapper, op: impl FnMut(usize) -> Run) -> Tally {
    race_with(s, what, swapper, op, None)
}

fn race_checked(
    s: &Scratch,
    what: &str,
    swapper: &Swapper,
    op: impl FnMut(usize) -> Run,
    after_each: impl Fn(),
) -> Tally {
    race_with(s, what, swapper, op, Some(&after_each))
}

/// [`race`]; with `after_each`, that is called after every run with the swapper paused and
/// the real directories back at their names.
fn race_with(
    s: &Scratch,
    what: &str,
    swapper: &Swapper,
    mut op: impl FnMut(usize) -> Run,
    after_each: Option<&dyn Fn()>,
) -> Tally {
    let before = s.snapshot_of("secret");
    let mut tally = Tally::default();
    swapper.resume();
    for i in 0..runs() {
        let run = op(i);
        if let Some(check) = after_each {
            swapper.pause();
            check();
            swapper.resume();
        }
        tally.add(what, &run);
    }
    swapper.pause();
    let after: BTreeMap<_, _> = s.snapshot_of("secret");
    common::assert_unchanged(&before, &after, what);
    eprintln!(
        "race {what}: {} runs, {} succeeded, {} refused a symlink, nothing outside changed",
        runs(),
        tally.ok,
        tally.refused
    );
    // Some runs must get through (else the command is merely broken); the bundle, which
    // hardly ever does against the swap loop, proves it unraced instead (see its test).
    assert!(
        tally.ok > 0 || what.starts_with("bundle") || runs() < 1000,
        "{what}: no run of {} succeeded: the test proves nothing",
        runs()
    );
    tally
}

fn names(prefix: &str) -> Vec<String> {
    (0..runs())
        .map(|i| format!("{prefix}-{i}.example.net"))
        .collect()
}

#[test]
fn the_ca_directory_owned_by_a_hostile_user() {
    if !can_race() {
        return;
    }
    let submitted = names("sub");
    let issued = names("iss");
    let mut secret_files: Vec<String> = submitted
        .iter()
        .chain(&issued)
        .map(|n| format!("{n}.pem"))
        .collect();
    secret_files.extend(["ca_crt.pem".into(), "serial".into()]);
    let s = arena(&secret_files);
    s.run(&["init", "--dir", "ca", "--ca-name", "Race CA"]).ok();
    give_away(&s.path("ca"));
    std::fs::create_dir(s.path("csr")).unwrap();
    std::fs::create_dir(s.path("out")).unwrap();
    for n in &submitted {
        std::fs::write(s.path(&format!("csr/{n}.csr")), common::serve::csr(n)).unwrap();
    }
    let reals = [s.path("ca/signed"), s.path("ca/requests")];
    let swapper = Swapper::start(&s, &reals, &s.path("secret"));
    swapper.pause();

    // submit: each CSR once.
    race(&s, "submit", &swapper, |i| {
        let csr = format!("csr/{}.csr", submitted[i]);
        s.run(&["submit", "--dir", "ca", &csr])
    });
    // Whatever a refusal left unsubmitted is submitted now, unraced: sign needs them all.
    for n in &submitted {
        let csr = format!("csr/{n}.csr");
        let r = s.run(&["submit", "--dir", "ca", &csr]);
        assert!(
            r.code == 0 || r.stderr.contains("already has"),
            "{}",
            r.stderr
        );
    }
    race(&s, "sign", &swapper, |i| {
        s.run(&["sign", "--dir", "ca", &submitted[i]])
    });
    race(&s, "issue", &swapper, |i| {
        s.run(&["issue", "--dir", "ca", "--out", "out", &issued[i]])
    });
    race(&s, "clean", &swapper, |i| {
        s.run(&["clean", "--dir", "ca", &submitted[i]])
    });
    let swaps = swapper.finish();
    assert!(
        swaps as usize > runs(),
        "the swapper swapped only {swaps} times"
    );
    eprintln!("the hostile user swapped signed/ and requests/ {swaps} times");
    // The CA is whole afterwards: check finds no error (an interrupted batch is finished by
    // the next signer or --repair, which this proves too).
    let repaired = s.run(&["check", "--dir", "ca", "--repair"]);
    assert_eq!(repaired.code, 0, "{}\n{}", repaired.stdout, repaired.stderr);
}

/// Two CAs that each issued `node.example.net` into `outN/`: installing them by turns makes
/// every install write every file.
fn two_issuers(s: &Scratch) {
    for i in 1..=2 {
        let (ca, out) = (format!("ca{i}"), format!("out{i}"));
        s.run(&["init", "--dir", &ca, "--ca-name", &format!("Race CA {i}")])
            .ok();
        std::fs::create_dir(s.path(&out)).unwrap();
        s.run(&["issue", "--dir", &ca, "--out", &out, "node.example.net"])
            .ok();
    }
}

/// The ssldir after a run: the key and the certificate there are one issuer's pair (or both
/// absent), and nothing temporary is left behind.
#[track_caller]
fn ssldir_whole(s: &Scratch) {
    let read = |rel: &str| std::fs::read(s.path(rel)).ok();
    let (cert, key) = (
        read("ssl/certs/node.example.net.pem"),
        read("ssl/private_keys/node.example.net.pem"),
    );
    let pair = (1..=2).find(|n| {
        cert == read(&format!("out{n}/node.example.net.pem"))
            && key == read(&format!("out{n}/node.example.net.key.pem"))
    });
    assert!(
        pair.is_some() || (cert.is_none() && key.is_none()),
        "the ssldir holds a key and a certificate that are not one pair"
    );
    for d in ["ssl", "ssl/certs", "ssl/private_keys"] {
        for e in std::fs::read_dir(s.path(d)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with(".clusterca") && !name.contains(".tmp."),
                "{d}/{name} left behind"
            );
        }
    }
}

/// `install` of the `i`th run: from the first issuer on even runs, the second on odd ones.
fn install_by_turns(s: &Scratch, i: usize, layout: &[&str]) -> Run {
    let n = 1 + i % 2;
    let (ca, out) = (format!("ca{n}"), format!("out{n}"));
    let mut args = vec!["install", "--dir", &ca, "--from", &out];
    args.extend_from_slice(layout);
    args.push("node.example.net");
    s.run(&args)
}

#[test]
fn an_ssldir_owned_by_a_hostile_user() {
    if !can_race() {
        return;
    }
    let secret_files = ["node.example.net.pem", "ca.pem", "crl.pem", "node.key"].map(String::from);
    let s = arena(&secret_files);
    two_issuers(&s);
    // Puppet's layout: the ssldir and its subdirectories are the puppet user's.
    for d in [
        "ssl",
        "ssl/certs",
        "ssl/private_keys",
        "files",
        "files/certs",
        "files/private",
    ] {
        std::fs::create_dir(s.path(d)).unwrap();
    }
    give_away(&s.path("ssl"));
    give_away(&s.path("files"));
    let reals = [
        s.path("ssl/certs"),
        s.path("ssl/private_keys"),
        s.path("files/certs"),
        s.path("files/private"),
    ];
    let swapper = Swapper::start(&s, &reals, &s.path("secret"));
    swapper.pause();
    let owner = HOSTILE.to_string();
    let whole = || ssldir_whole(&s);
    race_checked(
        &s,
        "install (puppet layout)",
        &swapper,
        |i| install_by_turns(&s, i, &["--ssldir", "ssl", "--owner", &owner]),
        whole,
    );
    race(&s, "install (files layout)", &swapper, |i| {
        let files = [
            "--layout",
            "files",
            "--cert",
            "files/certs/node.example.net.pem",
            "--key",
            "files/private/node.key",
            "--ca",
            "files/certs/ca.pem",
            "--owner",
            &owner,
        ];
        install_by_turns(&s, i, &files)
    });
    if common::have_program("dash", "dash") {
        let bundles: Vec<String> = (1..=2)
            .map(|n| {
                let (ca, out) = (format!("ca{n}"), format!("out{n}"));
                let r = s
                    .run(&[
                        "bundle",
                        "--dir",
                        &ca,
                        "--from",
                        &out,
                        "--ssldir",
                        &s.path("ssl").display().to_string(),
                        "--owner",
                        &owner,
                        "node.example.net",
                    ])
                    .ok();
                r.stdout
            })
            .collect();
        for (i, b) in bundles.iter().enumerate() {
            std::fs::write(s.path(&format!("bundle{i}.sh")), b).unwrap();
        }
        let run_bundle = |i: usize| {
            let script = format!("bundle{}.sh", i % 2);
            // As `clusterca bundle ... | sh` runs it: the script on stdin.
            let stdin = std::fs::File::open(s.path(&script)).unwrap();
            common::finish(
                Command::new("dash")
                    .stdin(stdin)
                    .current_dir(s.dir.path())
                    .output()
                    .unwrap(),
            )
        };
        // The bundle enters every directory many times (a fork per check): against a swap
        // loop it hardly ever gets through, so that it works at all is shown unraced, with the
        // swapper stopped, before and after.
        run_bundle(0).ok();
        ssldir_whole(&s);
        race_checked(&s, "bundle | sh", &swapper, run_bundle, whole);
        run_bundle(1).ok();
        ssldir_whole(&s);
    }
    let swaps = swapper.finish();
    assert!(
        swaps as usize > runs(),
        "the swapper swapped only {swaps} times"
    );
    eprintln!("the hostile user swapped the ssldir's directories {swaps} times");
}
