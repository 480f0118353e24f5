//! `clusterca list`: certnames with state, serial, expiry and alt names.

use std::io::Write;

use clusterca_store::{CertState, Store};
use time::OffsetDateTime;

use crate::cli::{Format, Global, ListArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

pub fn run(g: &Global, args: &ListArgs) -> Result<Outcome, Failure> {
    let store = Store::open(&g.dir)?;
    let statuses: Vec<_> = store
        .statuses(OffsetDateTime::now_utc())?
        .into_iter()
        .filter(|s| args.all || s.state == CertState::Requested)
        .collect();
    if g.format == Format::Json {
        output::json(&statuses)?;
        return Ok(Outcome::Clean);
    }
    let mut out = std::io::stdout().lock();
    if statuses.is_empty() {
        let what = if args.all {
            "certificates"
        } else {
            "pending requests (try --all)"
        };
        writeln!(out, "No {what} to list")?;
        return Ok(Outcome::Clean);
    }
    let width = statuses
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:<width$}  {:<9}  {:>6}  {:<22}  ALT NAMES",
        "NAME", "STATE", "SERIAL", "NOT AFTER"
    )?;
    for s in &statuses {
        let state = match s.state {
            CertState::Requested => "requested",
            CertState::Signed => "signed",
            CertState::Revoked => "revoked",
        };
        writeln!(
            out,
            "{:<width$}  {:<9}  {:>6}  {:<22}  {}",
            sanitize(&s.name),
            state,
            s.serial_number
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            s.not_after.as_deref().unwrap_or("-"),
            sanitize(&s.subject_alt_names.join(", "))
        )?;
    }
    Ok(Outcome::Clean)
}
