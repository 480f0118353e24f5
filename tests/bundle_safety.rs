//! The `bundle` script against a short ssh stream and against the unprivileged owner of the
//! ssldir (who may rename, replace and symlink anything in it while root runs the script):
//! a bundle cut at every line and at random bytes changes nothing; a move that fails puts back
//! what was moved before it; a temporary file or a target directory swapped for a symbolic
//! link at the last moment redirects nothing outside the ssldir. Every script runs under
//! `dash` and `busybox sh`, fed on standard input as `ssh HOST sh -s` feeds it. The swaps are
//! made deterministic by a `mv` on PATH that does them just before running the real `mv`.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Run, Scratch};

const NAME: &str = "web1.example.net";
const KEY: &str = "ssl/private_keys/web1.example.net.pem";
const CERT: &str = "ssl/certs/web1.example.net.pem";
const SHELLS: [&str; 2] = ["dash", "busybox sh"];
const INCOMPLETE: &str =
    "clusterca-bundle: error: this bundle is incomplete (cut off in transit?): nothing was changed";

/// Whether both shells are installed; if not, one line naming the packages.
fn shells_installed() -> bool {
    common::have_program("dash", "dash busybox") && common::have_program("busybox", "dash busybox")
}

/// Root, where a `puppet` user and group exist: the files go to puppet, as in production.
fn owner_args() -> Vec<&'static str> {
    let puppet = nix::unistd::geteuid().is_root() && common::puppet_user_and_group();
    if puppet {
        vec!["--owner", "puppet", "--group", "puppet"]
    } else {
        Vec::new()
    }
}

/// One path's kind, content (or link target), mode, owner and inode, and for non-directories
/// the mtime: equal entries mean the very same file, untouched. Directory mtimes are left
/// out (a failed run may have made and removed its private directory in them).
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    bytes: Vec<u8>,
    meta: String,
}

type Tree = BTreeMap<PathBuf, Entry>;

fn tree(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let m = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let mut meta = format!("{:o} {}:{} ino {}", m.mode(), m.uid(), m.gid(), m.ino());
            let bytes = if m.is_dir() {
                Vec::new()
            } else if m.file_type().is_symlink() {
                std::fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                meta.push_str(&format!(" mtime {}.{}", m.mtime(), m.mtime_nsec()));
                std::fs::read(&path).unwrap()
            };
            out.insert(rel, Entry { bytes, meta });
            if m.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Asserts two trees are equal, naming only the paths that differ.
#[track_caller]
fn assert_same(before: &Tree, after: &Tree, context: &str) {
    let changed: Vec<_> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|k| {
            let show = |t: &Tree| t.get(k).map(|e| e.meta.clone());
            format!("{}: {:?} -> {:?}", k.display(), show(before), show(after))
        })
        .collect();
    assert!(changed.is_empty(), "{context}: changed {changed:#?}");
}

/// Private directories left anywhere under `root`.
fn leftovers(root: &Path) -> Vec<PathBuf> {
    tree(root)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains(".clusterca-bundle"))
        .collect()
}

/// Runs `script` as `SHELL -s` with it on standard input, in the scratch dir, with PATH (after
/// `hook` when given) and `env` only.
fn run_sh(
    s: &Scratch,
    shell: &str,
    script: &[u8],
    hook: Option<&Path>,
    env: &[(&str, String)],
) -> Run {
    let mut words = shell.split(' ');
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(h) = hook {
        let mut p = h.as_os_str().to_owned();
        p.push(":");
        p.push(&path);
        path = p;
    }
    let mut child = Command::new(words.next().unwrap())
        .args(words)
        .arg("-s")
        .current_dir(s.dir.path())
        .env_clear()
        .env("PATH", path)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let script = script.to_vec();
    // A shell that stops early must not block the writer.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&script);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    common::finish(out)
}

/// A CA, an older issuance of NAME installed in `ssl` by its bundle, and the bundle of a newer
/// issuance (another key, certificate and CRL; the same CA bundle).
struct Setup {
    s: Scratch,
    old: String,
    new: String,
    old_key: Vec<u8>,
    old_cert: Vec<u8>,
    new_key: Vec<u8>,
    new_cert: Vec<u8>,
}

