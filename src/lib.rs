//! clusterca as a library: the command line ([`cli`]), the commands ([`cmd`]), their output
//! ([`output`]) and the manual ([`man`]). The `clusterca` binary is [`main`]; `cargo xtask` and
//! the tests build the man pages and completions from the same definitions. Exit codes live
//! in [`main`] and nowhere else (DESIGN.md, "Errors and exit codes").
#![forbid(unsafe_code)]

pub mod cli;
pub mod cmd;
pub mod config;
pub mod man;
pub mod output;

use std::process::ExitCode;

/// What a command that ran to the end found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report: exit 0.
    Clean,
    /// The command ran and found problems (`check`, `audit`, `probe`, `verify`): exit 1.
    Findings,
}

/// Why a command failed, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad usage or bad input: malformed PEM, invalid certname, refused request. Exit 2.
    Input,
    /// The CA store is busy (lock timeout) or held by another signer. Exit 3.
    Busy,
    /// An I/O or system error. Exit 4.
    System,
    /// stdout was closed under us (`clusterca list | head`): not an error. Exit 0.
    BrokenPipe,
}

/// A failed command: its kind and a one-line message naming the input and the problem.
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl Failure {
    pub fn input(message: impl Into<String>) -> Self {
        Failure {
            kind: Kind::Input,
            message: message.into(),
        }
    }
}

/// Parses the command line, runs one command and maps its result to an exit code.
pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let config = match config::load() {
        Ok(c) => c,
        Err(f) => {
            let code = exit_code(f.kind);
            if asks_for_json(&args) {
                report_error(&f.message, f.kind, code);
            } else {
                eprintln!("clusterca: error: {}", output::one_line(&f.message));
            }
            return ExitCode::from(code);
        }
    };
    let cli = match cli::parse_with(&args, &config.config) {
        Ok(cli) => cli,
        // A value the option's parser refused: bad input, said in one line like every other
        // (the option, then the parser's sentence, which quotes the value escaped and short).
        Err(e) if e.kind() == clap::error::ErrorKind::ValueValidation => {
            use clap::error::{ContextKind, ContextValue};
            let arg = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(a)) => a.clone(),
                _ => "a value".to_owned(),
            };
            let why = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_else(|| "invalid value".to_owned());
            let message = format!("{arg}: {why}");
            if asks_for_json(&args) {
                report_error(&message, Kind::Input, 2);
            } else {
                eprintln!("clusterca: error: {}", output::one_line(&message));
            }
            return ExitCode::from(2);
        }
        Err(e) if e.use_stderr() && asks_for_json(&args) => {
            // The usage error as JSON: clap's text on one line, without its `error: ` prefix
            // and its closing pointer to --help.
            let text = e.render().to_string();
            let said: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
                .collect();
            let said = said.join(" ");
            report_error(
                said.strip_prefix("error: ").unwrap_or(&said),
                Kind::Input,
                2,
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            let _ = e.print();
            if e.kind() == clap::error::ErrorKind::DisplayHelp {
                if let Some(examples) = cli::examples_after_help(&args) {
                    // `clusterca issue --help | head`: a closed pipe is not an error.
                    use std::io::Write;
                    let _ = write!(std::io::stdout().lock(), "\n{examples}");
                }
            }
            // --help and --version are not errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let json = cli.global.format == cli::Format::Json;
    output::set_quiet(cli.global.quiet);
    output::show_store_progress();
    let result = cmd::run(cli);
    output::clear_store_progress();
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(f) => {
            if f.kind == Kind::BrokenPipe {
                return ExitCode::SUCCESS;
            }
            let code = exit_code(f.kind);
            if json {
                report_error(&f.message, f.kind, code);
            } else {
                eprintln!("clusterca: error: {}", output::one_line(&f.message));
            }
            ExitCode::from(code)
        }
    }
}

/// The exit code of a failure of `kind` (DESIGN.md, "Errors and exit codes").
fn exit_code(kind: Kind) -> u8 {
    match kind {
        Kind::BrokenPipe => 0,
        Kind::Input => 2,
        Kind::Busy => 3,
        Kind::System => 4,
    }
}

/// True when the command line asks for `--format json` (`--format json`, `--format=json`),
/// so that even a usage error clap found is reported as JSON.
fn asks_for_json(args: &[std::ffi::OsString]) -> bool {
    // The last --format given wins, as clap takes it.
    let mut json = false;
    for (i, a) in args.iter().enumerate() {
        if a == "--format" {
            json = args.get(i + 1).is_some_and(|v| v == "json");
        } else if let Some(v) = a.to_str().and_then(|a| a.strip_prefix("--format=")) {
            json = v == "json";
        }
    }
    json
}

/// Writes a failure as one JSON line on stderr (docs/json.md, "Errors").
fn report_error(message: &str, kind: Kind, exit_code: u8) {
    let e = output::ErrorReport {
        version: output::JSON_VERSION,
        error: output::ErrorBody {
            kind: match kind {
                Kind::Input => "input",
                Kind::Busy => "busy",
                _ => "system",
            },
            exit_code,
            message,
        },
    };
    let text = serde_json::to_string(&e).unwrap_or_default();
    eprintln!("{}", clusterca_pki::json_escape_bidi(text));
}
