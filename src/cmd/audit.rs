//! `clusterca audit` (the fleet's files) and `clusterca probe` (live endpoints).

use std::io::Write;
use std::path::Path;

use clusterca_audit::{AuditOptions, ProbeOptions, Target};
use clusterca_pki::{inspect, Severity};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{AuditArgs, FailOn, Global, ProbeArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Kind, Outcome};

impl From<clusterca_audit::Error> for Failure {
    fn from(e: clusterca_audit::Error) -> Self {
        let kind = match &e {
            clusterca_audit::Error::Io { source, .. }
                if source.kind() != std::io::ErrorKind::NotFound =>
            {
                Kind::System
            }
            _ => Kind::Input,
        };
        Failure {
            kind,
            message: e.to_string(),
        }
    }
}

/// The certificates of `--ca`, DER.
pub(super) fn read_ca(path: Option<&Path>) -> Result<Vec<Vec<u8>>, Failure> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let certs = inspect::certificates(&super::read_input(path)?)
        .map_err(|e| Failure::input(format!("--ca {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Failure::input(format!(
            "--ca {}: no certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}

/// The CRLs of a `--crl` file, DER; a file without one is bad input.
pub(super) fn read_crls(path: &Path) -> Result<Vec<Vec<u8>>, Failure> {
    let crls = inspect::crls(&super::read_input(path)?)
        .map_err(|e| Failure::input(format!("--crl {}: {e}", path.display())))?;
    if crls.is_empty() {
        return Err(Failure::input(format!(
            "--crl {}: no CRL in it",
            path.display()
        )));
    }
    Ok(crls)
}

fn outcome(fail_on: FailOn, worst: Option<Severity>) -> Outcome {
    let threshold = match fail_on {
        FailOn::Info => Some(Severity::Info),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Error => Some(Severity::Error),
        FailOn::Never => None,
    };
    match (threshold, worst) {
        (Some(t), Some(w)) if w >= t => Outcome::Findings,
        _ => Outcome::Clean,
    }
}

pub fn audit(g: &Global, args: &AuditArgs) -> Result<Outcome, Failure> {
    let expect_names = args.expect.names.clone();
    let ca = read_ca(args.expect.ca.as_deref())?;
    let crls = match &args.crl {
        Some(path) => read_crls(path)?,
        None => Vec::new(),
    };
    let mut key_owners = Vec::new();
    for owner in &args.key_owners {
        let uid = match owner.parse::<u32>() {
            Ok(uid) => uid,
            Err(_) => nix::unistd::User::from_name(owner)
                .ok()
                .flatten()
                .map(|u| u.uid.as_raw())
                .ok_or_else(|| Failure::input(format!("--key-owner {owner:?}: no such user")))?,
        };
        key_owners.push(uid);
    }
    let opts = AuditOptions {
        expect_names,
        ca,
        crls,
        warn_days: i64::from(args.expect.warn_days),
        follow_links: args.follow,
        key_owners,
        now: OffsetDateTime::now_utc(),
        derive_keys: args.check_keys,
    };
    let progress = output::Progress::new("audit", "files");
    let run = || clusterca_audit::audit(&args.paths, &opts, &|d, t| progress.update(d, t));
    let report = match args.jobs {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| Failure {
                kind: Kind::System,
                message: format!("cannot start {n} threads: {e}"),
            })?
            .install(run),
        None => run(),
    };
    progress.finish();
    let report = report?;
    let outcome = outcome(
        args.expect.fail_on,
        report.findings.iter().map(|f| f.severity).max(),
    );
    output::emit(g.format, &AuditOut(&report))?;
    Ok(outcome)
}

pub fn probe(g: &Global, args: &ProbeArgs) -> Result<Outcome, Failure> {
    let mut targets: Vec<Target> = args
        .targets
        .iter()
        .map(|t| t.parse())
        .collect::<Result<_, _>>()?;
    if let Some(file) = &args.targets_file {
        let bytes = super::read_bounded_input(file, super::MAX_LIST, "a list of targets")?;
        // The file's name as every message below shows it: escaped.
        let shown = output::sanitize(&file.display().to_string()).into_owned();
        let text = String::from_utf8(bytes)
            .map_err(|_| Failure::input(format!("{shown}: not UTF-8 text")))?;
        let before = targets.len();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let target = line
                .parse::<Target>()
                .map_err(|e| Failure::input(format!("{shown}:{}: {e}", i + 1)))?;
            targets.push(target);
        }
        if targets.len() == before {
            return Err(Failure::input(format!("{shown}: no targets in it")));
        }
    }
    if args.connections == 0 {
        return Err(Failure::input("--connections must be at least 1"));
    }
    if args.expect.names.is_empty() {
        return Err(Failure::input(
            "probe needs --expect-name: the name clients use, sent as SNI and checked in each certificate",
        ));
    }
    let opts = ProbeOptions {
        expect_names: args.expect.names.clone(),
        ca: read_ca(args.expect.ca.as_deref())?,
        sni: args.sni.clone(),
        connections: args.connections,
        timeout: args.timeout,
        concurrency: args.concurrency,
        warn_days: i64::from(args.expect.warn_days),
    };
    let progress = output::Progress::new("probe", "connections");
    let report = clusterca_audit::probe(&targets, &opts, &|d, t| progress.update(d, t));
    progress.finish();
    let report = report?;
    let worst = report
        .targets
        .iter()
        .flat_map(|t| t.findings.iter().map(|f| f.severity))
        .max();
    let outcome = outcome(args.expect.fail_on, worst);
    output::emit(g.format, &ProbeOut(&report))?;
    Ok(outcome)
}

/// What `audit` reports: the library's report (JSON: the same), with its text.
#[derive(Serialize)]
#[serde(transparent)]
struct AuditOut<'a>(&'a clusterca_audit::AuditReport);

