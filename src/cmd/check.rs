//! `clusterca check [--repair]`: consistency of the CA directory.

use std::io::Write;

use clusterca_pki::{Finding, Severity};
use clusterca_store::Store;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{CheckArgs, Global};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// What `check` reports.
#[derive(Serialize)]
struct Report {
    findings: Vec<Finding>,
    repaired: Vec<String>,
}

impl output::Report for Report {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for r in &self.repaired {
            writeln!(out, "repaired: {}", sanitize(r))?;
        }
        if output::items() {
            output::findings(out, "", &self.findings)?;
        }
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        writeln!(
            out,
            "{}: {}, {}, {}",
            if count(Severity::Error) + count(Severity::Warning) == 0 {
                output::paint("clean", "clean")
            } else {
                output::paint("problems found", "error")
            },
            output::count(count(Severity::Error), "error", "errors"),
            output::count(count(Severity::Warning), "warning", "warnings"),
            output::count(count(Severity::Info), "note", "notes")
        )
    }
}

pub fn run(g: &Global, args: &CheckArgs) -> Result<Outcome, Failure> {
    let store = Store::open(&g.dir)?;
    // --repair checks again under the lock it repaired under; a plain check takes none.
    let now = OffsetDateTime::now_utc();
    let warn = time::Duration::days(i64::from(args.warn_days));
    let (repaired, findings) = if args.repair {
        store.repair_lifecycle(g.lock_timeout, now, Some(warn))?
    } else {
        (Vec::new(), store.check_lifecycle(now, warn)?)
    };
    let outcome = if findings.iter().any(|f| f.severity > Severity::Info) {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    output::emit(g.format, &Report { findings, repaired })?;
    Ok(outcome)
}
