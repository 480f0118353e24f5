//! `clusterca issue`: keys and certificates for one or many certnames.
//!
//! Order of work, chosen so that bad input writes nothing and a crash loses no key: validate
//! every argument; load the CA; refuse names already signed and key files already present;
//! generate the keys and write them (0600); then, under the store lock, reserve serials, sign
//! and record; last, write the certificates beside the keys. If signing fails, the keys just
//! written are removed again.

use std::io::Write;
use std::path::{Path, PathBuf};

use clusterca_pki::{AltName, CertName, KeyType, LeafSpec, PrivateKey, Ttl};
use clusterca_store::{fsutil, inventory, FileSpec, Store};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{Format, Global, IssueArgs};
use crate::output::{self, sanitize};
use crate::{Failure, Outcome};

/// `--format json` output of `issue`: one object per certificate.
#[derive(Serialize)]
struct Issued {
    name: String,
    serial_number: u64,
    not_before: String,
    not_after: String,
    subject_alt_names: Vec<String>,
    fingerprint: String,
    certificate: String,
    key: String,
}

const KEY_MODE: u32 = 0o600;
const CERT_MODE: u32 = 0o644;

fn out_paths(out: &Path, name: &CertName) -> (PathBuf, PathBuf) {
    (
        out.join(format!("{name}.key.pem")),
        out.join(format!("{name}.pem")),
    )
}

/// Removes the key files written so far unless disarmed: a failed issuance leaves no keys.
struct KeyCleanup(Vec<PathBuf>);

impl Drop for KeyCleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub fn run(g: &Global, args: &IssueArgs) -> Result<Outcome, Failure> {
    // 1. Everything from the command line, validated before anything is touched.
    let names = args
        .names
        .iter()
        .map(|n| n.parse::<CertName>())
        .collect::<Result<Vec<_>, _>>()?;
    let extra = args
        .alt_names
        .iter()
        .filter(|a| !a.is_empty())
        .map(|a| a.parse::<AltName>())
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(w) = extra.iter().find(|a| a.is_wildcard()) {
        if !args.allow_wildcard {
            return Err(Failure::input(format!(
                "alt name {w:?} is a wildcard, valid for every host in its domain; pass --allow-wildcard to issue it",
                w = w.to_string()
            )));
        }
    }
    let ttl: Ttl = args.ttl.parse()?;
    let key_type: KeyType = args.key_type.parse()?;
    let timeout = super::parse_timeout(&g.lock_timeout)?;
    if !args.out.is_dir() {
        return Err(Failure::input(format!(
            "--out {}: not a directory",
            args.out.display()
        )));
    }

    // 2. The CA, and conflicts we can see before doing any work.
    let store = Store::open(&g.dir)?;
    let ca = store.load_ca()?;
    // A broken `serial` would stop us under the lock anyway; find out before making keys.
    store.read_serial()?;
    for name in &names {
        if store.signed_path(name).exists() {
            return Err(clusterca_store::Error::AlreadySigned {
                name: name.to_string(),
            }
            .into());
        }
        let (key_path, _) = out_paths(&args.out, name);
        if key_path.symlink_metadata().is_ok() {
            return Err(Failure::input(format!(
                "{} already exists; refusing to overwrite a private key (move it away or choose another --out)",
                key_path.display()
            )));
        }
    }

    // 3. Keys first, on disk with their final mode, so that no issued cert lacks its key.
    let specs: Vec<LeafSpec> = names
        .iter()
        .map(|n| LeafSpec::new(n.clone(), extra.iter().cloned(), ttl))
        .collect();
    let keys = specs
        .iter()
        .map(|_| PrivateKey::generate(key_type))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cleanup = KeyCleanup(Vec::new());
    for (spec, key) in specs.iter().zip(&keys) {
        let (key_path, _) = out_paths(&args.out, &spec.name);
        let mut file = fsutil::create_exclusive(
            &key_path,
            FileSpec {
                mode: KEY_MODE,
                owner: None,
            },
        )?;
        cleanup.0.push(key_path.clone());
        file.write_all(key.to_pem().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Failure {
                kind: crate::Kind::System,
                message: format!("cannot write {}: {e}", key_path.display()),
            })?;
    }

    // 4. Serials, signatures and records, under the store lock.
    let batch: Vec<(LeafSpec, &PrivateKey)> = specs.into_iter().zip(&keys).collect();
    let issued = {
        let mut signer = store.signer(timeout)?;
        signer.issue(&ca, &batch, OffsetDateTime::now_utc())?
    };
    cleanup.0.clear();

    // 5. Certificates beside their keys.
    let mut report = Vec::with_capacity(issued.len());
    for (cert, (spec, _)) in issued.iter().zip(&batch) {
        let (key_path, cert_path) = out_paths(&args.out, &cert.name);
        fsutil::write_atomic(
            &cert_path,
            cert.pem.as_bytes(),
            FileSpec {
                mode: CERT_MODE,
                owner: None,
            },
        )?;
        report.push(Issued {
            name: cert.name.to_string(),
            serial_number: cert.serial,
            not_before: inventory::format_time(cert.not_before),
            not_after: inventory::format_time(cert.not_after),
            subject_alt_names: spec.alt_names.iter().map(ToString::to_string).collect(),
            fingerprint: clusterca_pki::fingerprint_sha256(&cert.der),
            certificate: cert_path.display().to_string(),
            key: key_path.display().to_string(),
        });
    }
    fsutil::sync_dir(&args.out)?;

    if g.format == Format::Json {
        output::json(&report)?;
        return Ok(Outcome::Clean);
    }
    let mut out = std::io::stdout().lock();
    for r in &report {
        writeln!(
            out,
            "issued {} serial 0x{:04X} valid until {}",
            sanitize(&r.name),
            r.serial_number,
            r.not_after
        )?;
        writeln!(out, "  alt names    {}", r.subject_alt_names.join(", "))?;
        writeln!(out, "  certificate  {}", sanitize(&r.certificate))?;
        writeln!(out, "  key          {}", sanitize(&r.key))?;
    }
    Ok(Outcome::Clean)
}
