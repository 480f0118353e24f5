//! `clusterca show`: inspect certificates, CSRs, CRLs and keys.

use std::io::Write;
use std::path::PathBuf;

use clusterca_pki::inspect::{self, CertInfo, KeyInfo, Object};
use clusterca_pki::CertName;
use clusterca_store::Store;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Global, ShowArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// What `show` reports.
#[derive(Serialize)]
struct Shown {
    source: String,
    objects: Objects,
}

impl output::Report for Shown {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        output::Report::text(&self.objects, out)
    }
}

/// Described objects (JSON: their array), shown one after another with a blank line
/// between: `show`'s and `crl --show`'s.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Objects(pub Vec<Object>);

impl output::Report for Objects {
    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for (i, o) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            render(out, o)?;
        }
        Ok(())
    }
}

/// The file to show and its bytes: the path as given, or `signed/NAME.pem` for a certname
/// (read through the store).
fn resolve(g: &Global, target: &str) -> Result<(PathBuf, Vec<u8>), Failure> {
    // `-`: standard input (`openssl s_client ... | clusterca show -`), as the file is read.
    if target == "-" {
        let bytes = super::read_input(std::path::Path::new("/dev/stdin"))?;
        return Ok((PathBuf::from("-"), bytes));
    }
    let path = PathBuf::from(target);
    if path.exists() {
        let bytes = super::read_input(&path)?;
        return Ok((path, bytes));
    }
    match target.parse::<CertName>() {
        Ok(name) => {
            let store = Store::open(&g.dir)?;
            if let Some(bytes) = store.read_signed(&name)? {
                Ok((store.signed_shown(&name), bytes))
            } else {
                Err(Failure::input(format!(
                    "{target}: no such file, and no signed certificate for that certname in {}",
                    g.dir.display()
                )))
            }
        }
        Err(_) => Err(Failure::input(format!("{target}: no such file"))),
    }
}

fn parse_file(path: &std::path::Path, now: OffsetDateTime) -> Result<Vec<Object>, Failure> {
    parse_bytes(path, &super::read_input(path)?, now)
}

