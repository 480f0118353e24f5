//! The manual: `man/` is generated from the clap definitions by `cargo xtask man`, and this
//! fails when it is stale, so `--help` and the man pages never disagree; every page has the
//! sections a man page should and refers to no page that does not exist; `--help` and `help`
//! end in examples printed whole; `completions` writes scripts the shells accept.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use clusterca::{cli, man};

fn pages() -> Vec<(String, String)> {
    man::render_all(cli::command())
        .unwrap()
        .into_iter()
        .map(|(n, p)| (n, String::from_utf8(p).unwrap()))
        .collect()
}

#[test]
fn man_pages_are_fresh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = man::render_all(cli::command()).unwrap();
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
fn shipped_completions_are_fresh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        (clap_complete::Shell::Bash, "clusterca.bash"),
        (clap_complete::Shell::Zsh, "_clusterca"),
        (clap_complete::Shell::Fish, "clusterca.fish"),
    ] {
        let mut want = Vec::new();
        clap_complete::generate(shell, &mut cli::command(), "clusterca", &mut want);
        let on_disk = std::fs::read(root.join(file)).unwrap_or_default();
        assert!(
            on_disk == want,
            "completions/{file} is stale: run `cargo xtask man`"
        );
    }
}

#[test]
fn every_page_has_the_sections_of_a_man_page_and_no_dangling_reference() {
    let pages = pages();
    let names: BTreeSet<String> = pages
        .iter()
        .map(|(n, _)| n.trim_end_matches(".1").to_owned())
        .collect();
    assert!(names.contains("clusterca-help") && names.contains("clusterca-completions"));
    for (name, page) in &pages {
        let headings: Vec<&str> = page
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .map(|h| h.trim_matches('"'))
            .collect();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXAMPLES",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "SEE ALSO",
        ] {
            assert!(
                headings.contains(&section),
                "{name} has no {section}: {headings:?}"
            );
        }
        assert!(!headings.contains(&"EXTRA"), "{name}");
        // Every example is there, each as a line of its own (roff's `\-` is a plain hyphen).
        let sub = name
            .trim_end_matches(".1")
            .strip_prefix("clusterca-")
            .unwrap_or("");
        let examples = man::examples(sub);
        assert!(!examples.is_empty(), "{name} has no examples");
        let text = page.replace("\\-", "-").replace("\\e", "\\");
        for e in examples {
            assert!(text.lines().any(|l| l == e.line), "{name}: {}", e.line);
        }
        // References to clusterca pages, in any of the forms roff allows.
        let plain = text
            .replace("\\fB", "")
            .replace("\\fR", "")
            .replace("\\fI", "");
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("clusterca") {
            let tail = &rest[at..];
            let word: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if tail[word.len()..].starts_with("(1)") {
                assert!(
                    names.contains(&word),
                    "{name} refers to {word}(1), which does not exist"
                );
            }
            rest = &tail[word.len().max(1)..];
        }
    }
}

#[test]
fn cli_definition_is_consistent() {
    cli::command().debug_assert();
}

