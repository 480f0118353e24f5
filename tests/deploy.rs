//! `install` and `bundle`: exact owners and modes (read back with `stat`), umask independence,
//! symlink refusal, unchanged detection, read-only targets, and the same install done by the
//! bundle under `dash` and `busybox sh`. Root-only parts (chown, running as `nobody`) print one
//! line and return when not root.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::Scratch;

const NAME: &str = "web1.example.net";

fn ready() -> Scratch {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    s.run(&["issue", NAME, "--alt-name", "puppet.example.net"])
        .ok();
    s
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Root, where a `puppet` user and group exist (the puppetserver package makes them): the
/// tests then give the installed files to puppet, as an operator would. Elsewhere (a fresh
/// machine) they install as the running user.
fn give_to_puppet() -> bool {
    is_root() && common::puppet_user_and_group()
}

/// `stat -c '%a %U %G' PATH`, run by the real stat.
fn stat(s: &Scratch, rel: &str) -> String {
    let out = Command::new("stat")
        .args(["-c", "%a %U %G"])
        .arg(s.path(rel))
        .output()
        .unwrap();
    assert!(out.status.success(), "stat {rel}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Every path under `dir` with its bytes, mode, owner and mtime.
fn tree(dir: &Path) -> BTreeMap<String, (Vec<u8>, String)> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, (Vec<u8>, String)>) {
        use std::os::unix::fs::MetadataExt;
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let meta = format!(
                "{:o} {}:{} {}",
                m.mode() & 0o7777,
                m.uid(),
                m.gid(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000
            );
            if m.is_dir() {
                out.insert(rel, (Vec::new(), meta));
                walk(root, &p, out);
            } else {
                out.insert(rel, (std::fs::read(&p).unwrap_or_default(), meta));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// Modes and owners only (no mtimes).
fn shape(dir: &Path) -> BTreeMap<String, (Vec<u8>, String)> {
    tree(dir)
        .into_iter()
        .map(|(k, (b, m))| (k, (b, m.rsplit_once(' ').unwrap().0.to_owned())))
        .collect()
}

#[test]
fn puppet_layout_exact_modes_owners_and_unchanged_reruns() {
    let s = ready();
    let owner: &[&str] = if give_to_puppet() {
        &["--owner", "puppet", "--group", "puppet"]
    } else {
        &[]
    };
    let mut args = vec!["install", NAME, "--ssldir", "ssl"];
    args.extend_from_slice(owner);
    let out = s.run(&args).ok().stdout;
    assert!(out.contains("7 created"), "{out}");
    let who = if give_to_puppet() {
        "puppet puppet".to_owned()
    } else {
        let u = nix::unistd::User::from_uid(nix::unistd::geteuid())
            .unwrap()
            .unwrap()
            .name;
        let g = nix::unistd::Group::from_gid(nix::unistd::getegid())
            .unwrap()
            .unwrap()
            .name;
        format!("{u} {g}")
    };
    for (rel, mode) in [
        ("ssl", "771"),
        ("ssl/certs", "755"),
        ("ssl/private_keys", "750"),
        ("ssl/certs/web1.example.net.pem", "644"),
        ("ssl/private_keys/web1.example.net.pem", "640"),
        ("ssl/certs/ca.pem", "644"),
        ("ssl/crl.pem", "644"),
    ] {
        assert_eq!(stat(&s, rel), format!("{mode} {who}"), "{rel}");
    }
    assert_eq!(s.read("ssl/certs/ca.pem"), s.read("ca/ca_crt.pem"));
    assert_eq!(s.read("ssl/crl.pem"), s.read("ca/ca_crl.pem"));
    assert_eq!(
        s.read("ssl/private_keys/web1.example.net.pem"),
        s.read("web1.example.net.key.pem")
    );
    let v = s.openssl(&[
        "verify",
        "-CAfile",
        "ssl/certs/ca.pem",
        "-crl_check",
        "-CRLfile",
        "ssl/crl.pem",
        "-verify_hostname",
        "puppet.example.net",
        "ssl/certs/web1.example.net.pem",
    ]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);

    // Again: all unchanged, nothing touched (mtimes included).
    let before = tree(&s.path("ssl"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = s.run(&args).ok().stdout;
    assert!(
        out.contains("0 created, 0 replaced, 0 fixed, 7 unchanged"),
        "{out}"
    );
    assert_eq!(before, tree(&s.path("ssl")));

    // A loosened key mode is fixed (content untouched); a changed CRL replaced, with --backup.
    std::fs::set_permissions(
        s.path("ssl/private_keys/web1.example.net.pem"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    std::fs::write(s.path("ssl/crl.pem"), "old crl\n").unwrap();
    let mut again = args.clone();
    again.push("--backup");
    let out = s.run(&again).ok().stdout;
    assert!(out.contains("1 replaced, 1 fixed, 5 unchanged"), "{out}");
    assert_eq!(
        stat(&s, "ssl/private_keys/web1.example.net.pem"),
        format!("640 {who}")
    );
    let backups: Vec<String> = std::fs::read_dir(s.path("ssl"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("crl.pem.bak."))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(s.read(&format!("ssl/{}", backups[0])), "old crl\n");

    // --dry-run reports and writes nothing.
    std::fs::write(s.path("ssl/crl.pem"), "stale\n").unwrap();
    let before = tree(&s.path("ssl"));
    let mut dry = args.clone();
    dry.push("--dry-run");
    let out = s.run(&dry).ok().stdout;
    assert!(
        out.contains("dry run") && out.contains("1 replaced"),
        "{out}"
    );
    assert_eq!(before, tree(&s.path("ssl")));
}

#[test]
fn the_umask_does_not_change_the_result() {
    let s = ready();
    let shapes: Vec<_> = ["000", "077", "022"]
        .iter()
        .map(|mask| {
            let dir = format!("ssl-{mask}");
            let cmd = format!(
                "umask {mask} && exec {} install {NAME} --ssldir {dir}",
                env!("CARGO_BIN_EXE_clusterca")
            );
            let out = Command::new("sh")
                .args(["-c", &cmd])
                .current_dir(s.dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            shape(&s.path(&dir))
        })
        .collect();
    assert_eq!(shapes[0], shapes[1]);
    assert_eq!(shapes[0], shapes[2]);
    // The files layout with explicit modes, and haproxy's combined 0600 PEM.
    for mask in ["000", "077"] {
        std::fs::create_dir_all(s.path(&format!("svc-{mask}"))).unwrap();
        let cmd = format!(
            "umask {mask} && {b} install {NAME} --layout files --cert svc-{mask}/cert.pem --key svc-{mask}/key.pem --ca svc-{mask}/ca.pem --mode 0444 --key-mode 0400 && exec {b} install {NAME} --layout haproxy --pem svc-{mask}/haproxy.pem",
            b = env!("CARGO_BIN_EXE_clusterca")
        );
        let out = Command::new("sh")
            .args(["-c", &cmd])
            .current_dir(s.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(s.mode(&format!("svc-{mask}/cert.pem")), 0o444);
        assert_eq!(s.mode(&format!("svc-{mask}/ca.pem")), 0o444);
        assert_eq!(s.mode(&format!("svc-{mask}/key.pem")), 0o400);
        assert_eq!(s.mode(&format!("svc-{mask}/haproxy.pem")), 0o600);
        let combined = s.read(&format!("svc-{mask}/haproxy.pem"));
        assert_eq!(
            combined,
            s.read(&format!("{NAME}.pem"))
                + &s.read("ca/ca_crt.pem")
                + &s.read(&format!("{NAME}.key.pem"))
        );
    }
}

#[test]
fn symlinks_unknown_owners_and_bad_layouts_are_refused_with_nothing_written() {
    let s = ready();
    s.run(&["install", NAME, "--ssldir", "ssl"]).ok();
    std::fs::write(s.path("outside"), "outside\n").unwrap();
    let key = s.path("ssl/private_keys/web1.example.net.pem");
    std::fs::remove_file(&key).unwrap();
    std::os::unix::fs::symlink(s.path("outside"), &key).unwrap();
    std::fs::write(s.path("ssl/crl.pem"), "stale\n").unwrap();
    // A symlinked directory of the layout, too.
    std::fs::create_dir_all(s.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(s.path("elsewhere"), s.path("ssl2")).unwrap();
    let before = s.snapshot();
    for (args, needle) in [
        (vec!["install", NAME, "--ssldir", "ssl"], "symbolic link"),
        (vec!["install", NAME, "--ssldir", "ssl2"], "symbolic link"),
        (
            vec![
                "install",
                NAME,
                "--ssldir",
                "new",
                "--owner",
                "no-such-user-x",
            ],
            "no-such-user-x",
        ),
        (
            vec![
                "install",
                NAME,
                "--ssldir",
                "new",
                "--group",
                "no-such-group-x",
            ],
            "no-such-group-x",
        ),
        (vec!["install", NAME], "--ssldir"),
        (vec!["install", NAME, "--ssldir", "missing/ssl"], "missing"),
        (
            vec!["install", NAME, "--ssldir", "new", "--pem", "x.pem"],
            "--pem",
        ),
        (vec!["install", NAME, "--layout", "files"], "at least one"),
        (
            vec![
                "install",
                NAME,
                "--layout",
                "files",
                "--cert",
                "no/such/dir/c.pem",
            ],
            "no/such/dir",
        ),
        (
            vec![
                "install", NAME, "--layout", "files", "--cert", "c.pem", "--mode", "999",
            ],
            "--mode",
        ),
        (vec!["install", "../etc", "--ssldir", "new"], "../etc"),
        (
            vec!["install", "other.example.net", "--ssldir", "new"],
            "other.example.net",
        ),
        (vec!["bundle", NAME, "--layout", "haproxy"], "--pem"),
        (
            vec!["bundle", NAME, "--ssldir", "new", "--format", "json"],
            "bundle writes a sh script, not a report: --format json does not apply",
        ),
    ] {
        let run = s.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        common::assert_unchanged(&before, &s.snapshot(), &format!("{args:?}"));
    }
    assert_eq!(s.read("outside"), "outside\n");
}

/// Runs `script` (a bundle) with `shell` ("dash" or "busybox sh") in the scratch dir.
fn run_bundle(s: &Scratch, shell: &str, script: &str) -> common::Run {
    std::fs::write(s.path("bundle.sh"), script).unwrap();
    let mut words = shell.split(' ');
    let out = Command::new(words.next().unwrap())
        .args(words)
        .arg("bundle.sh")
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    common::finish(out)
}

#[test]
fn bundles_under_dash_and_busybox_match_install() {
    let s = ready();
    let owner: &[&str] = if give_to_puppet() {
        &["--owner", "puppet", "--group", "puppet"]
    } else {
        &[]
    };
    let mut args = vec!["install", NAME, "--ssldir", "by-install"];
    args.extend_from_slice(owner);
    s.run(&args).ok();
    let reference = shape(&s.path("by-install"));
    for shell in ["dash", "busybox sh"] {
        let program = shell.split(' ').next().unwrap();
        if !common::have_program(program, program) {
            continue;
        }
        let dir = format!("by-{}", program);
        let mut b = vec!["bundle", NAME, "--ssldir", dir.as_str()];
        b.extend_from_slice(owner);
        let script = s.run(&b).ok().stdout;
        for umask_first in [true, false] {
            // The bundle sets its own umask; run it under a careless one too.
            let script = if umask_first {
                format!("umask 000\n{script}")
            } else {
                script.clone()
            };
            let run = run_bundle(&s, shell, &script);
            assert_eq!(run.code, 0, "{shell}: {}{}", run.stdout, run.stderr);
            let last = run.stdout.lines().last().unwrap_or_default().to_owned();
            let want = if umask_first {
                "7 changed, 0 unchanged"
            } else {
                "0 changed, 7 unchanged"
            };
            assert!(last.ends_with(want), "{shell}: {last}");
            assert_eq!(shape(&s.path(&dir)), reference, "{shell}");
        }
        // Unchanged means untouched: every file's bytes, mode, owner and mtime. (The
        // directories' mtimes move: the bundle looks at each file through a second name in a
        // private directory it makes there and removes; their modes and owners are `shape`'s.)
        let files_only = |t: BTreeMap<String, (Vec<u8>, String)>| {
            t.into_iter()
                .filter(|(k, _)| k != "certs" && k != "private_keys")
                .collect::<BTreeMap<_, _>>()
        };
        let before = files_only(tree(&s.path(&dir)));
        run_bundle(&s, shell, &script);
        assert_eq!(
            before,
            files_only(tree(&s.path(&dir))),
            "{shell} touched unchanged files"
        );
        assert_eq!(shape(&s.path(&dir)), reference, "{shell}");

        // Tampered content: refused before anything moves; no temporary file left behind.
        std::fs::write(s.path(&format!("{dir}/crl.pem")), "stale\n").unwrap();
        let cert = s.read(&format!("{NAME}.pem"));
        let line = cert.lines().nth(3).unwrap();
        let mut flipped = line.to_owned();
        let c = if flipped.ends_with('A') { "B" } else { "A" };
        flipped.replace_range(flipped.len() - 1.., c);
        let tampered = script.replace(line, &flipped);
        // Make the certificate one that must be written, then the CRL check comes after it.
        std::fs::remove_file(s.path(&format!("{dir}/certs/{NAME}.pem"))).unwrap();
        // (Directory mtimes may move: the rejected temporary file was made and removed.)
        let before = shape(&s.path(&dir));
        let run = run_bundle(&s, shell, &tampered);
        assert_ne!(run.code, 0, "{shell}: a tampered bundle installed");
        assert!(
            run.stderr.contains("does not match its SHA-256"),
            "{shell}: {}",
            run.stderr
        );
        assert_eq!(
            before,
            shape(&s.path(&dir)),
            "{shell}: the tampered bundle changed files"
        );
    }
}

#[test]
fn as_an_unprivileged_user_and_into_a_read_only_directory() {
    if !is_root() {
        eprintln!("skipping: needs root to run clusterca as nobody (setpriv)");
        return;
    }
    if !common::have_program("setpriv", "util-linux") {
        return;
    }
    let s = ready();
    // A world-traversable scratch, a CA bundle anyone may read, a --from dir of nobody's.
    std::fs::set_permissions(s.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(s.path("ca"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let (uid, gid) = (nobody.uid, nobody.gid);
    for d in ["from", "target"] {
        std::fs::create_dir(s.path(d)).unwrap();
        nix::unistd::chown(&s.path(d), Some(uid), Some(gid)).unwrap();
    }
    for f in [format!("{NAME}.pem"), format!("{NAME}.key.pem")] {
        std::fs::copy(s.path(&f), s.path(&format!("from/{f}"))).unwrap();
        nix::unistd::chown(&s.path(&format!("from/{f}")), Some(uid), Some(gid)).unwrap();
    }
    let as_nobody = |args: &[&str]| {
        let out = Command::new("setpriv")
            .args([
                "--reuid",
                &uid.to_string(),
                "--regid",
                &gid.to_string(),
                "--clear-groups",
                "--",
            ])
            .arg(env!("CARGO_BIN_EXE_clusterca"))
            .args(args)
            .current_dir(s.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .unwrap();
        common::finish(out)
    };
    let args = ["install", NAME, "--from", "from", "--ssldir", "target/ssl"];
    let run = as_nobody(&args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        stat(&s, "target/ssl/private_keys/web1.example.net.pem"),
        format!(
            "640 {} {}",
            nobody.name,
            nix::unistd::Group::from_gid(gid).unwrap().unwrap().name
        )
    );
    assert_eq!(stat(&s, "target/ssl").split(' ').next(), Some("771"));
    // nobody may not give files away.
    let run = as_nobody(&[
        "install",
        NAME,
        "--from",
        "from",
        "--ssldir",
        "target/ssl2",
        "--owner",
        "root",
    ]);
    assert_ne!(run.code, 0);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    // A read-only directory (root's, 0755): a clean failure, the old file intact, no
    // temporary file left.
    std::fs::create_dir(s.path("target/ro")).unwrap();
    std::fs::write(s.path("target/ro/cert.pem"), "old\n").unwrap();
    nix::unistd::chown(&s.path("target/ro/cert.pem"), Some(uid), Some(gid)).unwrap();
    let before = tree(&s.path("target"));
    let run = as_nobody(&[
        "install",
        NAME,
        "--from",
        "from",
        "--layout",
        "files",
        "--cert",
        "target/ro/cert.pem",
    ]);
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("Permission denied"), "{}", run.stderr);
    assert_eq!(before, tree(&s.path("target")));
    assert_eq!(s.read("target/ro/cert.pem"), "old\n");
}

/// A certificate signed from the node's own CSR: its key never left the node, and `install
/// --cert-only` puts the certificate, CA bundle and CRL beside it and leaves the key alone.
#[test]
fn cert_only_installs_beside_the_nodes_own_key() {
    let s = Scratch::new();
    s.run(&["init"]).ok();
    let agent = "agent01.example.net";
    std::fs::create_dir_all(s.path("ssl/private_keys")).unwrap();
    s.ec_csr(
        "ssl/private_keys/agent01.example.net.pem",
        "agent.csr",
        agent,
        &[],
    );
    std::fs::set_permissions(
        s.path("ssl/private_keys/agent01.example.net.pem"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let key_before = std::fs::read(s.path("ssl/private_keys/agent01.example.net.pem")).unwrap();
    s.run(&["submit", "agent.csr"]).ok();
    s.run(&["sign", agent]).ok();
    // Without --cert-only the missing key is refused, and the message says what to do.
    let run = s.run(&["install", agent, "--ssldir", "ssl"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--cert-only"), "{}", run.stderr);
    assert!(!s.path("ssl/certs").exists());
    s.run(&["install", agent, "--ssldir", "ssl", "--cert-only"])
        .ok();
    assert_eq!(
        std::fs::read(s.path("ssl/private_keys/agent01.example.net.pem")).unwrap(),
        key_before
    );
    assert_eq!(s.mode("ssl/private_keys/agent01.example.net.pem"), 0o640);
    // The installed certificate is the key's, and chains to the CA the node now has.
    let cert_key = s
        .openssl(&[
            "x509",
            "-in",
            "ssl/certs/agent01.example.net.pem",
            "-noout",
            "-pubkey",
        ])
        .ok()
        .stdout;
    let key_pub = s
        .openssl(&[
            "pkey",
            "-in",
            "ssl/private_keys/agent01.example.net.pem",
            "-pubout",
        ])
        .ok()
        .stdout;
    assert_eq!(cert_key, key_pub);
    s.openssl(&[
        "verify",
        "-CAfile",
        "ssl/certs/ca.pem",
        "ssl/certs/agent01.example.net.pem",
    ])
    .ok();
    // haproxy's file holds the key: no --cert-only there.
    let run = s.run(&[
        "install",
        agent,
        "--layout",
        "haproxy",
        "--pem",
        "h.pem",
        "--cert-only",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("haproxy"), "{}", run.stderr);
}