fn parse_bytes(
    path: &std::path::Path,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<Object>, Failure> {
    inspect::parse(bytes, now).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// Marks each certificate issued by the CA of `--dir` (its issuer is the CA's subject and the
/// CA's key signed it) with whether that CA's CRL revokes it. Without a readable CA directory
/// nothing is marked: `show` works on any file anywhere.
fn mark_revocation(g: &Global, bytes: &[u8], objects: &mut [Object]) {
    let Ok(store) = Store::open(&g.dir) else {
        return;
    };
    let ca = store
        .read_ca_bundle()
        .ok()
        .and_then(|pem| inspect::certificates(&pem).ok())
        .and_then(|chain| chain.into_iter().next());
    let (Some(ca), Ok(revoked)) = (ca, store.revoked_serials()) else {
        return;
    };
    let Ok((_, ca_subject)) = inspect::raw_names(&ca) else {
        return;
    };
    let Ok(ca_info) = inspect::certificate_info(&ca, OffsetDateTime::now_utc()) else {
        return;
    };
    let ders = inspect::certificates(bytes).unwrap_or_default();
    let certs = objects.iter_mut().filter_map(|o| match o {
        Object::Certificate(c) => Some(c),
        _ => None,
    });
    for (cert, der) in certs.zip(&ders) {
        let ours = inspect::raw_names(der).is_ok_and(|(issuer, _)| issuer == ca_subject)
            && inspect::signed_by(der, &ca_info.spki_der).unwrap_or(false);
        if ours {
            cert.revoked = Some(revoked.contains(&cert.serial_decimal));
        }
    }
}

pub fn run(g: &Global, args: &ShowArgs) -> Result<Outcome, Failure> {
    let now = OffsetDateTime::now_utc();
    let (path, bytes) = resolve(g, &args.target)?;
    let mut objects = parse_bytes(&path, &bytes, now)?;
    mark_revocation(g, &bytes, &mut objects);
    let mut outcome = Outcome::Clean;
    if let Some(cert_path) = &args.cert {
        let cert = parse_file(cert_path, now)?
            .into_iter()
            .find_map(|o| match o {
                Object::Certificate(c) => Some(c),
                _ => None,
            })
            .ok_or_else(|| {
                Failure::input(format!("{}: no certificate in it", cert_path.display()))
            })?;
        let mut any_key = false;
        for o in &mut objects {
            if let Object::PrivateKey(k) = o {
                any_key = true;
                let matches = k.public_key.spki_der == cert.spki_der;
                k.matches_certificate = Some(matches);
                if !matches {
                    outcome = Outcome::Findings;
                }
            }
        }
        if !any_key {
            return Err(Failure::input(format!(
                "{}: --cert compares a private key with a certificate, and this file holds no private key",
                path.display()
            )));
        }
    }
    output::emit(
        g.format,
        &Shown {
            source: path.display().to_string(),
            objects: Objects(objects),
        },
    )?;
    Ok(outcome)
}

fn key_text(k: &KeyInfo) -> String {
    match &k.curve {
        Some(c) => format!("{} {c} ({} bits)", k.algorithm, k.bits),
        None => format!("{} ({} bits)", k.algorithm, k.bits),
    }
}

fn time_left(secs: i64) -> String {
    let days = secs.abs() / 86_400;
    if secs < 0 {
        format!("EXPIRED {days} days ago")
    } else if days == 0 {
        format!("{} hours left", secs / 3_600)
    } else {
        format!("{days} days left")
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        sanitize(&items.join(", ")).into_owned()
    }
}

fn render_cert(out: &mut dyn Write, c: &CertInfo) -> std::io::Result<()> {
    writeln!(out, "certificate")?;
    writeln!(out, "  subject         {}", sanitize(&c.subject))?;
    writeln!(out, "  issuer          {}", sanitize(&c.issuer))?;
    writeln!(
        out,
        "  serial          {} ({})",
        c.serial_number,
        c.serial_number.decimal()
    )?;
    writeln!(out, "  not before      {}", c.not_before)?;
    writeln!(
        out,
        "  not after       {} ({})",
        c.not_after,
        time_left(c.seconds_left)
    )?;
    writeln!(out, "  alt names       {}", list(&c.subject_alt_names))?;
    writeln!(out, "  public key      {}", key_text(&c.public_key))?;
    writeln!(out, "  signature       {}", c.signature_algorithm)?;
    let bc = match &c.basic_constraints {
        Some(bc) => format!(
            "CA:{}{}{}",
            if bc.ca { "TRUE" } else { "FALSE" },
            bc.path_len
                .map(|p| format!(", pathlen:{p}"))
                .unwrap_or_default(),
            if bc.critical { " (critical)" } else { "" }
        ),
        None => "(absent)".into(),
    };
    writeln!(out, "  constraints     {bc}")?;
    writeln!(out, "  key usage       {}", list(&c.key_usage))?;
    writeln!(out, "  extended usage  {}", list(&c.extended_key_usage))?;
    writeln!(out, "  fingerprint     (SHA256) {}", c.fingerprint)?;
    match c.revoked {
        Some(true) => writeln!(out, "  revoked         YES (on the CA's CRL)"),
        Some(false) => writeln!(out, "  revoked         no (checked against the CA's CRL)"),
        None => Ok(()),
    }
}

pub fn render(out: &mut dyn Write, o: &Object) -> std::io::Result<()> {
    match o {
        Object::Certificate(c) => render_cert(out, c),
        Object::Csr(r) => {
            writeln!(out, "certificate request")?;
            writeln!(out, "  subject         {}", sanitize(&r.subject))?;
            writeln!(out, "  alt names       {}", list(&r.subject_alt_names))?;
            writeln!(out, "  public key      {}", key_text(&r.public_key))?;
            writeln!(
                out,
                "  signature       {} ({})",
                r.signature_algorithm,
                if r.signature_valid {
                    "valid"
                } else {
                    "INVALID"
                }
            )?;
            writeln!(out, "  extensions      {}", list(&r.requested_extensions))?;
            writeln!(out, "  fingerprint     (SHA256) {}", r.fingerprint)
        }
        Object::Crl(l) => {
            writeln!(out, "certificate revocation list")?;
            writeln!(out, "  issuer          {}", sanitize(&l.issuer))?;
            writeln!(
                out,
                "  CRL number      {}",
                l.crl_number.as_deref().unwrap_or("(none)")
            )?;
            writeln!(out, "  this update     {}", l.this_update)?;
            writeln!(
                out,
                "  next update     {}",
                l.next_update.as_deref().unwrap_or("(none)")
            )?;
            writeln!(out, "  signature       {}", l.signature_algorithm)?;
            writeln!(out, "  revoked         {}", l.revoked.len())?;
            for r in &l.revoked {
                writeln!(
                    out,
                    "    serial {} ({}) at {}{}",
                    r.serial_number,
                    r.serial_number.decimal(),
                    r.revoked_at,
                    r.reason
                        .as_deref()
                        .map(|x| format!(", {x}"))
                        .unwrap_or_default()
                )?;
            }
            Ok(())
        }
        Object::PrivateKey(k) => {
            writeln!(out, "private key ({})", k.format)?;
            writeln!(out, "  public key      {}", key_text(&k.public_key))?;
            if let Some(m) = k.matches_certificate {
                writeln!(out, "  matches cert    {}", if m { "yes" } else { "NO" })?;
            }
            Ok(())
        }
        Object::PublicKey(k) => {
            writeln!(out, "public key")?;
            writeln!(out, "  public key      {}", key_text(k))
        }
        _ => writeln!(out, "(an object this version cannot describe)"),
    }
}