fn clusterca(args: &[&str], columns: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clusterca"))
        .args(args)
        .env("COLUMNS", columns)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn help_ends_in_examples_each_saying_what_it_does_and_never_wrapped() {
    for (args, sub) in [
        (vec!["issue", "--help"], "issue"),
        (
            vec!["--format", "json", "list", "--dir", "x", "--help"],
            "list",
        ),
        (vec!["help", "serve"], "serve"),
        (vec!["--help"], ""),
        (vec!["help"], ""),
        (vec!["help", "--help"], "help"),
        (vec!["clean", "--help"], "clean"),
    ] {
        // A narrow terminal: clap wraps its prose, the examples stay whole.
        let (code, out) = clusterca(&args, "40");
        assert_eq!(code, 0, "{args:?}: {out}");
        let examples = &out[out
            .find("Examples:\n")
            .unwrap_or_else(|| panic!("{args:?}: {out}"))..];
        for e in man::examples(sub) {
            assert!(
                examples.contains(&format!("  # {}\n  {}\n", e.what, e.line)),
                "{args:?}: {}\n{out}",
                e.line
            );
        }
    }
    // The short help points to the long one and has no examples.
    let (code, out) = clusterca(&["-h"], "100");
    assert_eq!(code, 0);
    assert!(
        !out.contains("Examples:") && out.contains("clusterca help COMMAND"),
        "{out}"
    );
    // An unknown command is bad input.
    let out = Command::new(env!("CARGO_BIN_EXE_clusterca"))
        .args(["help", "isue"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "clusterca: error: help: no command \"isue\" (`clusterca help` lists them)\n"
    );
}

#[test]
fn completions_are_scripts_the_shells_accept() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, out) = clusterca(&["completions", shell], "100");
        assert_eq!(code, 0, "{shell}");
        assert!(
            out.contains("clusterca") && out.contains("renew"),
            "{shell}: {out}"
        );
    }
    // bash loads it and completes a command and an option.
    let script = r#"source <(clusterca completions bash)
complete -p clusterca
COMP_WORDS=(clusterca ren); COMP_CWORD=1; COMP_LINE="clusterca ren"; COMP_POINT=${#COMP_LINE}
_clusterca clusterca ren clusterca; echo "words: ${COMPREPLY[*]}"
COMP_WORDS=(clusterca renew --exp); COMP_CWORD=2; COMP_LINE="clusterca renew --exp"; COMP_POINT=${#COMP_LINE}
_clusterca clusterca --exp renew; echo "options: ${COMPREPLY[*]}""#;
    let dir = std::path::Path::new(env!("CARGO_BIN_EXE_clusterca"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-c", script])
        .env("PATH", path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("-F _clusterca clusterca"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("words: renew"), "{text}");
    assert!(text.contains("options: --expiring-within"), "{text}");
    for (shell, package) in [("zsh", "zsh"), ("fish", "fish")] {
        if !common::have_program(shell, package) {
            continue;
        }
        let (_, script) = clusterca(&["completions", shell], "100");
        let file = std::env::temp_dir().join(format!(
            "clusterca-completion-{}.{shell}",
            std::process::id()
        ));
        std::fs::write(&file, script).unwrap();
        let ok = Command::new(shell)
            .arg("-n")
            .arg(&file)
            .status()
            .unwrap()
            .success();
        let _ = std::fs::remove_file(&file);
        assert!(ok, "{shell} -n refuses the script");
    }
}

#[test]
fn options_are_offered_only_where_they_act() {
    let cmd = cli::command();
    let has = |sub: &str, long: &str| {
        cmd.find_subcommand(sub)
            .unwrap()
            .get_arguments()
            .any(|a| a.get_long() == Some(long))
    };
    // Commands that never open the CA directory or take its lock do not offer them.
    for sub in ["audit", "probe", "completions", "help", "config"] {
        assert!(!has(sub, "dir"), "{sub} offers --dir");
        assert!(!has(sub, "lock-timeout"), "{sub} offers --lock-timeout");
    }
    for sub in [
        "show", "list", "verify", "init", "install", "bundle", "push",
    ] {
        assert!(has(sub, "dir"), "{sub} lacks --dir");
        assert!(!has(sub, "lock-timeout"), "{sub} offers --lock-timeout");
    }
    for sub in [
        "issue", "submit", "sign", "renew", "revoke", "clean", "crl", "check", "import", "serve",
    ] {
        assert!(has(sub, "dir") && has(sub, "lock-timeout"), "{sub}");
    }
    // And one given where it does not act is an error, not ignored.
    let (code, _) = clusterca(&["audit", ".", "--lock-timeout", "5s"], "100");
    assert_eq!(code, 2);
}

#[test]
fn help_into_a_closed_pipe_is_not_a_panic() {
    // The reading end is closed before clusterca writes (as `| head -1` does once it has its
    // line): every write is EPIPE.
    let mut child = Command::new(env!("CARGO_BIN_EXE_clusterca"))
        .args(["issue", "--help"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
