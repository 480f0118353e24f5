//! Helpers for tests that drive the real `clusterca` binary in a temporary directory with a
//! scrubbed environment, and check its work with the real `openssl` CLI.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod net;
pub mod puppet;
pub mod serve;

/// A serial number as every JSON document writes it (docs/json.md).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serial {
    pub hex: String,
    pub decimal: String,
}

impl Serial {
    /// The serial `n`, as clusterca writes it.
    pub fn of(n: u64) -> Self {
        Serial {
            hex: format!("0x{n:04X}"),
            decimal: n.to_string(),
        }
    }
}

/// [`Serial::of`] as a JSON value, for comparing with parsed output.
pub fn serial_json(n: u64) -> serde_json::Value {
    serde_json::json!({"hex": format!("0x{n:04X}"), "decimal": n.to_string()})
}

/// True for a time as every report writes it: RFC 3339 in UTC, whole seconds
/// (`2031-11-28T22:51:55Z`).
pub fn is_rfc3339_utc(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// A scratch directory; `run` executes clusterca inside it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

/// What a finished command left behind.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// clusterca with `args`, in the scratch dir, with only PATH from the environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clusterca"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        finish(self.cmd(args).output().expect("run clusterca"))
    }

    /// `openssl req` for a new P-256 key (`key`) and a CSR (`csr`) for CN=`cn`, with extra
    /// `-addext` values: the one recipe every test that needs a CSR uses.
    pub fn ec_csr(&self, key: &str, csr: &str, cn: &str, exts: &[&str]) {
        let subj = format!("/CN={cn}");
        let mut args = vec![
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            &subj,
        ];
        for e in exts {
            args.extend(["-addext", e]);
        }
        self.openssl(&args).ok();
    }

    /// `openssl` with `args` in the scratch dir.
    pub fn openssl(&self, args: &[&str]) -> Run {
        finish(
            Command::new("openssl")
                .args(args)
                .current_dir(self.dir.path())
                .output()
                .expect("run openssl"),
        )
    }

    /// `openssl verify -CAfile ca/ca_crt.pem CHECK VALUE CERT`, e.g. `-verify_hostname x`.
    pub fn verify(&self, cert: &str, check: &str, value: &str) -> Run {
        self.openssl(&["verify", "-CAfile", "ca/ca_crt.pem", check, value, cert])
    }

    /// `openssl verify -crl_check -CRLfile ca/ca_crl.pem -CAfile ca/ca_crt.pem [EXTRA] CERT`.
    pub fn crl_verify(&self, cert: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "verify",
            "-crl_check",
            "-CRLfile",
            "ca/ca_crl.pem",
            "-CAfile",
            "ca/ca_crt.pem",
        ];
        args.extend_from_slice(extra);
        args.push(cert);
        self.openssl(&args)
    }

    /// Whether openssl finds `ca/ca_crl.pem` signed by `ca/ca_crt.pem` ("verify OK").
    pub fn crl_signed_by_ca(&self) -> bool {
        let v = self.openssl(&[
            "crl",
            "-in",
            "ca/ca_crl.pem",
            "-CAfile",
            "ca/ca_crt.pem",
            "-noout",
        ]);
        v.code == 0 && format!("{}{}", v.stdout, v.stderr).contains("verify OK")
    }

    /// Whether the CRL's authorityKeyIdentifier is the CA certificate's
    /// subjectKeyIdentifier, both as openssl prints them.
    pub fn crl_aki_is_ca_ski(&self) -> bool {
        let ski = self
            .openssl(&[
                "x509",
                "-in",
                "ca/ca_crt.pem",
                "-noout",
                "-ext",
                "subjectKeyIdentifier",
            ])
            .ok()
            .stdout;
        let ski = ski
            .lines()
            .nth(1)
            .expect("the CA has a subjectKeyIdentifier")
            .trim()
            .to_owned();
        let crl = self
            .openssl(&["crl", "-in", "ca/ca_crl.pem", "-noout", "-text"])
            .ok()
            .stdout;
        let aki = crl
            .lines()
            .skip_while(|l| !l.contains("Authority Key Identifier"))
            .nth(1)
            .unwrap_or_default()
            .trim()
            .trim_start_matches("keyid:");
        !ski.is_empty() && aki == ski
    }

    /// `openssl x509 -in CERT -noout -text`.
    pub fn x509_text(&self, cert: &str) -> String {
        self.openssl(&["x509", "-in", cert, "-noout", "-text"])
            .ok()
            .stdout
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn mode(&self, rel: &str) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(self.path(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    /// Every file under the scratch dir with its bytes and mode: compare two to prove that a
    /// command wrote nothing.
    /// Like [`Scratch::snapshot`], for the tree under `rel`, with paths relative to it.
    pub fn snapshot_of(&self, rel: &str) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
        let mut out = BTreeMap::new();
        walk(&self.path(rel), &self.path(rel), &mut out);
        out
    }

    /// Every file under the scratch dir with its bytes and mode: compare two to prove that a
    /// command wrote nothing.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
        let mut out = BTreeMap::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out
    }
}

