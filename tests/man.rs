//! `man/` is generated from the clap definitions by `cargo xtask man`; this fails when it is
//! stale, so `--help` and the man pages never disagree.

#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;
#[path = "../xtask/src/man.rs"]
mod man;

use clap::CommandFactory;

#[test]
fn man_pages_are_fresh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = man::render_all(cli::Cli::command()).unwrap();
    let mut expected: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    let mut present: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1"))
        .collect();
    present.sort();
    assert_eq!(
        present, expected,
        "man/ has other pages than the CLI: run `cargo xtask man`"
    );
    for (name, page) in pages {
        let on_disk = std::fs::read(root.join(&name)).unwrap();
        assert!(
            on_disk == page,
            "man/{name} is stale: run `cargo xtask man`"
        );
    }
}

#[test]
fn cli_definition_is_consistent() {
    cli::Cli::command().debug_assert();
}
