//! Project chores: `cargo xtask man` regenerates `man/` and `completions/` (bash, zsh and
//! fish, which the Debian package installs); `cargo xtask completions [DIR]` writes only the
//! completions (default `completions/`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap_complete::Shell;
use clusterca::{cli, man};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn man() -> Result<()> {
    let dir = root().join("man");
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "1") {
            std::fs::remove_file(&path)?;
        }
    }
    for (name, page) in man::render_all(cli::command())? {
        std::fs::write(dir.join(&name), page).with_context(|| format!("writing {name}"))?;
        println!("man/{name}");
    }
    Ok(())
}

fn completions(dir: Option<String>) -> Result<()> {
    let dir = dir.map_or_else(|| root().join("completions"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path = clap_complete::generate_to(shell, &mut cli::command(), "clusterca", &dir)?;
        println!("{}", path.display());
    }
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("man") => {
            man()?;
            completions(None)
        }
        Some("completions") => completions(args.next()),
        _ => bail!("usage: cargo xtask man | cargo xtask completions [DIR]"),
    }
}
