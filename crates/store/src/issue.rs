//! The whole `issue` job for keys made here: new keys written to an output directory, their
//! certificates signed and recorded in the store, then written beside the keys.
//!
//! Order, chosen so that bad input writes nothing and a crash loses no key: refuse names
//! already signed and key files already present; read `serial` (a broken one stops us before
//! any work); generate all keys in parallel and write them (0600, synced as one group commit);
//! then, under the store lock, reserve serials, sign and record; last, write the certificates
//! beside the keys (another group commit). If signing fails, the keys just written are removed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clusterca_pki::{CertificateAuthority, IssuedCert, KeyType, LeafSpec, PrivateKey};
use rayon::prelude::*;
use time::OffsetDateTime;

use crate::error::IoContext;
use crate::{check_new_names, fsutil, Error, FileSpec, Store};

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
    /// Directory for `NAME.key.pem` and `NAME.pem`.
    pub out: &'a Path,
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
struct KeyCleanup(Vec<PathBuf>);

impl Drop for KeyCleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn paths(out: &Path, spec: &LeafSpec) -> (PathBuf, PathBuf) {
    (
        out.join(format!("{}.key.pem", spec.name)),
        out.join(format!("{}.pem", spec.name)),
    )
}

impl Store {
    /// Runs an [`IssueJob`]; see the module documentation for the order of work.
    pub fn issue_with_new_keys(
        &self,
        ca: &CertificateAuthority,
        job: IssueJob<'_>,
        now: OffsetDateTime,
    ) -> Result<Vec<IssuedFiles>, Error> {
        check_new_names(self, job.specs.iter().map(|s| &s.name))?;
        for spec in &job.specs {
            let (key_path, _) = paths(job.out, spec);
            if key_path.symlink_metadata().is_ok() {
                return Err(Error::KeyExists { path: key_path });
            }
        }
        self.read_serial()?;

        let keys = job
            .specs
            .par_iter()
            .map(|_| PrivateKey::generate(job.key_type))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| Error::Pki {
                path: job.out.to_path_buf(),
                source,
            })?;
        let mut cleanup = KeyCleanup(Vec::with_capacity(keys.len()));
        let key_spec = FileSpec {
            mode: KEY_MODE,
            owner: None,
        };
        for (spec, key) in job.specs.iter().zip(&keys) {
            let (key_path, _) = paths(job.out, spec);
            let mut file = fsutil::create_exclusive(&key_path, key_spec)?;
            cleanup.0.push(key_path.clone());
            file.write_all(key.to_pem().as_bytes())
                .ctx("write", &key_path)?;
        }
        let key_paths: Vec<&Path> = cleanup.0.iter().map(PathBuf::as_path).collect();
        fsutil::sync_paths(&key_paths, job.out)?;
        fsutil::sync_dir(job.out)?;

        let batch: Vec<(LeafSpec, &PrivateKey)> = job.specs.into_iter().zip(&keys).collect();
        let issued = {
            let mut signer = self.signer(job.lock_timeout)?;
            signer.issue(ca, &batch, now)?
        };
        cleanup.0.clear();

        let cert_spec = FileSpec {
            mode: CERT_MODE,
            owner: None,
        };
        let mut staged = Vec::with_capacity(issued.len());
        let mut result = Vec::with_capacity(issued.len());
        for (cert, (spec, _)) in issued.into_iter().zip(batch) {
            let (key_path, cert_path) = paths(job.out, &spec);
            staged.push(fsutil::stage_unsynced(
                &cert_path,
                cert.pem.as_bytes(),
                cert_spec,
            )?);
            result.push(IssuedFiles {
                cert,
                spec,
                key_path,
                cert_path,
            });
        }
        let temps: Vec<&Path> = staged.iter().map(fsutil::Staged::temp_path).collect();
        fsutil::sync_paths(&temps, job.out)?;
        for s in staged {
            s.commit()?;
        }
        fsutil::sync_dir(job.out)?;
        Ok(result)
    }
}