/// Whether a `puppet` user and group exist here.
pub fn puppet_user_and_group() -> bool {
    nix::unistd::User::from_name("puppet")
        .ok()
        .flatten()
        .is_some()
        && nix::unistd::Group::from_name("puppet")
            .ok()
            .flatten()
            .is_some()
}

/// The names of the entries of `dir`.
pub fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Asserts two snapshots are equal, naming only the paths that differ.
#[track_caller]
pub fn assert_unchanged(
    before: &BTreeMap<PathBuf, (Vec<u8>, u32)>,
    after: &BTreeMap<PathBuf, (Vec<u8>, u32)>,
    context: &str,
) {
    let changed: Vec<_> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "{context}: changed {changed:?}");
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (Vec<u8>, u32)>) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let mode = meta.permissions().mode();
        if meta.is_dir() {
            out.insert(rel, (Vec::new(), mode));
            walk(root, &path, out);
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.insert(rel, (target.into_os_string().into_encoded_bytes(), mode));
        } else {
            out.insert(rel, (std::fs::read(&path).unwrap(), mode));
        }
    }
}

/// Copies `fixtures/puppetserver/<what>` (made by `puppetserver ca setup`, see
/// `fixtures/README.md`) to `<scratch>/<what>`, with the modes Puppet's CLI gave them (it
/// runs under `umask 027`: directories 0750, files 0640), which git does not keep.
pub fn copy_puppet_fixture(s: &Scratch, what: &str) {
    copy_puppet_fixture_to(s, what, what)
}

/// [`copy_puppet_fixture`] of `what` to `to` in the scratch dir.
pub fn copy_puppet_fixture_to(s: &Scratch, what: &str, to: &str) {
    fn copy(from: &Path, to: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(to).unwrap();
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o750)).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
            }
        }
    }
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/puppetserver")
        .join(what);
    copy(&from, &s.path(to));
}

/// Whether `program` is installed. When it is not: with `CLUSTERCA_INTEROP=require` the test
/// fails; otherwise it prints one line naming the package that enables it, and the caller
/// returns early.
pub fn have_program(program: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if !found {
        let required = std::env::var("CLUSTERCA_INTEROP").is_ok_and(|v| v == "require");
        assert!(
            !required,
            "{program} is missing and CLUSTERCA_INTEROP=require: apt-get install {package}"
        );
        eprintln!("skipping: {program} not installed (apt-get install {package})");
    }
    found
}

/// The mode clusterca gives a CA key it writes: 0640 when the files are handed to the puppet
/// group (run as root where a puppet user and group exist), else 0600.
pub fn ca_key_mode() -> u32 {
    let getent = |db: &str| {
        Command::new("getent")
            .args([db, "puppet"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if nix::unistd::geteuid().is_root() && getent("passwd") && getent("group") {
        0o640
    } else {
        0o600
    }
}
