//! The whole `issue` job for keys made here: new keys written to an output directory, their
//! certificates signed and recorded in the store, then written beside the keys.
//!
//! Order, chosen so that bad input writes nothing and no failure loses a key: finish an
//! interrupted batch (see `journal`); refuse names already signed and key files already
//! present; read `serial` (a broken one stops us before any work); generate all keys in
//! parallel and write them (0600, synced as one group commit); then, under the store lock,
//! reserve serials, sign and record; last, write the certificates beside the keys (another
//! group commit).
//!
//! Keys are removed again only when nothing about their certificates was recorded: a failure
//! before the inventory append. From the append on ([`Error::Unfinished`]) the keys stay,
//! and running the same command again *resumes*: a name that is signed, whose key file is
//! there and is the key of its certificate, gets its certificate written beside the key.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clusterca_pki::{CertificateAuthority, IssuedCert, KeyType, LeafSpec, PrivateKey};
use rayon::prelude::*;
use time::OffsetDateTime;

use crate::error::IoContext;
use crate::fsutil::Dir;
use crate::{fsutil, layout, Error, FileSpec, Store};

/// Mode of private keys written to the output directory.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificates written to the output directory.
pub const CERT_MODE: u32 = 0o644;

/// What to issue and where to put it.
#[derive(Debug)]
pub struct IssueJob<'a> {
    /// One spec per certificate.
    pub specs: Vec<LeafSpec>,
    /// Type of the new keys.
    pub key_type: KeyType,
    /// Directory for `NAME.key.pem` and `NAME.pem`, opened once: everything is written
    /// relative to it.
    pub out: &'a Dir,
    /// How long to wait for the store lock.
    pub lock_timeout: Duration,
}

/// One certificate issued, with where its files went.
#[derive(Debug)]
pub struct IssuedFiles {
    /// The certificate.
    pub cert: IssuedCert,
    /// The spec it was issued from.
    pub spec: LeafSpec,
    /// Path of the key.
    pub key_path: PathBuf,
    /// Path of the certificate.
    pub cert_path: PathBuf,
}

/// Removes the key files written so far unless disarmed: a failed issuance leaves no keys.
pub(crate) struct KeyCleanup<'d> {
    dir: &'d Dir,
    names: Vec<String>,
}

impl KeyCleanup<'_> {
    /// From here on the keys belong to recorded certificates: they stay.
    pub(crate) fn disarm(&mut self) {
        self.names.clear();
    }
}

impl Drop for KeyCleanup<'_> {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = self.dir.remove_if_present(n);
        }
    }
}

/// Writes each key to its file in `dir` (created exclusively, mode KEY_MODE), then makes the
/// files and the directory durable. The guard removes them again unless disarmed; a failure
/// part way removes those already written.
pub(crate) fn write_keys<'d>(
    dir: &'d Dir,
    keys: &[(String, &PrivateKey)],
) -> Result<(KeyCleanup<'d>, Vec<PathBuf>), Error> {
    let mut cleanup = KeyCleanup {
        dir,
        names: Vec::with_capacity(keys.len()),
    };
    let spec = FileSpec {
        mode: KEY_MODE,
        owner: None,
    };
    let mut paths = Vec::with_capacity(keys.len());
    let stage = crate::progress::Stage::new("writing keys", keys.len());
    for (file, key) in keys {
        let path = dir.join(file);
        let mut f = dir.create_exclusive(file, spec)?;
        cleanup.names.push(file.clone());
        f.write_all(key.to_pem().as_bytes()).ctx("write", &path)?;
        paths.push(path);
        stage.tick();
    }
    let written: Vec<(&Dir, &str)> = cleanup.names.iter().map(|n| (dir, n.as_str())).collect();
    fsutil::sync_files(&written)?;
    dir.sync()?;
    Ok((cleanup, paths))
}

/// The file names of `spec`'s key and certificate in the output directory.
fn names(spec: &LeafSpec) -> (String, String) {
    (format!("{}.key.pem", spec.name), layout::pem(&spec.name))
}

fn paths(out: &Dir, spec: &LeafSpec) -> (PathBuf, PathBuf) {
    let (key, cert) = names(spec);
    (out.join(&key), out.join(&cert))
}

