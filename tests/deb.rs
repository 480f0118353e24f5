//! The Debian package: `cargo deb` (cargo-deb, from `[package.metadata.deb]`) makes a .deb
//! of the binary this test run built, with the man pages, the completions, the systemd unit
//! and its defaults file; `dpkg-deb` lists it; where the test runs as root, `dpkg -i` installs
//! it, the installed `clusterca --version`, `man clusterca-issue` and `clusterca completions`
//! work from the installed files, `systemd-analyze verify` accepts the unit, and `dpkg
//! --purge` removes it again.

mod common;

use std::path::Path;
use std::process::Command;

fn cargo_deb_present() -> bool {
    let ok = Command::new("cargo")
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let required = std::env::var("CLUSTERCA_INTEROP").is_ok_and(|v| v == "require");
        assert!(
            !required,
            "cargo-deb is missing and CLUSTERCA_INTEROP=require: cargo install --locked cargo-deb"
        );
        eprintln!("skipping: cargo-deb not installed (cargo install --locked cargo-deb)");
    }
    ok
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_deb_holds_binary_manual_completions_and_unit_and_installs() {
    if !(cargo_deb_present()
        && common::have_program("dpkg-deb", "dpkg")
        && common::have_program("systemd-analyze", "systemd")
        && common::have_program("man", "man-db"))
    {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The binary of this run, where cargo-deb looks for a release build: in a target
    // directory of our own, so the package is made without building again.
    let target = tempfile::tempdir().unwrap();
    std::fs::create_dir(target.path().join("release")).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_clusterca"),
        target.path().join("release/clusterca"),
    )
    .unwrap();
    let deb = target.path().join("clusterca.deb");
    run(Command::new("cargo")
        .args(["deb", "--no-build", "--no-strip", "-p", "clusterca", "-o"])
        .arg(&deb)
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target.path()));

    let listing = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    for path in [
        "./usr/bin/clusterca",
        "./usr/share/man/man1/clusterca-issue.1",
        "./usr/share/man/man1/clusterca-serve.1",
        "./usr/share/bash-completion/completions/clusterca",
        "./usr/share/zsh/vendor-completions/_clusterca",
        "./usr/share/fish/vendor_completions.d/clusterca.fish",
        "./lib/systemd/system/clusterca-serve.service",
        "./etc/default/clusterca",
        "./usr/share/doc/clusterca/json.md",
    ] {
        assert!(
            listing.contains(path),
            "{path} not in the package:\n{listing}"
        );
    }
    let info = run(Command::new("dpkg-deb").arg("-I").arg(&deb));
    assert!(info.contains("Package: clusterca"), "{info}");
    assert!(
        info.contains("conffiles") || info.contains("/etc/default/clusterca"),
        "{info}"
    );

    // The unit, checked by systemd itself against the binary of this run.
    let unit_dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(root.join("packaging/clusterca-serve.service")).unwrap();
    for hardening in [
        "ProtectSystem=strict",
        "ReadWritePaths=",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.contains(hardening), "{hardening} not in the unit");
    }

    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping dpkg -i: not root");
        let local = unit.replace("/usr/bin/clusterca", env!("CARGO_BIN_EXE_clusterca"));
        let path = unit_dir.path().join("clusterca-serve.service");
        std::fs::write(&path, local).unwrap();
        verify_unit(&path);
        return;
    }
    run(Command::new("dpkg").arg("-i").arg(&deb));
    let installed = std::panic::catch_unwind(|| {
        let version = run(Command::new("/usr/bin/clusterca").arg("--version"));
        assert_eq!(
            version.trim(),
            format!("clusterca {}", env!("CARGO_PKG_VERSION"))
        );
        let page = run(Command::new("man")
            .arg("clusterca-issue")
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100"));
        assert!(
            page.contains("EXAMPLES") && page.contains("EXIT STATUS"),
            "{page}"
        );
        assert!(
            page.contains("clusterca issue puppet.example.net"),
            "{page}"
        );
        let bash =
            std::fs::read_to_string("/usr/share/bash-completion/completions/clusterca").unwrap();
        assert!(bash.contains("clusterca"));
        verify_unit(Path::new("/lib/systemd/system/clusterca-serve.service"));
        assert!(std::fs::read_to_string("/etc/default/clusterca")
            .unwrap()
            .contains("CLUSTERCA_SERVE_OPTS="));
    });
    run(Command::new("dpkg").args(["--purge", "clusterca"]));
    if let Err(e) = installed {
        std::panic::resume_unwind(e);
    }
    assert!(!Path::new("/usr/bin/clusterca").exists());
}

/// `systemd-analyze verify` of the unit: no error, and no complaint about it at all.
fn verify_unit(path: &Path) {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {err}");
    let about_it: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("clusterca-serve.service"))
        .collect();
    assert!(about_it.is_empty(), "systemd-analyze verify: {err}");
}
