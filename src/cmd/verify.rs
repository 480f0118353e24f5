//! `clusterca verify`: one certificate, checked as a TLS client would check it.

use std::io::Write;
use std::path::Path;

use clusterca_audit::VerifyOptions;
use clusterca_pki::{inspect, AltName};
use clusterca_store::{layout, Store};
use time::OffsetDateTime;

use crate::cli::{Global, VerifyArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

pub fn run(g: &Global, args: &VerifyArgs) -> Result<Outcome, Failure> {
    let names: Vec<AltName> = args.names.clone();
    let (shown, bytes) = if args.file.as_os_str() == "-" {
        ("-".to_owned(), super::read_input(Path::new("/dev/stdin"))?)
    } else {
        (
            args.file.display().to_string(),
            super::read_input(&args.file)?,
        )
    };
    let chain = inspect::certificates(&bytes)
        .map_err(|e| Failure::input(format!("{}: {e}", sanitize(&shown))))?;
    if chain.is_empty() {
        return Err(Failure::input(format!(
            "{}: no certificate in it",
            sanitize(&shown)
        )));
    }
    // The CA directory is opened only for what was not given as a file.
    let wants_store = args.ca.is_none() || args.crl.as_deref() == Some("");
    let store = wants_store.then(|| Store::open(&g.dir)).transpose()?;
    let ca = match (&args.ca, &store) {
        (Some(path), _) => super::audit::read_ca(Some(path))?,
        (None, Some(store)) => {
            let pem = store.read_ca_bundle()?;
            inspect::certificates(&pem).map_err(|e| {
                Failure::input(format!("{}: {e}", store.shown(layout::CA_CRT).display()))
            })?
        }
        (None, None) => Vec::new(),
    };
    let crls = match (&args.crl, &store) {
        (None, _) => Vec::new(),
        (Some(path), _) if !path.is_empty() => super::audit::read_crls(Path::new(path))?,
        (Some(_), Some(store)) => inspect::crls(&store.read_crl()?).map_err(|e| {
            Failure::input(format!("{}: {e}", store.shown(layout::CA_CRL).display()))
        })?,
        (Some(_), None) => Vec::new(),
    };
    let opts = VerifyOptions { ca, crls, names };
    let report = clusterca_audit::verify(&chain, &opts, OffsetDateTime::now_utc())?;
    let outcome = if report.verified {
        Outcome::Clean
    } else {
        Outcome::Findings
    };
    output::emit(
        g.format,
        &VerifyOut {
            report: &report,
            shown,
        },
    )?;
    Ok(outcome)
}

/// What `verify` reports: the library's report (JSON: the same), with one text line a name.
#[derive(serde::Serialize)]
#[serde(transparent)]
struct VerifyOut<'a> {
    report: &'a clusterca_audit::VerifyReport,
    /// The file as the lines name it.
    #[serde(skip)]
    shown: String,
}

impl output::Report for VerifyOut<'_> {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let (report, shown) = (self.report, &self.shown);
        for n in &report.names {
            match &n.error {
                None => writeln!(
                    out,
                    "{}: {} for {}{}",
                    sanitize(shown),
                    output::paint("OK", "OK"),
                    sanitize(&n.name),
                    if report.revocation_checked {
                        " (not revoked)"
                    } else {
                        ""
                    }
                )?,
                Some(why) => writeln!(
                    out,
                    "{}: {} for {}: {}",
                    sanitize(shown),
                    output::paint("FAILED", "FAILED"),
                    sanitize(&n.name),
                    sanitize(why)
                )?,
            }
        }
        Ok(())
    }
}
