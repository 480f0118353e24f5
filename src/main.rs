//! The `clusterca` binary: parses the command line, runs one command, maps its result to an
//! exit code. Exit codes live here and nowhere else (DESIGN.md, "Errors and exit codes").
#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod output;

use std::process::ExitCode;

use clap::Parser;

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

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cmd::run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(f) => {
            let code = match f.kind {
                Kind::BrokenPipe => return ExitCode::SUCCESS,
                Kind::Input => 2,
                Kind::Busy => 3,
                Kind::System => 4,
            };
            eprintln!("clusterca: error: {}", output::one_line(&f.message));
            ExitCode::from(code)
        }
    }
}