impl Store {
    /// Runs an [`IssueJob`]; see the module documentation for the order of work.
    pub fn issue_with_new_keys(
        &self,
        ca: &CertificateAuthority,
        job: IssueJob<'_>,
        now: OffsetDateTime,
    ) -> Result<Vec<IssuedFiles>, Error> {
        // An interrupted batch first: its certificates may be what this run is to finish.
        if self.root().exists(crate::journal::JOURNAL_FILE) {
            drop(self.signer(job.lock_timeout)?);
        }
        let out = job.out;
        let mut seen = std::collections::HashSet::new();
        let mut fresh = Vec::with_capacity(job.specs.len());
        let mut resumed = Vec::new();
        for spec in job.specs {
            // Before any key is made or serial taken: the name, and a lifetime that ends by
            // 9999-12-31.
            spec.name
                .check_dns()
                .and_then(|()| clusterca_pki::valid_until(now, spec.ttl).map(|_| ()))
                .map_err(|source| Error::Pki {
                    path: self.signed_shown(&spec.name),
                    source,
                })?;
            if !seen.insert(spec.name.clone()) {
                return Err(Error::Usage {
                    reason: format!("{} is given twice in this batch", spec.name),
                });
            }
            let (key_path, cert_path) = paths(out, &spec);
            let (key_name, cert_name) = names(&spec);
            for file in [&key_name, &cert_name] {
                if out.entry(file)?.is_some_and(|e| e.is_symlink()) {
                    return Err(Error::Unsafe {
                        path: out.join(file),
                        reason: "is a symbolic link".into(),
                    });
                }
            }
            let key_present = out.exists(&key_name);
            match (self.has_signed(&spec.name)?, key_present) {
                (false, false)
                    if out.exists(&cert_name)
                        && !self.replaceable(out, &cert_name, &spec.name)? =>
                {
                    return Err(Error::CertExists { path: cert_path })
                }
                (false, false) => fresh.push(spec),
                (false, true) => return Err(Error::KeyExists { path: key_path }),
                (true, false) => {
                    return Err(Error::AlreadySigned {
                        name: spec.name.to_string(),
                    })
                }
                (true, true) => resumed.push(self.resumable(spec, out)?),
            }
        }
        // Certificates already beside their keys are only rewritten beside one that is not
        // (an interrupted run); alone, they are names signed before.
        if let Some((_, spec, _)) = resumed.first() {
            if resumed.iter().all(|(_, _, done)| *done) {
                return Err(Error::AlreadyIssued {
                    name: spec.name.to_string(),
                    cert: paths(out, spec).1,
                });
            }
        }
        let resumed: Vec<(IssuedCert, LeafSpec)> =
            resumed.into_iter().map(|(c, s, _)| (c, s)).collect();
        if fresh.is_empty() {
            return write_certificates(out, resumed);
        }
        // A broken or exhausted `serial` stops us before any key is made (the rule, applied
        // under the lock, can only raise it).
        crate::serial::reserve(
            self.read_serial()?,
            fresh.len() as u64,
            &self.shown(layout::SERIAL),
        )?;
        let job = IssueJob {
            specs: fresh,
            ..job
        };

        let stage = crate::progress::Stage::new("generating keys", job.specs.len());
        let keys = job
            .specs
            .par_iter()
            .map(|_| {
                let key = PrivateKey::generate(job.key_type);
                stage.tick();
                key
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| Error::Pki {
                path: job.out.path().to_path_buf(),
                source,
            })?;
        let files: Vec<(String, &PrivateKey)> = job
            .specs
            .iter()
            .zip(&keys)
            .map(|(spec, key)| (names(spec).0, key))
            .collect();
        let (mut cleanup, key_paths) = write_keys(out, &files)?;

        let batch: Vec<(LeafSpec, &PrivateKey)> = job.specs.into_iter().zip(&keys).collect();
        let issued = {
            let mut signer = self.signer(job.lock_timeout)?;
            match signer.issue(ca, &batch, &key_paths, now) {
                Ok(issued) => issued,
                Err(e @ Error::Unfinished { .. }) => {
                    // On record: the keys belong to issued certificates now.
                    cleanup.disarm();
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        };
        cleanup.disarm();
        let mut all: Vec<(IssuedCert, LeafSpec)> = issued
            .into_iter()
            .zip(batch.into_iter().map(|(spec, _)| spec))
            .collect();
        all.extend(resumed);
        write_certificates(out, all)
    }

    /// Whether `path` may be replaced by a new certificate for `name`: it is an earlier
    /// certificate of this CA for that name (after `clean`, issuing again replaces it). Anything
    /// else there is not ours to overwrite.
    fn replaceable(
        &self,
        out: &Dir,
        file: &str,
        name: &clusterca_pki::CertName,
    ) -> Result<bool, Error> {
        let Ok(ca_spki) = self.ca_spki() else {
            return Ok(false);
        };
        let Some(der) = first_certificate(out, file)? else {
            return Ok(false);
        };
        Ok(
            clusterca_pki::inspect::certificate_info(&der, OffsetDateTime::now_utc()).is_ok_and(
                |i| {
                    i.subject_oneline.strip_prefix("/CN=") == Some(name.as_str())
                        && clusterca_pki::inspect::signed_by(&der, &ca_spki).unwrap_or(false)
                },
            ),
        )
    }

    /// A name signed before whose key file is already in the output directory: resumable
    /// when the key is the certificate's and the alt names are the same (an earlier run was
    /// interrupted after recording).
    /// The flag says whether the certificate is already beside the key.
    fn resumable(&self, spec: LeafSpec, out: &Dir) -> Result<(IssuedCert, LeafSpec, bool), Error> {
        let (der, info) = crate::read_cert_file(
            &self.signed_dir()?,
            &layout::pem(&spec.name),
            OffsetDateTime::now_utc(),
        )?;
        // A run that finished wrote the certificate beside the key: nothing to resume.
        let (key_name, cert_name) = names(&spec);
        let cert_path = out.join(&cert_name);
        let written = |der: &[u8]| {
            out.read_bounded(&cert_name, fsutil::MAX_PEM)
                .ok()
                .and_then(|b| clusterca_pki::inspect::certificates(&b).ok())
                .is_some_and(|certs| certs.first().map(Vec::as_slice) == Some(der))
        };
        let key = out
            .read_bounded(&key_name, fsutil::MAX_PEM)
            .ok()
            .and_then(|b| PrivateKey::from_bytes(&b).ok());
        let serial = info.serial_decimal.parse::<u64>().ok();
        let alt_names: Vec<String> = spec.alt_names.iter().map(ToString::to_string).collect();
        let same_names = {
            let mut want = alt_names.clone();
            let mut have = info.subject_alt_names.clone();
            want.sort();
            have.sort();
            want == have
        };
        match (key, serial, info.not_before_time, info.not_after_time) {
            (Some(key), Some(serial), Some(not_before), Some(not_after))
                if key.spki_der() == info.spki_der && same_names =>
            {
                let done = written(&der);
                // Something else where the certificate goes: not ours to replace.
                if !done && out.exists(&cert_name) {
                    return Err(Error::CertExists { path: cert_path });
                }
                let pem = clusterca_pki::pem_encode("CERTIFICATE", &der);
                let cert = IssuedCert {
                    name: spec.name.clone(),
                    serial,
                    not_before,
                    not_after,
                    subject: info.subject_oneline,
                    der,
                    pem,
                };
                Ok((cert, spec, done))
            }
            _ => Err(Error::AlreadySigned {
                name: spec.name.to_string(),
            }),
        }
    }
}

/// The first certificate in `out/file`, if it holds one. An I/O error reading it is an error,
/// not a "none" (that would make its caller say "already exists"); a file that is missing, not
/// a regular file or not a certificate holds none.
pub(crate) fn first_certificate(out: &Dir, file: &str) -> Result<Option<Vec<u8>>, Error> {
    let bytes = match out.read_bounded(file, fsutil::MAX_PEM) {
        Ok(b) => b,
        Err(e @ Error::Io { .. }) if !e.is_not_found() => return Err(e),
        Err(_) => return Ok(None),
    };
    Ok(clusterca_pki::inspect::certificates(&bytes)
        .ok()
        .and_then(|c| c.into_iter().next()))
}

/// Writes each certificate beside its key (a group commit) and returns what went where.
fn write_certificates(
    out: &Dir,
    certs: Vec<(IssuedCert, LeafSpec)>,
) -> Result<Vec<IssuedFiles>, Error> {
    let cert_spec = FileSpec {
        mode: CERT_MODE,
        owner: None,
    };
    let mut staged = Vec::with_capacity(certs.len());
    let mut result = Vec::with_capacity(certs.len());
    let stage = crate::progress::Stage::new("writing certificates", certs.len());
    for (cert, spec) in certs {
        stage.tick();
        let (key_path, cert_path) = paths(out, &spec);
        staged.push(out.stage_unsynced(&names(&spec).1, cert.pem.as_bytes(), cert_spec)?);
        result.push(IssuedFiles {
            cert,
            spec,
            key_path,
            cert_path,
        });
    }
    let temps: Vec<&fsutil::Staged> = staged.iter().collect();
    fsutil::sync_staged(&temps)?;
    for s in staged {
        s.commit()?;
    }
    out.sync()?;
    result.sort_by_key(|a| a.cert.serial);
    Ok(result)
}
