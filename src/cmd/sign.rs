//! `clusterca submit` and `clusterca sign`: the CSR queue.

use std::io::Write;

use clusterca_pki::{CertName, CertRequest, Serial, Timestamp, Ttl};
use clusterca_store::{Authority, GroupDone, GroupOp};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Global, SignArgs, SubmitArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// `--format json` output of `sign`: one object per certificate.
#[derive(Serialize)]
struct Signed {
    name: String,
    serial_number: Serial,
    not_after: Timestamp,
    fingerprint: String,
    certificate: String,
}

/// What `sign` reports: the certificates signed (JSON: their array); the refused ones were
/// named on stderr, and counted in the summary.
#[derive(Serialize)]
#[serde(transparent)]
struct SignReport {
    certificates: Vec<Signed>,
    #[serde(skip)]
    refused: usize,
    /// `--all`: a summary line even for one.
    #[serde(skip)]
    summary: bool,
}

impl output::Report for SignReport {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let report = &self.certificates;
        if report.is_empty() && self.refused == 0 {
            writeln!(out, "No requests to sign")?;
        }
        for r in report.iter().filter(|_| output::items()) {
            writeln!(
                out,
                "signed {} serial {} valid until {}  {}",
                sanitize(&r.name),
                r.serial_number,
                r.not_after,
                sanitize(&r.certificate)
            )?;
        }
        if self.summary || report.len() > 1 || !output::items() {
            writeln!(
                out,
                "{} {}, {} refused",
                output::paint("signed", "signed"),
                output::count(report.len(), "certificate", "certificates"),
                self.refused
            )?;
        }
        Ok(())
    }
}

/// What `submit` reports: one object per request filed or signed (JSON: their array).
#[derive(Serialize)]
#[serde(transparent)]
struct SubmitReport(Vec<Submitted>);

impl output::Report for SubmitReport {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for d in &self.0 {
            match (&d.serial_number, &d.refused) {
                (Some(serial), _) => writeln!(
                    out,
                    "signed {} (serial {serial}) as {}",
                    sanitize(&d.name),
                    sanitize(&d.file)
                )?,
                (None, Some(why)) => writeln!(
                    out,
                    "submitted {} as {} (not signed: {})",
                    sanitize(&d.name),
                    sanitize(&d.file),
                    sanitize(why)
                )?,
                (None, None) => writeln!(
                    out,
                    "submitted {} as {}",
                    sanitize(&d.name),
                    sanitize(&d.file)
                )?,
            }
        }
        Ok(())
    }
}

/// `--format json` output of `submit`: one object per request.
#[derive(Serialize)]
struct Submitted {
    name: String,
    /// `requested` or `signed`.
    state: &'static str,
    /// requests/NAME.pem or signed/NAME.pem.
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_number: Option<Serial>,
    /// Why --sign did not sign it (it was filed instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<String>,
}

