//! `clusterca submit` and `clusterca sign`: the CSR queue.

use std::io::Write;

use clusterca_pki::{CertName, CertRequest, Ttl};
use clusterca_store::{inventory, Authority};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Format, Global, SignArgs, SubmitArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// `--format json` output of `sign`: one object per certificate.
#[derive(Serialize)]
struct Signed {
    name: String,
    serial_number: u64,
    not_after: String,
    fingerprint: String,
    certificate: String,
}

pub fn submit(g: &Global, args: &SubmitArgs) -> Result<Outcome, Failure> {
    let bytes = super::read_input(&args.csr)?;
    let req = CertRequest::parse(&bytes)
        .map_err(|e| Failure::input(format!("{}: {e}", args.csr.display())))?;
    let name: CertName = match &args.name {
        Some(n) => n.parse()?,
        None => req
            .common_name
            .as_deref()
            .ok_or_else(|| {
                Failure::input(format!(
                    "{}: the request has no CN; pass --name",
                    args.csr.display()
                ))
            })?
            .parse()?,
    };
    let timeout = super::parse_timeout(&g.lock_timeout)?;
    let auth = Authority::open(&g.dir, timeout)?;
    let submitted = auth.submit(&name, &req);
    super::print_notes(auth.store());
    submitted?;
    let path = auth.store().request_shown(&name);
    if g.format == Format::Json {
        output::json(
            &serde_json::json!({ "name": name.as_str(), "request": path.display().to_string() }),
        )?;
    } else {
        writeln!(
            std::io::stdout(),
            "submitted {} as {}",
            sanitize(name.as_str()),
            sanitize(&path.display().to_string())
        )?;
    }
    Ok(Outcome::Clean)
}

pub fn sign(g: &Global, args: &SignArgs) -> Result<Outcome, Failure> {
    let ttl: Ttl = args.ttl.parse()?;
    let timeout = super::parse_timeout(&g.lock_timeout)?;
    let names = args
        .names
        .iter()
        .map(|n| n.parse())
        .collect::<Result<Vec<CertName>, _>>()?;
    let auth = Authority::open(&g.dir, timeout)?.allow_alt_names(args.allow_alt_names.clone());
    let store = auth.store();
    let now = OffsetDateTime::now_utc();
    let signed = if args.all {
        // Every request that passes is signed; each refused one is reported.
        auth.sign_all(ttl, now)
    } else {
        // The names given: all or nothing.
        auth.sign(&names, ttl, now).map(|c| (c, Vec::new()))
    };
    super::print_notes(store);
    let (issued, refused) = signed?;
    for (name, why) in &refused {
        eprintln!(
            "clusterca: refused {}: {}",
            sanitize(name.as_str()),
            sanitize(&why.to_string())
        );
    }
    let outcome = if refused.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    };
    let report: Vec<Signed> = issued
        .iter()
        .map(|c| Signed {
            name: c.name.to_string(),
            serial_number: c.serial,
            not_after: inventory::format_time(c.not_after),
            fingerprint: clusterca_pki::fingerprint_sha256(&c.der),
            certificate: store.signed_shown(&c.name).display().to_string(),
        })
        .collect();
    if g.format == Format::Json {
        output::json(&report)?;
        return Ok(outcome);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if report.is_empty() && refused.is_empty() {
        writeln!(out, "No requests to sign")?;
    }
    for r in &report {
        writeln!(
            out,
            "signed {} serial 0x{:04X} valid until {}  {}",
            sanitize(&r.name),
            r.serial_number,
            r.not_after,
            sanitize(&r.certificate)
        )?;
    }
    out.flush()?;
    Ok(outcome)
}
