//! `clusterca import`: adopt a Puppet Server cadir in place, or copy a CA from OpenSSL into a
//! new one. Either way, `check` runs afterwards and its findings are part of the report.

use std::io::Write;

use clusterca_pki::{Finding, Serial, Severity, Timestamp};
use clusterca_store::{Adopted, ImportFiles, Input, Store};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Global, ImportArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// Puppet Server reads `serial` as a signed 32-bit number.
const PUPPET_MAX_SERIAL: u64 = 0x7FFF_FFFF;

/// `--format json` output of `import`.
#[derive(Serialize)]
struct Report {
    dir: String,
    /// `adopted` (in place) or `created` (from --cert/--key).
    action: &'static str,
    subject: String,
    key: String,
    chain_length: usize,
    crl_count: usize,
    not_after: Timestamp,
    fingerprint: String,
    next_serial: Serial,
    signed: usize,
    revoked: usize,
    requests: usize,
    findings: Vec<Finding>,
}

pub fn run(g: &Global, args: &ImportArgs) -> Result<Outcome, Failure> {
    let now = OffsetDateTime::now_utc();
    let (store, adopted, action) = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let next_serial = match &args.next_serial {
                Some(text) => {
                    let n = super::parse_hex_serial("--next-serial", text)?;
                    if !(1..=PUPPET_MAX_SERIAL).contains(&n) {
                        return Err(Failure::input(format!(
                            "invalid --next-serial {text:?}: must be 1 to 0x7FFFFFFF (Puppet Server reads serials as 32-bit numbers)"
                        )));
                    }
                    Some(n)
                }
                None => None,
            };
            let cert_bytes = super::read_input(cert)?;
            let key_bytes = super::read_input(key)?;
            let crl_bytes = args.crl.as_deref().map(super::read_input).transpose()?;
            let files = ImportFiles {
                cert: Input {
                    path: cert,
                    bytes: &cert_bytes,
                },
                key: Input {
                    path: key,
                    bytes: &key_bytes,
                },
                crl: args
                    .crl
                    .as_deref()
                    .zip(crl_bytes.as_deref())
                    .map(|(path, bytes)| Input { path, bytes }),
            };
            let (store, adopted) =
                Store::import(&g.dir, files, next_serial, super::init::puppet_owner(), now)?;
            (store, adopted, "created")
        }
        _ => {
            let store = Store::open(&g.dir)?;
            let adopted = store.adopt(g.lock_timeout, now)?;
            (store, adopted, "adopted")
        }
    };
    let findings = store.check(now)?;
    let outcome = if findings.iter().any(|f| f.severity > Severity::Info) {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    let report = report(g, action, &adopted, findings);
    output::emit(g.format, &report)?;
    Ok(outcome)
}

impl output::Report for Report {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let report = self;
        writeln!(
            out,
            "{} CA {} in {}",
            report.action,
            sanitize(&report.subject),
            sanitize(&report.dir)
        )?;
        writeln!(out, "  key          {}", report.key)?;
        writeln!(
            out,
            "  bundle       {}; {}",
            if report.chain_length == 1 {
                "1 certificate".to_owned()
            } else {
                format!("{} certificates, issuing CA first", report.chain_length)
            },
            crate::output::count(report.crl_count, "CRL", "CRLs")
        )?;
        writeln!(out, "  valid until  {}", report.not_after)?;
        writeln!(out, "  fingerprint  (SHA256) {}", report.fingerprint)?;
        writeln!(out, "  next serial  {}", report.next_serial)?;
        writeln!(
            out,
            "  certnames    {} signed, {} revoked, {} requested",
            report.signed, report.revoked, report.requests
        )?;
        output::findings(out, "  ", &report.findings)?;
        let clean = report.findings.iter().all(|f| f.severity <= Severity::Info);
        writeln!(
            out,
            "  check        {}",
            if clean {
                "clean"
            } else {
                "problems found (see above; `clusterca check --repair` fixes what is safe to fix)"
            }
        )
    }
}

fn report(g: &Global, action: &'static str, a: &Adopted, findings: Vec<Finding>) -> Report {
    let (_, not_after) = a.ca.validity();
    Report {
        dir: g.dir.display().to_string(),
        action,
        subject: a.ca.subject().to_owned(),
        key: a.key_algorithm.clone(),
        chain_length: a.chain_length,
        crl_count: a.crl_count,
        not_after: not_after.into(),
        fingerprint: clusterca_pki::fingerprint_sha256(a.ca.cert_der()),
        next_serial: a.next_serial.into(),
        signed: a.signed,
        revoked: a.revoked,
        requests: a.requests,
        findings,
    }
}
