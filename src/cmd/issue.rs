//! `clusterca issue`: keys and certificates for one or many certnames.

use std::io::Write;
use std::path::Path;

use clusterca_pki::{AltName, CertName, KeyType, LeafSpec, Serial, Timestamp, Ttl};
use clusterca_store::{Authority, IssueJob};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Global, IssueArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// `--format json` output of `issue`: one object per certificate.
#[derive(Serialize)]
struct Issued {
    name: String,
    serial_number: Serial,
    not_before: Timestamp,
    not_after: Timestamp,
    subject_alt_names: Vec<String>,
    fingerprint: String,
    certificate: String,
    key: String,
}

fn parse_alt_names<'a>(items: impl Iterator<Item = &'a str>) -> Result<Vec<AltName>, Failure> {
    Ok(items
        .filter(|a| !a.is_empty())
        .map(str::parse)
        .collect::<Result<Vec<AltName>, _>>()?)
}

/// `--from-file`: one `NAME [ALT...]` per line; blank lines and `#` comments are skipped.
fn read_name_file(path: &Path) -> Result<Vec<(CertName, Vec<AltName>)>, Failure> {
    let bytes = super::read_bounded_input(path, super::MAX_LIST, "a list of certnames")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::input(format!("{}: not UTF-8 text", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        let at =
            |e: Failure| Failure::input(format!("{}:{}: {}", path.display(), i + 1, e.message));
        let name = leaf_name(name).map_err(|e| at(e.into()))?;
        let alts = parse_alt_names(words.flat_map(|w| w.split(','))).map_err(at)?;
        out.push((name, alts));
    }
    if out.is_empty() {
        return Err(Failure::input(format!(
            "{}: no certnames in it",
            path.display()
        )));
    }
    Ok(out)
}

/// A certname for a new certificate: valid, and a valid DNS name (it becomes one).
fn leaf_name(text: &str) -> Result<CertName, clusterca_pki::Error> {
    let name = text.parse::<CertName>()?;
    name.check_dns()?;
    Ok(name)
}

/// What `issue` reports: the certificates (JSON: their array), and where they went.
#[derive(Serialize)]
#[serde(transparent)]
struct IssueReport {
    certificates: Vec<Issued>,
    #[serde(skip)]
    out: String,
}

impl output::Report for IssueReport {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for r in self.certificates.iter().filter(|_| output::items()) {
            writeln!(
                out,
                "issued {} serial {} valid until {}",
                sanitize(&r.name),
                r.serial_number,
                r.not_after
            )?;
            writeln!(out, "  alt names    {}", r.subject_alt_names.join(", "))?;
            writeln!(out, "  certificate  {}", sanitize(&r.certificate))?;
            writeln!(out, "  key          {}", sanitize(&r.key))?;
        }
        if self.certificates.len() > 1 || !output::items() {
            writeln!(out, "{}", summary(&self.certificates, &self.out))?;
        }
        Ok(())
    }
}

/// The line that ends a batch: how many, which serials, where.
fn summary(report: &[Issued], dir: &str) -> String {
    let first = report.iter().map(|r| &r.serial_number).min();
    let last = report.iter().map(|r| &r.serial_number).max();
    let serials = match (first, last) {
        (Some(a), Some(b)) if a == b => format!(", serial {a}"),
        (Some(a), Some(b)) => format!(", serials {a} to {b}"),
        _ => String::new(),
    };
    format!(
        "{} {}{serials}, keys and certificates in {}",
        output::paint("issued", "signed"),
        output::count(report.len(), "certificate", "certificates"),
        sanitize(dir)
    )
}

pub fn run(g: &Global, args: &IssueArgs) -> Result<Outcome, Failure> {
    // Everything from the command line, validated before anything is touched.
    let mut requests = args
        .names
        .iter()
        .map(|n| Ok((leaf_name(n)?, Vec::new())))
        .collect::<Result<Vec<_>, Failure>>()?;
    if let Some(file) = &args.from_file {
        requests.extend(read_name_file(file)?);
    }
    if requests.is_empty() {
        return Err(Failure::input(
            "no certnames: give NAME arguments or --from-file FILE",
        ));
    }
    let shared = parse_alt_names(args.alt_names.iter().map(String::as_str))?;
    let ttl: Ttl = args.ttl;
    let specs: Vec<LeafSpec> = requests
        .into_iter()
        .map(|(name, own)| LeafSpec::new(name, shared.iter().cloned().chain(own), ttl))
        .collect();
    if !args.allow_wildcard {
        if let Some(w) = specs.iter().find_map(|s| s.alt_names.wildcard()) {
            return Err(Failure::input(format!(
                "alt name \"{w}\" is a wildcard, valid for every host in its domain; pass --allow-wildcard to issue it"
            )));
        }
    }
    let key_type: KeyType = args.key_type;
    let lock_timeout = g.lock_timeout;
    let auth = Authority::open(&g.dir, lock_timeout)?;
    let now = OffsetDateTime::now_utc();
    super::check_within_ca(&auth, ttl, args.ca_end.allow_beyond_ca, now)?;
    // Opened once: every key and certificate is written relative to this handle.
    let out = super::open_out(&args.out)?;
    let job = IssueJob {
        specs,
        key_type,
        out: &out,
        lock_timeout,
    };
    let issued = auth.issue(job, now);
    super::print_notes(auth.store());
    let issued = issued?;

    let certificates: Vec<Issued> = issued
        .iter()
        .map(|f| Issued {
            name: f.cert.name.to_string(),
            serial_number: f.cert.serial.into(),
            not_before: f.cert.not_before.into(),
            not_after: f.cert.not_after.into(),
            subject_alt_names: f.spec.alt_names.iter().map(ToString::to_string).collect(),
            fingerprint: clusterca_pki::fingerprint_sha256(&f.cert.der),
            certificate: f.cert_path.display().to_string(),
            key: f.key_path.display().to_string(),
        })
        .collect();
    let report = IssueReport {
        certificates,
        out: args.out.display().to_string(),
    };
    output::emit(g.format, &report)?;
    Ok(Outcome::Clean)
}
