//! `clusterca revoke`, `clean` and `crl`.

use std::io::Write;

use clusterca_pki::{inspect, CertName, Ttl};
use clusterca_store::{CrlUpdate, Store};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{CleanArgs, CrlArgs, Format, Global, RevokeArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// `--format json` output of `revoke`, `clean` and `crl`.
#[derive(Serialize)]
struct Report {
    revoked: Vec<u64>,
    already_revoked: Vec<u64>,
    crl_number: u64,
    removed: Vec<String>,
}

fn names(args: &[String]) -> Result<Vec<CertName>, Failure> {
    Ok(args
        .iter()
        .map(|n| n.parse())
        .collect::<Result<Vec<CertName>, _>>()?)
}

fn report(g: &Global, verb: &str, u: CrlUpdate) -> Result<Outcome, Failure> {
    let r = Report {
        revoked: u.revoked,
        already_revoked: u.already,
        crl_number: u.crl_number,
        removed: u.removed,
    };
    if g.format == Format::Json {
        output::json(&r)?;
        return Ok(Outcome::Clean);
    }
    let mut out = std::io::stdout().lock();
    for s in &r.revoked {
        writeln!(out, "{verb}: revoked serial 0x{s:04X}")?;
    }
    for s in &r.already_revoked {
        writeln!(out, "{verb}: serial 0x{s:04X} was already revoked")?;
    }
    for p in &r.removed {
        writeln!(out, "{verb}: removed {}", sanitize(p))?;
    }
    writeln!(
        out,
        "{verb}: CRL number {} written to {}",
        r.crl_number,
        sanitize(
            &g.dir
                .join(clusterca_store::layout::CA_CRL)
                .display()
                .to_string()
        )
    )?;
    Ok(Outcome::Clean)
}

pub fn revoke(g: &Global, args: &RevokeArgs) -> Result<Outcome, Failure> {
    let names = names(&args.names)?;
    let mut serials = args
        .serials
        .iter()
        .map(|s| super::parse_hex_serial("--serial", s))
        .collect::<Result<Vec<_>, _>>()?;
    let next_update: Ttl = args.crl.next_update.parse()?;
    let timeout = super::parse_timeout(&g.lock_timeout)?;
    let store = Store::open(&g.dir)?;
    let ca = store.load_ca()?;
    for name in &names {
        serials.push(store.signed_serial(name)?);
    }
    let update = store.signer(timeout).and_then(|mut signer| {
        if !args.force {
            signer.require_issued(&serials)?;
        }
        signer.revoke_serials(&ca, &serials, next_update, OffsetDateTime::now_utc())
    });
    super::print_notes(&store);
    report(g, "revoke", update?)
}

pub fn clean(g: &Global, args: &CleanArgs) -> Result<Outcome, Failure> {
    let names = names(&args.names)?;
    let next_update: Ttl = args.crl.next_update.parse()?;
    let timeout = super::parse_timeout(&g.lock_timeout)?;
    let store = Store::open(&g.dir)?;
    let ca = store.load_ca()?;
    store.serials_to_clean(&names)?;
    let update = store
        .signer(timeout)
        .and_then(|mut s| s.clean(&ca, &names, next_update, OffsetDateTime::now_utc()));
    super::print_notes(&store);
    report(g, "clean", update?)
}

pub fn crl(g: &Global, args: &CrlArgs) -> Result<Outcome, Failure> {
    let next_update: Ttl = args.crl.next_update.parse()?;
    let store = Store::open(&g.dir)?;
    if args.show {
        let path = store.shown(clusterca_store::layout::CA_CRL);
        let bytes = store.read_crl()?;
        let objects = inspect::parse(&bytes, OffsetDateTime::now_utc())
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        if g.format == Format::Json {
            output::json(&objects)?;
            return Ok(Outcome::Clean);
        }
        let mut out = std::io::stdout().lock();
        for (i, o) in objects.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            super::show::render(&mut out, o)?;
        }
        return Ok(Outcome::Clean);
    }
    let timeout = super::parse_timeout(&g.lock_timeout)?;
    let ca = store.load_ca()?;
    let update = store
        .signer(timeout)
        .and_then(|mut s| s.revoke_serials(&ca, &[], next_update, OffsetDateTime::now_utc()));
    super::print_notes(&store);
    report(g, "crl", update?)
}