impl output::Report for AuditOut<'_> {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let report = self.0;
        writeln!(
            out,
            "audited {} in {}: {}, {}, {}, {}",
            output::count(report.files, "file", "files"),
            output::count(report.nodes, "node", "nodes"),
            output::count(report.certificates, "certificate", "certificates"),
            output::count(report.keys, "private key", "private keys"),
            output::count(report.csrs, "CSR", "CSRs"),
            output::count(report.crls, "CRL", "CRLs")
        )?;
        if report.findings.is_empty() {
            writeln!(out, "clean: no findings")?;
            return Ok(());
        }
        let mut by_rule: std::collections::BTreeMap<
            (std::cmp::Reverse<Severity>, clusterca_pki::Rule),
            usize,
        > = std::collections::BTreeMap::new();
        for f in &report.findings {
            *by_rule
                .entry((std::cmp::Reverse(f.severity), f.rule))
                .or_default() += 1;
        }
        writeln!(out)?;
        writeln!(out, "{:<18}  {:<8}  {:>6}", "RULE", "SEVERITY", "FOUND")?;
        for ((severity, rule), n) in &by_rule {
            writeln!(
                out,
                "{rule:<18}  {}  {n:>6}",
                output::paint(&format!("{:<8}", severity.0), &severity.0.to_string())
            )?;
        }
        if output::items() {
            writeln!(out)?;
            for f in &report.findings {
                writeln!(
                    out,
                    "{}  {:<18}  {}: {}",
                    output::paint(&format!("{:<7}", f.severity), &f.severity.to_string()),
                    f.rule,
                    sanitize(&f.subject),
                    sanitize(&f.message)
                )?;
            }
        }
        // The batch's last line: what was found.
        let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
        writeln!(
            out,
            "found: {}, {}, {}",
            output::count(count(Severity::Error), "error", "errors"),
            output::count(count(Severity::Warning), "warning", "warnings"),
            output::count(count(Severity::Info), "note", "notes")
        )
    }
}

/// What `probe` reports: the library's report (JSON: the same), with its text.
#[derive(Serialize)]
#[serde(transparent)]
struct ProbeOut<'a>(&'a clusterca_audit::ProbeReport);

impl output::Report for ProbeOut<'_> {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let report = self.0;
        for t in report.targets.iter().filter(|_| output::items()) {
            writeln!(
                out,
                "{}  {}, {}, {}: {}",
                t.target,
                output::count(t.connections, "connection", "connections"),
                output::count(t.handshakes, "handshake", "handshakes"),
                output::count(
                    t.certificates.len(),
                    "distinct certificate",
                    "distinct certificates"
                ),
                t.agreement
            )?;
            for c in &t.certificates {
                let verified = match c.verified {
                    Some(true) => "verified",
                    Some(false) => "NOT VERIFIED",
                    None => "not checked (no --ca)",
                };
                writeln!(
                    out,
                    "  {:>3}x  {}  serial {}  {} days left  {verified}",
                    c.seen,
                    sanitize(&c.subject),
                    c.serial_number
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), ToString::to_string),
                    c.days_left
                )?;
                writeln!(
                    out,
                    "        alt names {}",
                    sanitize(&c.subject_alt_names.join(", "))
                )?;
                writeln!(out, "        SHA256 {}", c.fingerprint)?;
            }
            output::findings(out, "  ", &t.findings)?;
        }
        let findings: usize = report.targets.iter().map(|t| t.findings.len()).sum();
        let agreeing = report
            .targets
            .iter()
            .filter(|t| {
                t.agreement == "one-shared-certificate" || t.agreement == "per-node-certificates"
            })
            .count();
        writeln!(
            out,
            "probed {}: {} agree, {}",
            output::count(report.targets.len(), "target", "targets"),
            agreeing,
            if findings == 0 {
                output::paint("no findings", "clean")
            } else {
                output::paint(&output::count(findings, "finding", "findings"), "error")
            }
        )?;
        Ok(())
    }
}