pub fn submit(g: &Global, args: &SubmitArgs) -> Result<Outcome, Failure> {
    if args.name.is_some() && args.csrs.len() > 1 {
        return Err(Failure::input(
            "--name files a single CSR; with several, each is filed under its CN",
        ));
    }
    let ttl: Ttl = args.ttl;
    // Every file read and parsed before the lock: a bad one refuses the command, nothing
    // filed.
    let mut ops = Vec::with_capacity(args.csrs.len());
    for file in &args.csrs {
        let bytes = super::read_input(file)?;
        let req = CertRequest::parse(&bytes)
            .map_err(|e| Failure::input(format!("{}: {e}", file.display())))?;
        let name: CertName = match &args.name {
            Some(n) => n.parse()?,
            None => req
                .common_name
                .as_deref()
                .ok_or_else(|| {
                    Failure::input(format!(
                        "{}: the request has no CN; pass --name",
                        file.display()
                    ))
                })?
                .parse()?,
        };
        ops.push(GroupOp::Submit {
            name,
            req,
            autosign: args.sign,
            ttl,
        });
    }
    let timeout = g.lock_timeout;
    let auth = Authority::open(&g.dir, timeout)?;
    if args.sign {
        super::check_within_ca(
            &auth,
            ttl,
            args.ca_end.allow_beyond_ca,
            OffsetDateTime::now_utc(),
        )?;
    }
    // Each is checked before the lock is taken (and again under it): a request refused here
    // touches nothing, and with none left the lock is not even taken.
    let mut checked = Vec::with_capacity(ops.len());
    for op in &ops {
        let GroupOp::Submit { name, req, .. } = op else {
            continue;
        };
        checked.push(
            auth.store()
                .check_submittable(name, req)
                .map_err(std::sync::Arc::new),
        );
    }
    let ready: Vec<GroupOp> = ops
        .iter()
        .zip(&checked)
        .filter(|(_, c)| c.is_ok())
        .map(|(op, _)| op.clone())
        .collect();
    let mut committed = if ready.is_empty() {
        Vec::new()
    } else {
        auth.commit_group(&ready, OffsetDateTime::now_utc())
    }
    .into_iter();
    let results: Vec<_> = checked
        .into_iter()
        .map(|c| match c {
            Err(e) => Err(e),
            Ok(()) => committed.next().unwrap_or_else(|| {
                Err(std::sync::Arc::new(clusterca_store::Error::Unsafe {
                    path: g.dir.clone(),
                    reason: "a request was left without a result".into(),
                }))
            }),
        })
        .collect();
    super::print_notes(auth.store());
    let mut done = Vec::new();
    let mut failure = None;
    for (op, result) in ops.iter().zip(results) {
        let GroupOp::Submit { name, .. } = op else {
            continue;
        };
        match result {
            Ok(GroupDone::Signed(c)) => done.push(Submitted {
                name: name.to_string(),
                state: "signed",
                file: auth.store().signed_shown(name).display().to_string(),
                serial_number: Some(c.serial.into()),
                refused: None,
            }),
            Ok(GroupDone::Queued {
                autosign_refused,
                store_error,
            }) => {
                // Filed, but not signed because the store failed (I/O): exit 4 once told.
                if let Some(e) = store_error {
                    failure.get_or_insert(Failure::from(&*e));
                }
                done.push(Submitted {
                    name: name.to_string(),
                    state: "requested",
                    file: auth.store().request_shown(name).display().to_string(),
                    serial_number: None,
                    refused: autosign_refused,
                })
            }
            Err(e) => {
                let f = Failure::from(&*e);
                // One file: its error is the command's (one line); several: each named.
                if args.csrs.len() > 1 {
                    eprintln!(
                        "clusterca: {}: {}",
                        sanitize(name.as_str()),
                        sanitize(&f.message)
                    );
                }
                failure.get_or_insert(f);
            }
        }
    }
    let done = SubmitReport(done);
    output::emit(g.format, &done)?;
    let done = done.0;
    match failure {
        // The others were printed; the exit code is the first refusal's.
        Some(f) if done.len() == args.csrs.len() => Err(Failure {
            message: format!(
                "{}; the requests are filed for an admin (`clusterca sign`)",
                f.message
            ),
            ..f
        }),
        Some(f) if args.csrs.len() > 1 => Err(Failure {
            message: format!(
                "{} of {} requests refused (each named above)",
                args.csrs.len() - done.len(),
                args.csrs.len()
            ),
            ..f
        }),
        Some(f) => Err(f),
        None => Ok(Outcome::Clean),
    }
}

pub fn sign(g: &Global, args: &SignArgs) -> Result<Outcome, Failure> {
    let ttl: Ttl = args.ttl;
    let timeout = g.lock_timeout;
    let names: &[CertName] = &args.names;
    let auth = Authority::open(&g.dir, timeout)?.allow_alt_names(args.allow_alt_names.clone());
    let store = auth.store();
    let now = OffsetDateTime::now_utc();
    super::check_within_ca(&auth, ttl, args.ca_end.allow_beyond_ca, now)?;
    let signed = if args.all {
        // Every request that passes is signed; each refused one is reported.
        auth.sign_all(ttl, now)
    } else {
        // The names given: all or nothing.
        auth.sign(names, ttl, now).map(|c| (c, Vec::new()))
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
            serial_number: c.serial.into(),
            not_after: c.not_after.into(),
            fingerprint: clusterca_pki::fingerprint_sha256(&c.der),
            certificate: store.signed_shown(&c.name).display().to_string(),
        })
        .collect();
    let report = SignReport {
        certificates: report,
        refused: refused.len(),
        summary: args.all,
    };
    output::emit(g.format, &report)?;
    Ok(outcome)
}
