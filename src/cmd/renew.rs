//! `clusterca renew`: certificates (or the CA certificate) signed again, same key.

use std::io::Write;

use clusterca_pki::{CertName, KeyType, Serial, Timestamp, Ttl};
use clusterca_store::{Authority, RenewJob};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Global, RenewArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// `--format json` output of `renew`: one object per certificate.
#[derive(Serialize)]
struct Renewed {
    name: String,
    serial_number: Serial,
    old_serial_number: Serial,
    not_after: Timestamp,
    fingerprint: String,
    rekeyed: bool,
    /// Serials revoked as superseded (empty without --supersede).
    superseded: Vec<Serial>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

/// What `renew` reports: one object per certificate renewed (JSON: their array).
#[derive(Serialize)]
#[serde(transparent)]
struct RenewReport(Vec<Renewed>);

impl output::Report for RenewReport {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let report = &self.0;
        if report.is_empty() {
            return writeln!(out, "No certificates to renew");
        }
        for r in report.iter().filter(|_| output::items()) {
            writeln!(
                out,
                "renewed {} serial {} (was {}{}) valid until {}{}{}",
                sanitize(&r.name),
                r.serial_number,
                r.old_serial_number,
                if r.superseded.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; revoked as superseded: {}",
                        r.superseded
                            .iter()
                            .map(Serial::hex)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                r.not_after,
                r.certificate
                    .as_deref()
                    .map(|p| format!("  {}", sanitize(p)))
                    .unwrap_or_default(),
                r.key
                    .as_deref()
                    .map(|p| format!("  new key {}", sanitize(p)))
                    .unwrap_or_default(),
            )?;
        }
        if report.len() > 1 || !output::items() {
            writeln!(
                out,
                "{} {}",
                output::paint("renewed", "signed"),
                output::count(report.len(), "certificate", "certificates")
            )?;
        }
        Ok(())
    }
}

/// `--format json` output of `renew --ca`.
#[derive(Serialize)]
struct CaRenewedReport {
    ca_certificate: String,
    serial_number: Serial,
    old_serial_number: Serial,
    not_after: Timestamp,
    /// Decimal, as a string (CRL numbers may exceed 64 bits: docs/json.md).
    crl_number: String,
}

impl output::Report for CaRenewedReport {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "renewed the CA certificate: serial {} (was {}) valid until {}, first in {}; the old one stays after it; CRL number {} signed\nRestart `clusterca serve`; agents get the new certificate when they download the CA certificate again.",
            self.serial_number,
            self.old_serial_number,
            self.not_after,
            sanitize(&self.ca_certificate),
            self.crl_number
        )
    }
}

pub fn run(g: &Global, args: &RenewArgs) -> Result<Outcome, Failure> {
    let timeout = g.lock_timeout;
    let ttl: Option<Ttl> = args.ttl;
    let crl_lifetime: Ttl = args.crl.next_update;
    let within: Option<Ttl> = args.expiring_within;
    let key_type: Option<KeyType> = args.key_type;
    let names: Vec<CertName> = args.names.clone();
    let auth = Authority::open(&g.dir, timeout)?.crl_lifetime(crl_lifetime);
    let out = args.out.as_deref().map(super::open_out).transpose()?;
    let now = OffsetDateTime::now_utc();
    if args.ca {
        return renew_ca(g, &auth, ttl.unwrap_or(Ttl::CA_DEFAULT), now);
    }
    super::check_within_ca(
        &auth,
        ttl.unwrap_or(Ttl::LEAF_DEFAULT),
        args.ca_end.allow_beyond_ca,
        now,
    )?;
    let names = if args.all || within.is_some() {
        auth.renewable(within, now)?
    } else {
        names
    };
    if names.is_empty() {
        output::emit(g.format, &RenewReport(Vec::new()))?;
        return Ok(Outcome::Clean);
    }
    let job = RenewJob {
        names,
        ttl: ttl.unwrap_or(Ttl::LEAF_DEFAULT),
        rekey: args.rekey.then_some(key_type),
        out: out.as_ref(),
        supersede: args.supersede,
        crl_lifetime,
        presented: None,
    };
    let done = auth.renew(job, now);
    super::print_notes(auth.store());
    let done = done?;
    let report: Vec<Renewed> = done
        .renewed
        .iter()
        .map(|r| Renewed {
            name: r.cert.name.to_string(),
            serial_number: r.cert.serial.into(),
            old_serial_number: r.old_serial.into(),
            not_after: r.cert.not_after.into(),
            fingerprint: clusterca_pki::fingerprint_sha256(&r.cert.der),
            rekeyed: r.key_path.is_some(),
            superseded: if matches!(done.superseded, Some(Ok(_))) {
                r.superseded.iter().copied().map(Serial::new).collect()
            } else {
                Vec::new()
            },
            certificate: r.cert_path.as_ref().map(|p| p.display().to_string()),
            key: r.key_path.as_ref().map(|p| p.display().to_string()),
        })
        .collect();
    output::emit(g.format, &RenewReport(report))?;
    match done.superseded {
        Some(Err(e)) => {
            let serials: Vec<String> = done
                .renewed
                .iter()
                .flat_map(|r| &r.superseded)
                .map(|&s| format!("--serial {}", Serial::new(s)))
                .collect();
            let mut failure = Failure::from(e);
            failure.message = format!(
                "renewed, but the old certificates were not revoked ({}); run `clusterca revoke --reason superseded {}`",
                failure.message,
                serials.join(" ")
            );
            Err(failure)
        }
        _ => Ok(Outcome::Clean),
    }
}

fn renew_ca(
    g: &Global,
    auth: &Authority,
    ttl: Ttl,
    now: OffsetDateTime,
) -> Result<Outcome, Failure> {
    let done = auth.renew_ca(ttl, now);
    super::print_notes(auth.store());
    let done = done?;
    let bundle = auth
        .store()
        .shown(clusterca_store::layout::CA_CRT)
        .display()
        .to_string();
    let report = CaRenewedReport {
        ca_certificate: bundle,
        serial_number: done.serial.into(),
        old_serial_number: done.old_serial,
        not_after: done.not_after.into(),
        crl_number: done.crl.crl_number.to_string(),
    };
    output::emit(g.format, &report)?;
    Ok(Outcome::Clean)
}
