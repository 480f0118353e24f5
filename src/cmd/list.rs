//! `clusterca list`: certnames with state, serial, expiry, time left and alt names.

use std::io::Write;

use clusterca_pki::{Serial, Timestamp, Ttl};
use clusterca_store::{CertState, CertStatus, EmptyObject, Fingerprints, Store};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Format, Global, ListArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// Time left as people read it: `4y 364d`, `29d`, `5h 3m`, `expired`.
pub fn time_left(secs: i64) -> String {
    const DAY: i64 = 86_400;
    match secs {
        s if s <= 0 => "expired".to_owned(),
        s if s >= 365 * DAY => format!("{}y {}d", s / (365 * DAY), s % (365 * DAY) / DAY),
        s if s >= 2 * DAY => format!("{}d", s / DAY),
        s => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
    }
}

/// `--format json` output of `list`: Puppet Server's `certificate_status` fields, with the
/// serial and times in clusterca's forms (docs/json.md), plus `seconds_left`.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    state: CertState,
    dns_alt_names: &'a [String],
    subject_alt_names: &'a [String],
    authorization_extensions: EmptyObject,
    fingerprint: &'a str,
    fingerprints: &'a Fingerprints,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_number: Option<Serial>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_before: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_after: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds_left: Option<i64>,
}

impl<'a> From<&'a CertStatus> for Listed<'a> {
    fn from(s: &'a CertStatus) -> Self {
        Listed {
            name: &s.name,
            state: s.state,
            dns_alt_names: &s.dns_alt_names,
            subject_alt_names: &s.subject_alt_names,
            authorization_extensions: EmptyObject,
            fingerprint: &s.fingerprint,
            fingerprints: &s.fingerprints,
            serial_number: s.serial_number.map(Serial::new),
            not_before: s.not_before.map(Timestamp),
            not_after: s.not_after.map(Timestamp),
            seconds_left: s.seconds_left,
        }
    }
}

/// What `list` reports: the statuses (JSON: an array of [`Listed`], made as it is written).
struct ListReport<'a> {
    statuses: &'a [CertStatus],
    /// What there is none of, when there is none.
    nothing: String,
}

impl Serialize for ListReport<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.statuses.iter().map(Listed::from))
    }
}

impl output::Report for ListReport<'_> {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let statuses = self.statuses;
        if statuses.is_empty() {
            return writeln!(out, "No {} to list", self.nothing);
        }
        let width = statuses
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            out,
            "{:<width$}  {:<9}  {:>6}  {:<20}  {:<9}  ALT NAMES",
            "NAME", "STATE", "SERIAL", "NOT AFTER", "TIME LEFT"
        )?;
        // Lines made in parallel, in order, a chunk at a time: 100,000 of them are a tenth of
        // a second of one core.
        use rayon::prelude::*;
        use std::fmt::Write as _;
        let chunks: Vec<String> = statuses
            .par_chunks(2048)
            .map(|chunk| {
                let mut text = String::with_capacity(chunk.len() * 96);
                for s in chunk {
                    // Writing to a String cannot fail.
                    let _ = writeln!(
                        text,
                        "{:<width$}  {}  {:>6}  {:<20}  {:<9}  {}",
                        sanitize(&s.name),
                        output::paint(&format!("{:<9}", s.state.name()), s.state.name()),
                        s.serial_number
                            .map(|n| Serial::new(n).hex())
                            .unwrap_or_else(|| "-".into()),
                        s.not_after
                            .map(clusterca_pki::rfc3339)
                            .unwrap_or_else(|| "-".into()),
                        s.seconds_left.map(time_left).unwrap_or_else(|| "-".into()),
                        sanitize(&s.subject_alt_names.join(", "))
                    );
                }
                text
            })
            .collect();
        for chunk in chunks {
            out.write_all(chunk.as_bytes())?;
        }
        Ok(())
    }
}

pub fn run(g: &Global, args: &ListArgs) -> Result<Outcome, Failure> {
    let within: Option<Ttl> = args.expiring;
    let wanted: std::collections::BTreeSet<String> =
        args.names.iter().map(|n| n.as_str().to_owned()).collect();
    // Names given: every state of those names.
    let all = args.all || !wanted.is_empty();
    let store = Store::open(&g.dir)?;
    let now = OffsetDateTime::now_utc();
    let statuses: Vec<_> = match within {
        // What `renew --expiring-within` would renew: the expired ones included, the revoked
        // ones not.
        Some(w) => store.renewable(Some(w), now)?,
        // Fingerprints are in the JSON only.
        None if g.format == Format::Json => store
            .statuses(now)?
            .into_iter()
            .filter(|s| all || s.state == CertState::Requested)
            .collect(),
        None => store
            .statuses_brief(now)?
            .into_iter()
            .filter(|s| all || s.state == CertState::Requested)
            .collect(),
    };
    let (statuses, outcome) = if wanted.is_empty() {
        (statuses, Outcome::Clean)
    } else {
        let statuses: Vec<_> = statuses
            .into_iter()
            .filter(|s| wanted.contains(s.name.as_str()))
            .collect();
        let found: std::collections::BTreeSet<&str> =
            statuses.iter().map(|s| s.name.as_str()).collect();
        let missing: Vec<&str> = wanted
            .iter()
            .map(|w| w.as_str())
            .filter(|w| !found.contains(w))
            .collect();
        if missing.is_empty() {
            (statuses, Outcome::Clean)
        } else {
            eprintln!(
                "clusterca: no request or certificate for {}",
                sanitize(&missing.join(", "))
            );
            (statuses, Outcome::Findings)
        }
    };
    let nothing = match (&args.expiring, all) {
        (Some(w), _) => format!("certificates expiring within {w}"),
        (None, true) => "certificates".to_owned(),
        (None, false) => "pending requests (try --all)".to_owned(),
    };
    output::emit(
        g.format,
        &ListReport {
            statuses: &statuses,
            nothing,
        },
    )?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::time_left;

    #[test]
    fn time_left_reads_like_a_person_would_say_it() {
        assert_eq!(time_left(0), "expired");
        assert_eq!(time_left(-5), "expired");
        assert_eq!(time_left(90), "0h 1m");
        assert_eq!(time_left(3 * 86_400 + 5), "3d");
        assert_eq!(time_left(5 * 365 * 86_400 - 86_400), "4y 364d");
    }
}
