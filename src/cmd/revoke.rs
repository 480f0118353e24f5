//! `clusterca revoke`, `clean` and `crl`.

use std::io::Write;

use clusterca_pki::{inspect, Reason, Serial, Timestamp, Ttl};
use clusterca_store::{Authority, CrlUpdate, Store};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{CleanArgs, CrlArgs, CrlLifetime, Global, RevokeArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// `--format json` output of `revoke`, `clean` and `crl`.
#[derive(Serialize)]
struct Report {
    revoked: Vec<Serial>,
    already_revoked: Vec<Serial>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    /// Decimal, as a string (docs/json.md).
    crl_number: String,
    next_update: Timestamp,
    removed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pruned_expired: Option<Vec<Serial>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pruned_duplicates: Option<Vec<Serial>>,
    /// What the text lines start with: `revoke`, `clean`, `crl`, `prune`.
    #[serde(skip)]
    verb: String,
    /// ca_crl.pem, as the text names it.
    #[serde(skip)]
    crl_file: String,
}

impl output::Report for Report {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let (r, verb) = (self, &self.verb);
        for s in &r.revoked {
            match r.reason {
                Some(why) => writeln!(out, "{verb}: revoked serial {s} ({why})")?,
                None => writeln!(out, "{verb}: revoked serial {s}")?,
            }
        }
        for s in r.pruned_expired.iter().flatten() {
            writeln!(out, "{verb}: dropped serial {s} (expired)")?;
        }
        for s in r.pruned_duplicates.iter().flatten() {
            writeln!(out, "{verb}: dropped a repeated entry of serial {s}")?;
        }
        for s in &r.already_revoked {
            writeln!(out, "{verb}: serial {s} was already revoked")?;
        }
        for p in &r.removed {
            writeln!(out, "{verb}: removed {}", sanitize(p))?;
        }
        writeln!(
            out,
            "{verb}: CRL number {} (next update {}) written to {}",
            r.crl_number,
            r.next_update,
            sanitize(&r.crl_file)
        )
    }
}

pub(crate) fn report(
    g: &Global,
    verb: &str,
    u: CrlUpdate,
    reason: Option<Reason>,
) -> Result<Outcome, Failure> {
    let pruning = verb == "prune";
    let serials = |v: Vec<u64>| v.into_iter().map(Serial::new).collect::<Vec<_>>();
    let r = Report {
        revoked: serials(u.revoked),
        already_revoked: serials(u.already),
        reason: reason.filter(|_| verb == "revoke"),
        crl_number: u.crl_number.to_string(),
        next_update: u.next_update.into(),
        removed: u.removed,
        pruned_expired: pruning.then(|| serials(u.pruned_expired)),
        pruned_duplicates: pruning.then(|| serials(u.pruned_duplicates)),
        verb: verb.to_owned(),
        crl_file: g
            .dir
            .join(clusterca_store::layout::CA_CRL)
            .display()
            .to_string(),
    };
    output::emit(g.format, &r)?;
    Ok(Outcome::Clean)
}

fn authority(g: &Global, crl: &CrlLifetime) -> Result<Authority, Failure> {
    let next_update: Ttl = crl.next_update;
    let timeout = g.lock_timeout;
    Ok(Authority::open(&g.dir, timeout)?.crl_lifetime(next_update))
}

pub fn revoke(g: &Global, args: &RevokeArgs) -> Result<Outcome, Failure> {
    let names = &args.names;
    let serials = args
        .serials
        .iter()
        .map(|s| super::parse_hex_serial("--serial", s))
        .collect::<Result<Vec<_>, _>>()?;
    let reason: Reason = args.reason.parse()?;
    let auth = authority(g, &args.crl)?;
    let update = auth.revoke(
        names,
        &serials,
        reason,
        args.force,
        OffsetDateTime::now_utc(),
    );
    super::print_notes(auth.store());
    report(g, "revoke", update?, Some(reason))
}

pub fn clean(g: &Global, args: &CleanArgs) -> Result<Outcome, Failure> {
    let names = &args.names;
    let auth = authority(g, &args.crl)?;
    let update = auth.clean(names, OffsetDateTime::now_utc());
    super::print_notes(auth.store());
    report(g, "clean", update?, None)
}

pub fn crl(g: &Global, args: &CrlArgs) -> Result<Outcome, Failure> {
    if args.show {
        let store = Store::open(&g.dir)?;
        let path = store.shown(clusterca_store::layout::CA_CRL);
        let bytes = store.read_crl()?;
        let objects = inspect::parse(&bytes, OffsetDateTime::now_utc())
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        output::emit(g.format, &super::show::Objects(objects))?;
        return Ok(Outcome::Clean);
    }
    let auth = authority(g, &args.crl)?;
    let now = OffsetDateTime::now_utc();
    let (verb, update) = if args.prune {
        ("prune", auth.prune_crl(now))
    } else {
        ("crl", auth.refresh_crl(now))
    };
    super::print_notes(auth.store());
    report(g, verb, update?, None)
}