fn bundle(s: &Scratch, from: &str, ssldir: &str, extra: &[&str]) -> String {
    let mut args = vec!["bundle", NAME, "--from", from, "--ssldir", ssldir];
    let owner = owner_args();
    args.extend_from_slice(&owner);
    args.extend_from_slice(extra);
    s.run(&args).ok().stdout
}

impl Setup {
    fn new() -> Setup {
        let s = Scratch::new();
        s.run(&["init"]).ok();
        std::fs::create_dir(s.path("old")).unwrap();
        std::fs::create_dir(s.path("new")).unwrap();
        s.run(&["issue", NAME, "--out", "old"]).ok();
        let old = bundle(&s, "old", "ssl", &[]);
        s.run(&["clean", NAME]).ok();
        s.run(&["issue", NAME, "--out", "new"]).ok();
        let new = bundle(&s, "new", "ssl", &[]);
        let read = |p: &str| std::fs::read(s.path(p)).unwrap();
        let t = Setup {
            old_key: read(&format!("old/{NAME}.key.pem")),
            old_cert: read(&format!("old/{NAME}.pem")),
            new_key: read(&format!("new/{NAME}.key.pem")),
            new_cert: read(&format!("new/{NAME}.pem")),
            s,
            old,
            new,
        };
        assert_ne!(t.old_key, t.new_key);
        let run = run_sh(&t.s, "dash", t.old.as_bytes(), None, &[]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        t.assert_old("the first install");
        t
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.s.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    #[track_caller]
    fn assert_old(&self, context: &str) {
        assert!(
            self.read(KEY) == self.old_key && self.read(CERT) == self.old_cert,
            "{context}: the old key and certificate are not both in place"
        );
    }

    #[track_caller]
    fn assert_new(&self, context: &str) {
        assert!(
            self.read(KEY) == self.new_key && self.read(CERT) == self.new_cert,
            "{context}: the new key and certificate are not both in place"
        );
    }

    /// The physical path of `rel` in the scratch dir, as `pwd -P` shows it.
    fn real(&self, rel: &str) -> PathBuf {
        std::fs::canonicalize(self.s.dir.path()).unwrap().join(rel)
    }
}

/// Asserts the run failed with one `clusterca-bundle: error:` line, its last, containing
/// every one of `needles`.
#[track_caller]
fn assert_refused(run: &Run, needles: &[&str], context: &str) {
    assert_ne!(
        run.code, 0,
        "{context}: exit 0\n{}{}",
        run.stdout, run.stderr
    );
    let errors: Vec<_> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("clusterca-bundle: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{context}: {}", run.stderr);
    assert_eq!(
        run.stderr.lines().last(),
        Some(errors[0]),
        "{context}: {}",
        run.stderr
    );
    for n in needles {
        assert!(
            errors[0].contains(n),
            "{context}: no {n:?} in {}",
            errors[0]
        );
    }
}

/// The byte offsets to cut `script` at: every line boundary (0 and after each newline) short
/// of the whole script, every byte of its first and last lines (the trap and the call), and 50
/// pseudo-random offsets (fixed seed), all short of its last byte.
fn cuts(script: &[u8]) -> Vec<usize> {
    let first = script.iter().position(|b| *b == b'\n').unwrap();
    let last = script[..script.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap();
    let trap = script.windows(9).position(|w| w == b"\nif trap ").unwrap();
    let trap_end = trap + 1 + script[trap + 1..].iter().position(|b| *b == b'\n').unwrap();
    let mut cuts: Vec<usize> = std::iter::once(0)
        .chain(
            script
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .chain(0..first)
        .chain(trap..trap_end)
        .chain(last..script.len() - 1)
        .filter(|&c| c < script.len())
        .collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..50 {
        // Knuth's MMIX LCG.
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        cuts.push((x >> 33) as usize % (script.len() - 1));
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

#[test]
fn a_bundle_cut_anywhere_changes_nothing() {
    if !shells_installed() {
        return;
    }
    let t = Setup::new();
    let script = t.new.as_bytes();
    let last_line = script[..script.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    assert_eq!(
        &t.new[last_line..],
        "clusterca_bundle_main end-of-bundle\n",
        "the last line calls the function"
    );
    // The EXIT trap that reports a cut script is the first command, on the second line.
    let trap_start = t.new.find('\n').unwrap() + 1;
    assert!(
        t.new[trap_start..].starts_with("if trap "),
        "{}",
        &t.new[..200]
    );
    let trap_end = trap_start;
    let trap_end = trap_end + t.new[trap_end..].find('\n').unwrap() + 1;
    let offsets = cuts(script);
    assert!(offsets.len() > 300, "{} cuts", offsets.len());
    for shell in SHELLS {
        let before = tree(t.s.dir.path());
        for &cut in &offsets {
            let context = format!("{shell}, cut at byte {cut} of {}", script.len());
            let run = run_sh(&t.s, shell, &script[..cut], None, &[]);
            assert_same(&before, &tree(t.s.dir.path()), &context);
            // Past the `#!` line nothing cut exits 0 (only an empty or nearly empty stream
            // does: it is no script at all).
            if cut > trap_start {
                assert_ne!(run.code, 0, "{context}: {}{}", run.stdout, run.stderr);
            }
            if cut >= trap_end {
                assert_eq!(run.code, 3, "{context}: {}{}", run.stdout, run.stderr);
                assert_eq!(
                    run.stderr.lines().last(),
                    Some(INCOMPLETE),
                    "{context}: {}",
                    run.stderr
                );
                assert!(run.stdout.is_empty(), "{context}: {}", run.stdout);
            }
        }
        t.assert_old(shell);

        // The whole bundle (and the whole bundle but its final newline) installs both, leaves
        // no private directory and writes nothing outside the ssldir; the old bundle puts the
        // old pair back.
        for cut in [script.len() - 1, script.len()] {
            let context = format!("{shell}, {cut} of {} bytes", script.len());
            let outside = |tr: Tree| -> Tree {
                tr.into_iter()
                    .filter(|(p, _)| !p.starts_with("ssl"))
                    .collect()
            };
            let before = outside(tree(t.s.dir.path()));
            let run = run_sh(&t.s, shell, &script[..cut], None, &[]);
            assert_eq!(run.code, 0, "{context}: {}{}", run.stdout, run.stderr);
            assert!(
                run.stdout.ends_with(&format!(
                    "clusterca-bundle: {NAME}: 3 changed, 4 unchanged\n"
                )),
                "{context}: {}",
                run.stdout
            );
            t.assert_new(&context);
            assert_eq!(
                leftovers(t.s.dir.path()),
                Vec::<PathBuf>::new(),
                "{context}"
            );
            assert_same(&before, &outside(tree(t.s.dir.path())), &context);
            let run = run_sh(&t.s, shell, t.old.as_bytes(), None, &[]);
            assert_eq!(run.code, 0, "{context}: {}{}", run.stdout, run.stderr);
            t.assert_old(&context);
        }
    }
}

/// Writes the test double for `mv` into a new directory: when it is asked to move a staged
/// file (`new.N`) to `$HOOK_TARGET` (a physical path), it first does `$HOOK_ACTION`:
/// `fail` (exit 1), `temp` (replace the staged file with a symbolic link to `$HOOK_OUTSIDE`),
/// or `dir` (rename `$HOOK_DIR` away and put a symbolic link to `$HOOK_OUTSIDE` there); then
/// it runs the real mv.
fn mv_hook() -> tempfile::TempDir {
    let real = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("mv"))
        .find(|p| p.is_file())
        .expect("mv on PATH");
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"#!/bin/sh
src= dest=
for a; do src=$dest; dest=$a; done
case $src in
  new.*)
    target=$(cd -P "$(dirname -- "$dest")" && pwd -P)/$(basename -- "$dest")
    if [ "$target" = "$HOOK_TARGET" ]; then
      case $HOOK_ACTION in
        fail) echo "mv: injected failure" >&2; exit 1 ;;
        temp) rm -f -- "$src" && ln -s -- "$HOOK_OUTSIDE" "$src" || exit 99 ;;
        dir) {real} -T -- "$HOOK_DIR" "$HOOK_DIR.real" && ln -s -- "$HOOK_OUTSIDE" "$HOOK_DIR" || exit 99 ;;
      esac
    fi
    ;;
esac
exec {real} "$@"
"#,
        real = common_quote(&real.to_string_lossy())
    );
    let path = dir.path().join("mv");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn common_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn hook_env(t: &Setup, action: &str, target: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HOOK_ACTION", action.to_owned()),
        ("HOOK_TARGET", t.real(target).display().to_string()),
    ]
}

#[test]
fn a_failed_move_puts_back_what_was_moved_before() {
    if !shells_installed() {
        return;
    }
    let hook = mv_hook();
    for shell in SHELLS {
        let t = Setup::new();
        let backup = bundle(&t.s, "new", "ssl", &["--backup"]);
        // The certificate's move fails after the key's (the key goes first); then the CRL's,
        // after both (the CA bundle is unchanged); with --backup, its links go too.
        for (script, target, put_back) in [
            (&t.new, CERT, vec![KEY]),
            (&t.new, "ssl/crl.pem", vec![KEY, CERT]),
            (&backup, CERT, vec![KEY]),
        ] {
            let context = format!("{shell}, failing at {target}");
            let before = tree(t.s.dir.path());
            let run = run_sh(
                &t.s,
                shell,
                script.as_bytes(),
                Some(hook.path()),
                &hook_env(&t, "fail", target),
            );
            let mut needles = vec!["mv: injected failure", "no file was changed"];
            needles.extend(&put_back);
            assert_refused(&run, &needles, &context);
            // The very same old files (inodes, mtimes) are back; no backup, nothing left.
            t.assert_old(&context);
            assert_same(&before, &tree(t.s.dir.path()), &context);
        }

        // Where there was nothing before, the key moved in is removed again.
        let fresh = bundle(&t.s, "new", "fresh", &[]);
        let run = run_sh(
            &t.s,
            shell,
            fresh.as_bytes(),
            Some(hook.path()),
            &hook_env(&t, "fail", "fresh/certs/web1.example.net.pem"),
        );
        assert_refused(&run, &["mv: injected failure"], shell);
        for f in [
            "fresh/private_keys/web1.example.net.pem",
            "fresh/certs/web1.example.net.pem",
            "fresh/certs/ca.pem",
            "fresh/crl.pem",
        ] {
            assert!(!t.s.path(f).exists(), "{shell}: {f} left behind");
        }
        assert_eq!(leftovers(t.s.dir.path()), Vec::<PathBuf>::new(), "{shell}");

        // The same bundle without the hook installs both.
        let run = run_sh(&t.s, shell, t.new.as_bytes(), None, &[]);
        assert_eq!(run.code, 0, "{shell}: {}{}", run.stdout, run.stderr);
        t.assert_new(shell);
    }
}

#[test]
fn a_temporary_file_swapped_for_a_symlink_is_refused() {
    if !shells_installed() {
        return;
    }
    let hook = mv_hook();
    for shell in SHELLS {
        let t = Setup::new();
        // A root file outside the ssldir, 0600.
        std::fs::write(t.s.path("secret"), "root only\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(t.s.path("secret"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        let outside = t.real("secret").display().to_string();
        let before = tree(t.s.dir.path());
        let mut env = hook_env(&t, "temp", KEY);
        env.push(("HOOK_OUTSIDE", outside.clone()));
        let run = run_sh(&t.s, shell, t.new.as_bytes(), Some(hook.path()), &env);
        assert_refused(&run, &[KEY, &outside, "no file was changed"], shell);
        assert_eq!(t.s.read("secret"), "root only\n");
        assert_eq!(t.s.mode("secret"), 0o600);
        t.assert_old(shell);
        assert_same(&before, &tree(t.s.dir.path()), shell);
    }
}

#[test]
fn a_target_directory_swapped_for_a_symlink_redirects_nothing() {
    if !shells_installed() {
        return;
    }
    let hook = mv_hook();
    for shell in SHELLS {
        // The directory being written to, or the next one, swapped while the key moves.
        for swapped in ["ssl/private_keys", "ssl/certs"] {
            let context = format!("{shell}, {swapped} swapped");
            let t = Setup::new();
            std::fs::create_dir(t.s.path("rootonly")).unwrap();
            std::fs::write(t.s.path("rootonly/keep"), "root only\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(t.s.path("rootonly"), std::fs::Permissions::from_mode(0o700))
                .unwrap();
            let old_cert = t.read(CERT);
            let outside_before = tree(&t.s.path("rootonly"));
            let mut env = hook_env(&t, "dir", KEY);
            env.push(("HOOK_OUTSIDE", t.real("rootonly").display().to_string()));
            env.push(("HOOK_DIR", t.real(swapped).display().to_string()));
            let run = run_sh(&t.s, shell, t.new.as_bytes(), Some(hook.path()), &env);
            let link = format!("{} is a symbolic link", t.real(swapped).display());
            assert_refused(&run, &[&link, "no file was changed"], &context);
            assert_same(
                &outside_before,
                &tree(&t.s.path("rootonly")),
                &format!("{context}: outside"),
            );
            // The directory renamed away still holds the old files, put back.
            let real = |rel: &str| {
                let moved = rel.replacen(swapped, &format!("{swapped}.real"), 1);
                std::fs::read(t.s.path(if rel.starts_with(swapped) {
                    &moved
                } else {
                    rel
                }))
                .unwrap()
            };
            assert_eq!(real(KEY), t.old_key, "{context}");
            assert_eq!(real(CERT), old_cert, "{context}");
        }
    }
}

#[test]
fn an_existing_private_directory_or_a_symlinked_one_is_refused() {
    if !shells_installed() {
        return;
    }
    for shell in SHELLS {
        let t = Setup::new();
        std::fs::create_dir(t.s.path("rootonly")).unwrap();
        // Left by a bundle that was killed, or planted: refused, nothing changed.
        std::fs::create_dir(t.s.path("ssl/certs/.clusterca-bundle")).unwrap();
        std::os::unix::fs::symlink(
            t.real("rootonly"),
            t.s.path("ssl/private_keys/.clusterca-bundle"),
        )
        .unwrap();
        let before = tree(t.s.dir.path());
        let run = run_sh(&t.s, shell, t.new.as_bytes(), None, &[]);
        assert_refused(
            &run,
            &["ssl/certs/.clusterca-bundle exists", "no file was changed"],
            shell,
        );
        assert_same(&before, &tree(t.s.dir.path()), shell);
        std::fs::remove_dir(t.s.path("ssl/certs/.clusterca-bundle")).unwrap();
        let before = tree(t.s.dir.path());
        let run = run_sh(&t.s, shell, t.new.as_bytes(), None, &[]);
        assert_refused(&run, &["ssl/private_keys/.clusterca-bundle exists"], shell);
        assert_same(&before, &tree(t.s.dir.path()), shell);
        std::fs::remove_file(t.s.path("ssl/private_keys/.clusterca-bundle")).unwrap();

        // A target directory that is a symbolic link before the bundle starts.
        std::fs::rename(t.s.path("ssl/certs"), t.s.path("ssl/certs.real")).unwrap();
        std::os::unix::fs::symlink(t.real("rootonly"), t.s.path("ssl/certs")).unwrap();
        let before = tree(t.s.dir.path());
        let run = run_sh(&t.s, shell, t.new.as_bytes(), None, &[]);
        assert_refused(&run, &["ssl/certs is a symbolic link"], shell);
        assert_same(&before, &tree(t.s.dir.path()), shell);
    }
}

/// Writes a test double for `cmd` into a new directory: it runs the real `cmd` with its
/// arguments, with `before` (sh) run first and `after` run when the real one succeeded.
fn hook(cmd: &str, before: &str, after: &str) -> tempfile::TempDir {
    let real = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{cmd} on PATH"));
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "#!/bin/sh\n{before}\n{real} \"$@\" || exit\n{after}\n",
        real = common_quote(&real.to_string_lossy())
    );
    let path = dir.path().join(cmd);
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A root-only directory outside the ssldir holding an empty directory and, beside it, an
/// empty `.clusterca-bundle`: what a redirected clean-up would remove.
fn decoy(t: &Setup) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = t.s.path("decoy");
    std::fs::create_dir_all(d.join("empty")).unwrap();
    std::fs::create_dir_all(d.join(".clusterca-bundle")).unwrap();
    for p in [d.clone(), d.join("empty"), d.join(".clusterca-bundle")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    d
}

#[test]
fn a_private_directory_swapped_for_a_symlink_is_left_alone_and_nothing_outside_removed() {
    if !shells_installed() {
        return;
    }
    // Right after the bundle makes its private directory in certs/, the directory's owner
    // moves it away and puts a symlink to an empty root-only directory in its place.
    let swap = hook(
        "mkdir",
        "",
        r#"case " $* " in *" .clusterca-bundle "*)
  if [ "$(basename "$(pwd -P)")" = certs ] && [ ! -e "$HOOK_DONE" ]; then
    : >"$HOOK_DONE"; mv .clusterca-bundle .clusterca-bundle.moved && ln -s "$HOOK_OUTSIDE" .clusterca-bundle
  fi ;;
esac"#,
    );
    for shell in SHELLS {
        let t = Setup::new();
        let decoy = decoy(&t);
        let env = vec![
            ("HOOK_OUTSIDE", decoy.join("empty").display().to_string()),
            ("HOOK_DONE", t.s.path("hook.done").display().to_string()),
        ];
        let before = tree(&decoy);
        let run = run_sh(&t.s, shell, t.new.as_bytes(), Some(swap.path()), &env);
        assert_refused(&run, &["symbolic link"], shell);
        assert_same(&before, &tree(&decoy), shell);
        assert!(decoy.join(".clusterca-bundle").is_dir(), "{shell}: removed");
        t.assert_old(shell);
    }
}

#[test]
fn a_target_swapped_for_a_fifo_or_symlink_while_it_is_looked_at_is_refused() {
    if !shells_installed() {
        return;
    }
    // Just before the bundle takes its second name for the installed certificate, the owner
    // of certs/ puts a FIFO (which would hang a reader) or a symlink to a root-only file in
    // its place.
    let swap = hook(
        "ln",
        r#"case " $* " in *" ../web1.example.net.pem probe "*)
  if [ "$(basename "$(cd .. && pwd -P)")" = certs ]; then
    rm -f ../web1.example.net.pem
    case $HOOK_ACTION in
      fifo) mkfifo ../web1.example.net.pem ;;
      link) ln -s "$HOOK_OUTSIDE" ../web1.example.net.pem ;;
    esac
  fi ;;
esac"#,
        "",
    );
    for shell in SHELLS {
        for action in ["fifo", "link"] {
            let t = Setup::new();
            std::fs::write(t.s.path("secret"), "root only\n").unwrap();
            let env = vec![
                ("HOOK_ACTION", action.to_owned()),
                ("HOOK_OUTSIDE", t.real("secret").display().to_string()),
            ];
            let context = format!("{shell}, {action}");
            // Under a deadline: a reader opening the FIFO would wait for ever.
            let timed = format!("timeout 60 {shell}");
            let run = run_sh(&t.s, &timed, t.new.as_bytes(), Some(swap.path()), &env);
            assert_refused(
                &run,
                &["web1.example.net.pem", "other than a regular file"],
                &context,
            );
            assert_eq!(t.s.read("secret"), "root only\n");
            // (Names only: what the owner put there, a FIFO, must not be read here either.)
            for d in ["ssl", "ssl/certs", "ssl/private_keys"] {
                let left: Vec<String> = common::names_in(&t.s.path(d))
                    .into_iter()
                    .filter(|n| n.starts_with(".clusterca"))
                    .collect();
                assert!(left.is_empty(), "{context}: {d}: {left:?}");
            }
        }
    }
}
