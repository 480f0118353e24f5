//! clusterca-store: the CA directory, laid out as Puppet Server's `cadir`.
//!
//! `ca_crt.pem`, `ca_key.pem`, `ca_pub.pem`, `ca_crl.pem`, `serial`, `inventory.txt`,
//! `signed/<name>.pem`, `requests/<name>.pem`, plus our own `clusterca.lock`, which Puppet
//! Server ignores. Reads take no lock; every mutation goes through [`Store::signer`], which
//! takes the store lock and returns a [`Signer`] guard (see `lock`). The crash-safety rules:
//! serials are advanced durably before use (a crash leaves a gap, never a reuse); every file
//! replacement is atomic (see `fsutil`); inventory lines are appended whole and fsync-ed.
#![deny(missing_docs)]

mod authority;
mod check;
mod error;
mod expiry;
pub mod fsutil;
mod import;
pub mod inventory;
mod issue;
pub mod journal;
pub mod layout;
pub mod lock;
pub mod progress;
mod renew;
mod requests;
mod revoke;
pub mod rule;
pub mod serial;
mod status;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clusterca_pki::{
    CaSpec, CertName, CertificateAuthority, IssuedCert, LeafSpec, NewChain, PrivateKey,
};
use time::OffsetDateTime;

pub use authority::Authority;
use error::IoContext;
pub use error::{quote, Error};
use fsutil::Dir;
pub use fsutil::{FileSpec, Owner};
pub use import::{Adopted, ImportFiles, Input};
pub use inventory::InventoryLine;
pub use issue::{IssueJob, IssuedFiles};
pub use renew::{CaRenewed, RenewJob, RenewOutcome, Renewed};
pub use requests::{GroupDone, GroupOp, GroupResult, Refused};
pub use revoke::CrlUpdate;
pub use status::{CertState, CertStatus, EmptyObject, Fingerprints};

pub use layout::REQUIRED_FILES;

/// Mode of public files (certificates, CRLs, CSRs, `serial`, `inventory.txt`), as Puppet
/// Server writes them.
pub const PUBLIC_MODE: u32 = 0o644;

/// How long a new CRL is valid: Puppet's five years.
pub(crate) const CRL_LIFETIME: time::Duration = time::Duration::days(5 * 365);

/// One line of `inventory.txt`: its 1-based number and the line parsed, or what is wrong.
pub type ParsedLine = (usize, Result<InventoryLine, String>);

/// What a new CA directory holds besides the CA's certificate, keys and own CRL.
pub(crate) struct NewDir {
    /// The CA's own CRL, PEM; `None` for a new empty one.
    pub(crate) crl: Option<String>,
    /// PEM appended after the CA's own CRL in `ca_crl.pem` (a root's CRL).
    pub(crate) crl_chain: String,
    pub(crate) next_serial: u64,
    pub(crate) inventory: String,
    /// More files: name, content, and whether it is secret (a key's mode).
    pub(crate) extra: Vec<(&'static str, String, bool)>,
}

/// An opened CA directory.
#[derive(Debug, Clone)]
pub struct Store {
    /// The CA directory, opened once: every file operation is relative to it.
    root: Dir,
    owner: Option<Owner>,
    /// What the serial rule last found recorded, shared by clones (the server's workers).
    rule: std::sync::Arc<std::sync::Mutex<rule::RuleCache>>,
    /// What recovery of an interrupted batch did, for the front end to tell (see
    /// [`Store::take_notes`]).
    notes: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Store {
    /// Creates a new CA in `dir` (absent or empty): key, self-signed certificate (serial 1),
    /// public key, empty CRL, `serial` = `0002`, the CA's inventory line, `signed/` and
    /// `requests/`. Everything is built in a staging directory beside `dir` and renamed into
    /// place, so a crash leaves either no CA or a whole one. With `owner`, files are given to
    /// that user and group and the CA key is 0640; without, the key is 0600.
    pub fn create(
        dir: &Path,
        spec: &CaSpec,
        key: PrivateKey,
        owner: Option<Owner>,
        now: OffsetDateTime,
    ) -> Result<(Store, CertificateAuthority), Error> {
        refuse_existing(dir)?;
        let ca = CertificateAuthority::create(spec, key, now).map_err(|source| Error::Pki {
            path: dir.to_path_buf(),
            source,
        })?;
        let (not_before, not_after) = ca.validity();
        let ca_line = InventoryLine {
            serial: 1,
            not_before,
            not_after,
            subject: ca.subject().to_owned(),
        };
        let new = NewDir {
            crl: None,
            crl_chain: String::new(),
            next_serial: 2,
            inventory: ca_line.to_line(),
            extra: Vec::new(),
        };
        let store = Store::install_new(dir, &ca, new, owner, now)?;
        Ok((store, ca))
    }

    /// Creates a new CA directory in `dir` (absent or empty) for the intermediate of a
    /// two-level CA made by [`CertificateAuthority::create_chain`]: `ca_crt.pem` the
    /// intermediate then the root, `ca_crl.pem` the intermediate's new empty CRL then the
    /// root's, an empty inventory (both certificates are the root's serials) and the next
    /// serial 2 (the serial rule's floor, as in every CA directory). With `puppet`, also what `puppetserver ca setup` writes beside them: Puppet's
    /// infrastructure CRL, inventory and serials. With `root_key`, the root key as
    /// `root_key.pem` (secret, like `ca_key.pem`), where Puppet keeps it; without, it is not
    /// written here (the caller keeps it elsewhere). Puppet Server, started on the directory
    /// without a host certificate, signs its own with that serial.
    pub fn create_chain(
        dir: &Path,
        chain: &NewChain,
        puppet: bool,
        root_key: bool,
        owner: Option<Owner>,
        now: OffsetDateTime,
    ) -> Result<Store, Error> {
        refuse_existing(dir)?;
        let mut extra = Vec::new();
        if root_key {
            extra.push((layout::ROOT_KEY, chain.root_key_pem.clone(), true));
        }
        if puppet {
            extra.push((layout::INFRA_INVENTORY, String::new(), false));
            extra.push((layout::INFRA_SERIALS, String::new(), false));
        }
        let new = NewDir {
            crl: None,
            crl_chain: chain.root_crl.clone(),
            next_serial: 2,
            inventory: String::new(),
            extra,
        };
        Store::install_new(dir, &chain.ca, new, owner, now)
    }

    /// Writes a whole new CA directory: built in a staging directory beside `dir` and renamed
    /// into place, so a crash leaves either no CA or a whole one. Refuses a `dir` that is
    /// not absent or empty.
    pub(crate) fn install_new(
        dir: &Path,
        ca: &CertificateAuthority,
        new: NewDir,
        owner: Option<Owner>,
        now: OffsetDateTime,
    ) -> Result<Store, Error> {
        let own = match new.crl {
            Some(pem) => pem,
            None => ca
                .crl(&clusterca_pki::CrlSpec {
                    number: 0,
                    this_update: now,
                    next_update: now + CRL_LIFETIME,
                    revoked: Vec::new(),
                })
                .map_err(|source| Error::Pki {
                    path: dir.join(layout::CA_CRL),
                    source,
                })?,
        };
        let crl = format!("{own}{}", new.crl_chain);
        // Like `mkdir -p`: the CA directory's parents may not exist yet.
        let parent_path = fsutil::parent(dir);
        std::fs::create_dir_all(parent_path).ctx("create directory", parent_path)?;
        let (parent, name) = Dir::open_parent(dir)?;
        refuse_existing_in(&parent, &name, dir)?;
        let staging_name = format!(".{name}.init.{}", std::process::id());
        // Guard only what we made: a staging directory already there is someone else's.
        let staging = parent.mkdir(&staging_name, 0o750, owner)?;
        let guard = StagingDir {
            parent: parent.clone(),
            name: staging_name.clone(),
        };
        let signed = staging.mkdir(layout::SIGNED, 0o755, owner)?;
        let requests = staging.mkdir(layout::REQUESTS, 0o755, owner)?;
        let public = FileSpec {
            mode: PUBLIC_MODE,
            owner,
        };
        let secret = FileSpec {
            mode: if owner.is_some() { 0o640 } else { 0o600 },
            owner,
        };
        let mut files: Vec<(&str, String, FileSpec)> = vec![
            (layout::CA_KEY, ca.key_pem(), secret),
            (layout::CA_CRT, ca.chain_pem().to_owned(), public),
            (layout::CA_PUB, ca.public_key_pem(), public),
            (layout::CA_CRL, crl.clone(), public),
            (layout::SERIAL, serial::format(new.next_serial), public),
            (layout::INVENTORY, new.inventory, public),
        ];
        if new
            .extra
            .iter()
            .any(|(name, _, _)| *name == layout::INFRA_INVENTORY)
        {
            files.push((layout::INFRA_CRL, crl, public));
        }
        for (name, content, is_secret) in new.extra {
            files.push((name, content, if is_secret { secret } else { public }));
        }
        for (file, content, spec) in files {
            let mut f = staging.create_exclusive(file, spec)?;
            let path = staging.join(file);
            std::io::Write::write_all(&mut f, content.as_bytes()).ctx("write", &path)?;
            f.sync_all().ctx("fsync", &path)?;
        }
        for d in [&signed, &requests, &staging] {
            d.sync()?;
        }
        // rename(2) replaces an empty directory; a non-empty one (a racing init) fails.
        parent.rename(&staging_name, &name).map_err(|e| match e {
            // Another init won the race: the same refusal as if it had been there first.
            Error::Io { source, .. }
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists
                ) =>
            {
                refuse_existing_in(&parent, &name, dir)
                    .err()
                    .unwrap_or(Error::Io {
                        op: "move new CA into",
                        path: dir.to_path_buf(),
                        source,
                    })
            }
            Error::Io { source, .. } => Error::Io {
                op: "move new CA into",
                path: dir.to_path_buf(),
                source,
            },
            e => e,
        })?;
        std::mem::forget(guard);
        // The CA is in place from here: a failure now is not "nothing was made".
        parent
            .sync()
            .and_then(|()| parent.sub(&name))
            .map(|root| Store::at(root, owner))
            .map_err(|source| Error::CreatedNotDurable {
                dir: dir.to_path_buf(),
                source: Box::new(source),
            })
    }

    fn at(root: Dir, owner: Option<Owner>) -> Store {
        Store {
            root,
            owner,
            rule: Default::default(),
            notes: Default::default(),
        }
    }

    /// Opens an existing CA directory once (it must not be a symlink), refusing a missing or
    /// partial one. New files will be given the directory's owner when running as root.
    pub fn open(dir: &Path) -> Result<Store, Error> {
        let root = match Dir::open(dir) {
            Ok(root) => root,
            Err(e) if e.is_not_found() || is_not_dir(&e) => {
                return Err(Error::NotACa {
                    dir: dir.to_path_buf(),
                    missing: REQUIRED_FILES.to_vec(),
                })
            }
            Err(e) => return Err(e),
        };
        // A file we may not look at (permission denied) is an I/O error, not a missing file.
        let mut missing = Vec::new();
        for f in REQUIRED_FILES {
            if root.entry(f)?.is_none() {
                missing.push(f);
            }
        }
        if !missing.is_empty() {
            return Err(Error::NotACa {
                dir: dir.to_path_buf(),
                missing,
            });
        }
        let meta = root.stat()?;
        // Only root can give files away, and only when the directory is not already ours.
        let (euid, egid) = (nix::unistd::geteuid(), nix::unistd::getegid());
        let owner = (euid.is_root()
            && (meta.st_uid, meta.st_gid) != (euid.as_raw(), egid.as_raw()))
            .then_some(Owner {
                uid: meta.st_uid,
                gid: meta.st_gid,
            });
        Ok(Store::at(root, owner))
    }

    /// The CA directory's path as it was given, for messages only: every file operation goes
    /// through the directory handle opened by [`Store::open`].
    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    /// The CA directory's handle.
    pub(crate) fn root(&self) -> &Dir {
        &self.root
    }

    /// `signed/`, opened below the CA directory (a symlink is refused).
    pub(crate) fn signed_dir(&self) -> Result<Dir, Error> {
        self.root.sub(layout::SIGNED)
    }

    /// `requests/`, opened below the CA directory (a symlink is refused).
    pub(crate) fn requests_dir(&self) -> Result<Dir, Error> {
        self.root.sub(layout::REQUESTS)
    }

    /// `signed/` or `requests/` when it exists.
    pub(crate) fn sub_if_present(&self, sub: &str) -> Result<Option<Dir>, Error> {
        self.root.sub_if_present(sub)
    }

    /// Where `name`'s signed certificate is filed, for messages.
    pub fn signed_shown(&self, name: &CertName) -> PathBuf {
        self.root.join(layout::SIGNED).join(layout::pem(name))
    }

    /// Where `name`'s request is filed, for messages.
    pub fn request_shown(&self, name: &CertName) -> PathBuf {
        self.root.join(layout::REQUESTS).join(layout::pem(name))
    }

    /// A file of the CA directory's top level, for messages.
    pub fn shown(&self, file: &str) -> PathBuf {
        self.root.join(file)
    }

    /// `name`'s signed certificate file (PEM, at most [`fsutil::MAX_PEM`]), `None` when there
    /// is none.
    pub fn read_signed(&self, name: &CertName) -> Result<Option<Vec<u8>>, Error> {
        self.read_filed(layout::SIGNED, name)
    }

    /// `name`'s request file (PEM), `None` when there is none.
    pub fn read_request(&self, name: &CertName) -> Result<Option<Vec<u8>>, Error> {
        self.read_filed(layout::REQUESTS, name)
    }

    fn read_filed(&self, sub: &str, name: &CertName) -> Result<Option<Vec<u8>>, Error> {
        let Some(dir) = self.sub_if_present(sub)? else {
            return Ok(None);
        };
        match dir.read_bounded(&layout::pem(name), fsutil::MAX_PEM) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether `name` has a file in `signed/`.
    pub fn has_signed(&self, name: &CertName) -> Result<bool, Error> {
        Ok(self
            .sub_if_present(layout::SIGNED)?
            .is_some_and(|d| d.exists(&layout::pem(name))))
    }

    /// Whether `name` has a file in `requests/`.
    pub fn has_request(&self, name: &CertName) -> Result<bool, Error> {
        Ok(self
            .sub_if_present(layout::REQUESTS)?
            .is_some_and(|d| d.exists(&layout::pem(name))))
    }

    /// `ca_crl.pem`, the CRL chain as stored (at most [`fsutil::MAX_CRL`]).
    pub fn read_crl(&self) -> Result<Vec<u8>, Error> {
        self.root.read_bounded(layout::CA_CRL, fsutil::MAX_CRL)
    }

    /// `ca_crl.pem` and when it was last changed (for HTTP's `Last-Modified`), read through
    /// one open file (at most [`fsutil::MAX_CRL`]).
    pub fn read_crl_modified(&self) -> Result<(Vec<u8>, std::time::SystemTime), Error> {
        let path = self.root.join(layout::CA_CRL);
        let file = self.root.open_regular(layout::CA_CRL)?;
        let modified = file
            .metadata()
            .and_then(|m| m.modified())
            .ctx("stat", &path)?;
        Ok((fsutil::read_capped(file, &path, fsutil::MAX_CRL)?, modified))
    }

    /// The version of `ca_crl.pem` (changes whenever the CRL is rewritten), `None` when there
    /// is none: `serve` polls it to reload its revocation list.
    pub fn crl_stamp(&self) -> Result<Option<fsutil::Stamp>, Error> {
        self.root.stamp(layout::CA_CRL)
    }

    /// `ca_crt.pem`, the CA bundle as stored.
    pub fn read_ca_bundle(&self) -> Result<Vec<u8>, Error> {
        self.root.read_bounded(layout::CA_CRT, fsutil::MAX_PEM)
    }

    /// The directory `serve` keeps its own TLS certificate and key in, created (0750, the CA
    /// directory's owner) when missing.
    pub fn serve_dir(&self) -> Result<Dir, Error> {
        match self.root.sub_if_present(layout::SERVE)? {
            Some(d) => Ok(d),
            None => {
                let d = self.root.mkdir(layout::SERVE, 0o750, self.owner)?;
                self.root.sync()?;
                Ok(d)
            }
        }
    }

    /// Loads the CA certificate bundle and key.
    pub fn load_ca(&self) -> Result<CertificateAuthority, Error> {
        let key_bytes = self.root.read_bounded(layout::CA_KEY, fsutil::MAX_PEM)?;
        let key = PrivateKey::from_bytes(&key_bytes).map_err(|source| Error::Pki {
            path: self.root.join(layout::CA_KEY),
            source,
        })?;
        let crt = self.read_ca_bundle()?;
        CertificateAuthority::load(&crt, key).map_err(|source| Error::Pki {
            path: self.root.join(layout::CA_CRT),
            source,
        })
    }

    /// The next serial, as `serial` holds it.
    pub fn read_serial(&self) -> Result<u64, Error> {
        let bytes = self
            .root
            .read_bounded(layout::SERIAL, serial::MAX_FILE_LEN)?;
        serial::parse(
            &String::from_utf8_lossy(&bytes),
            &self.root.join(layout::SERIAL),
        )
    }

    /// Every line of `inventory.txt`, parsed, with its 1-based line number.
    pub fn read_inventory(&self) -> Result<Vec<ParsedLine>, Error> {
        let bytes = self.root.read_store_file(layout::INVENTORY)?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, InventoryLine::parse(l)))
            .collect())
    }

    /// Takes the signer lease (`clusterca.lease`) if it is free now: `Ok(None)` names no
    /// holder; read it with [`Store::lease_holder`].
    pub fn try_lease(&self) -> Result<Option<lock::LockGuard>, Error> {
        lock::try_acquire(&self.root, layout::LEASE, &holder_line(), self.owner)
    }

    /// Waits, blocking this thread, until the signer lease is free, then takes it.
    pub fn wait_lease(&self) -> Result<lock::LockGuard, Error> {
        lock::acquire_blocking(&self.root, layout::LEASE, &holder_line(), self.owner)
    }

    /// Holds the signer lease shared (`serve --shared`): beside other shared holders, never
    /// beside an exclusive one. `Ok(None)` when an exclusive `serve` holds it.
    pub fn share_lease(&self) -> Result<Option<lock::LockGuard>, Error> {
        lock::try_acquire_shared(&self.root, layout::LEASE)
    }

    /// Who holds the signer lease, as it wrote itself into the file (shared holders write
    /// nothing: they are named as such).
    pub fn lease_holder(&self) -> String {
        if lock::held_shared(&self.root, layout::LEASE) {
            return "one or more `serve --shared` signers".into();
        }
        lock::holder_of(&self.root, layout::LEASE)
    }

    /// Takes the store lock, waiting at most `timeout`. Every mutation happens through the
    /// returned guard; dropping it releases the lock.
    /// Before it returns, an interrupted batch is finished or undone (see `journal`).
    pub fn signer(&self, timeout: Duration) -> Result<Signer<'_>, Error> {
        let mut signer = self.lock(timeout)?;
        signer.recovered = signer.recover()?;
        if !signer.recovered.is_empty() {
            let mut notes = self.notes.lock().unwrap_or_else(|p| p.into_inner());
            notes.extend(signer.recovered.iter().cloned());
        }
        Ok(signer)
    }

    /// What recovering interrupted batches did since the last call, one line per action: a
    /// front end prints these, as the library does not.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Takes the store lock without looking at the journal: for `check --repair`, which
    /// deals with an unreadable one itself.
    pub(crate) fn lock(&self, timeout: Duration) -> Result<Signer<'_>, Error> {
        let guard = lock::acquire(
            &self.root,
            layout::LOCK,
            timeout,
            &holder_line(),
            self.owner,
        )?;
        Ok(Signer {
            store: self,
            _guard: guard,
            recovered: Vec::new(),
        })
    }

    /// Every serial the directory records as used: `inventory.txt` (the first word of each
    /// line), the certificates in `signed/` and the CA's own CRL.
    pub fn recorded_serials(&self) -> Result<serial::Recorded, Error> {
        use rayon::prelude::*;
        let inventory = inventory::serials_for_rule(&self.root, layout::INVENTORY)?;
        let crl = self.crl_serials()?;
        let ca = self.ca_serials()?.into_iter().collect();
        let Some(signed_dir) = self.sub_if_present(layout::SIGNED)? else {
            return Ok(serial::Recorded {
                inventory,
                signed: Default::default(),
                crl,
                ca,
            });
        };
        let files = signed_dir.names()?;
        let signed = files
            .par_iter()
            .filter_map(|f| {
                let f = f.to_str()?;
                (f.ends_with(".pem") && !f.starts_with('.')).then_some(f)
            })
            .map(|f| match signed_dir.read_bounded(f, fsutil::MAX_PEM) {
                Ok(bytes) => Ok(clusterca_pki::inspect::serial_and_spki(&bytes)
                    .ok()
                    .and_then(|(s, _)| s)),
                // Gone since the listing, or not a file: nothing recorded there.
                Err(e) if e.is_not_found() => Ok(None),
                Err(Error::Corrupt { .. } | Error::Unsafe { .. }) => Ok(None),
                Err(e) => Err(e),
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        Ok(serial::Recorded {
            inventory,
            signed,
            crl,
            ca,
        })
    }

    /// The serials of the certificates in `ca_crt.pem` issued under the CA's own name: the
    /// CA certificate and its renewals (`renew --ca` takes their serials from the counter).
    /// A bundle that does not parse has none (`check` reports it); an I/O error is one.
    pub(crate) fn ca_serials(&self) -> Result<Vec<u64>, Error> {
        use clusterca_pki::inspect;
        let bundle = match self.read_ca_bundle() {
            Ok(b) => b,
            Err(e @ Error::Io { .. }) if !e.is_not_found() => return Err(e),
            Err(_) => return Ok(Vec::new()),
        };
        let certs = inspect::certificates(&bundle).unwrap_or_default();
        let Some(own) = certs
            .first()
            .and_then(|c| inspect::raw_names(c).ok())
            .map(|(_, subject)| subject)
        else {
            return Ok(Vec::new());
        };
        Ok(certs
            .iter()
            .filter(|c| inspect::raw_names(c).is_ok_and(|(issuer, _)| issuer == own))
            .filter_map(|c| inspect::serial_and_spki(c).ok().and_then(|(s, _)| s))
            .collect())
    }

    /// The next serial by the serial rule (see `serial` and `rule`), as the next signing would
    /// take it.
    pub fn next_serial(&self) -> Result<u64, Error> {
        Ok(serial::next(self.read_serial()?, self.highest_recorded()?))
    }

    /// Serials revoked by the CA's own CRL (the first in `ca_crl.pem`), decimal.
    pub fn revoked_serials(&self) -> Result<HashSet<String>, Error> {
        let bytes = self.read_crl()?;
        let objects =
            clusterca_pki::inspect::parse(&bytes, OffsetDateTime::now_utc()).map_err(|source| {
                Error::Pki {
                    path: self.root.join(layout::CA_CRL),
                    source,
                }
            })?;
        Ok(objects
            .into_iter()
            .find_map(|o| match o {
                clusterca_pki::inspect::Object::Crl(crl) => Some(crl),
                _ => None,
            })
            .map(|crl| crl.revoked.into_iter().map(|r| r.serial_decimal).collect())
            .unwrap_or_default())
    }

    /// The certnames filed under `signed/` and `requests/`, each with its status, sorted by
    /// name. Files whose names are not valid certnames are skipped: no path is built from them.
    pub fn statuses(&self, now: OffsetDateTime) -> Result<Vec<CertStatus>, Error> {
        status::collect(self, now, status::Detail::Full)
    }

    /// [`Store::statuses`] without fingerprints (`fingerprint` and `fingerprints` are empty)
    /// and without `not_before`: what a text listing shows, read faster.
    pub fn statuses_brief(&self, now: OffsetDateTime) -> Result<Vec<CertStatus>, Error> {
        status::collect(self, now, status::Detail::Brief)
    }

    /// The signed certificates that are not revoked and, with `within`, expire within it (the
    /// expired ones included): what `renew --all` / `--expiring-within` renew and `list
    /// --expiring` lists.
    pub fn renewable(
        &self,
        within: Option<clusterca_pki::Ttl>,
        now: OffsetDateTime,
    ) -> Result<Vec<CertStatus>, Error> {
        let limit = within.map(|t| t.as_secs() as i64);
        Ok(self
            .statuses(now)?
            .into_iter()
            .filter(|s| matches!(s.state, CertState::Signed | CertState::Expired))
            .filter(|s| match (limit, s.seconds_left) {
                (None, _) => true,
                (Some(limit), Some(left)) => left <= limit,
                (Some(_), None) => false,
            })
            .collect())
    }

    /// [`Store::statuses`] as Puppet Server reports them (an expired certificate is
    /// `signed`), for the CA API.
    pub fn puppet_statuses(&self, now: OffsetDateTime) -> Result<Vec<CertStatus>, Error> {
        Ok(self
            .statuses(now)?
            .into_iter()
            .map(CertStatus::puppet_view)
            .collect())
    }

    /// Creates `signed/` and `requests/` (0755, the directory's owner) when missing.
    pub(crate) fn ensure_dirs(&self) -> Result<(), Error> {
        for sub in [layout::SIGNED, layout::REQUESTS] {
            if self.sub_if_present(sub)?.is_none() {
                match self.root.mkdir(sub, 0o755, self.owner) {
                    Ok(_) => self.root.sync()?,
                    // Made meanwhile by another process: opened (or refused) like any other.
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    fn public_spec(&self) -> FileSpec {
        FileSpec {
            mode: PUBLIC_MODE,
            owner: self.owner,
        }
    }
}

fn is_not_dir(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.raw_os_error() == Some(nix::libc::ENOTDIR))
}

/// The first certificate in a PEM file: its DER and what it says. The one way the store reads
/// a certificate file (`signed/`, statuses, revocation, check).
pub(crate) fn read_cert_file(
    dir: &Dir,
    file: &str,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, clusterca_pki::inspect::CertInfo), Error> {
    let der = read_cert_der(dir, file)?;
    let info =
        clusterca_pki::inspect::certificate_info(&der, now).map_err(|source| Error::Pki {
            path: dir.join(file),
            source,
        })?;
    Ok((der, info))
}

/// The DER of the first certificate in the PEM file `file` of `dir`.
pub(crate) fn read_cert_der(dir: &Dir, file: &str) -> Result<Vec<u8>, Error> {
    let bytes = dir.read_bounded(file, fsutil::MAX_PEM)?;
    let path = dir.join(file);
    clusterca_pki::inspect::certificates(&bytes)
        .map_err(|source| Error::Pki {
            path: path.clone(),
            source,
        })?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Corrupt {
            path,
            line: None,
            reason: "no CERTIFICATE block".into(),
        })
}

/// What a lock holder writes into the lock file: `pid N on HOST since TIME`.
fn holder_line() -> String {
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown-host".into());
    let since = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!("pid {} on {host} since {since}\n", std::process::id())
}

/// Removes a half-built staging directory when `create` fails (only what `create` writes: its
/// files, `signed/` and `requests/`, all empty of anything else).
struct StagingDir {
    parent: Dir,
    name: String,
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if let Ok(staging) = self.parent.sub(&self.name) {
            for sub in [layout::SIGNED, layout::REQUESTS] {
                let _ = staging.remove_dir(sub);
            }
            for file in NEW_DIR_FILES {
                let _ = staging.remove_if_present(file);
            }
            let _ = self.parent.remove_dir(&self.name);
        }
    }
}

/// Every file `install_new` may write into a staging directory (its guard removes them all).
const NEW_DIR_FILES: [&str; 10] = [
    layout::CA_KEY,
    layout::CA_CRT,
    layout::CA_PUB,
    layout::CA_CRL,
    layout::SERIAL,
    layout::INVENTORY,
    layout::ROOT_KEY,
    layout::INFRA_CRL,
    layout::INFRA_INVENTORY,
    layout::INFRA_SERIALS,
];

/// Refuses a CA directory `dir` that exists and is not empty.
/// A secret file just written by [`write_new_secret`]: its directory handle and identity, so
/// that it can be taken back without following its path again.
#[derive(Debug)]
pub struct NewSecret {
    parent: Dir,
    name: String,
    id: (u64, u64),
}

impl NewSecret {
    /// Removes the file, when what it was written for failed: through the directory handle
    /// it was created in, and only if the name still holds the file written (same device and
    /// inode). Says whether it was removed.
    pub fn remove(self) -> Result<bool, Error> {
        match self.parent.identity(&self.name)? {
            Some(id) if id == self.id => {
                self.parent.remove_if_present(&self.name)?;
                self.parent.sync()?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Writes a secret (a root key kept away from the CA directory) to a new file at `path`:
/// created exclusively (an existing file or a symlink there is refused), mode 0600, written and
/// synced with its directory before this returns. Refuses first a `dir` (the CA directory
/// about to be created) that is not absent or empty, and a `path` whose directory is `dir`
/// (by device and inode, however either is spelled), so nothing is written for an `init`
/// that would fail or keep the secret in the CA directory.
pub fn write_new_secret(path: &Path, content: &str, dir: &Path) -> Result<NewSecret, Error> {
    refuse_existing(dir)?;
    let (parent, name) = Dir::open_parent(path).map_err(|e| {
        if e.is_not_found() {
            Error::Usage {
                reason: format!(
                    "{}: its directory does not exist",
                    quote(&path.display().to_string())
                ),
            }
        } else {
            e
        }
    })?;
    let here = parent.stat()?;
    if let Ok(target) = std::fs::metadata(dir) {
        use std::os::unix::fs::MetadataExt;
        if (target.dev(), target.ino()) == (here.st_dev, here.st_ino) {
            return Err(Error::Usage {
                reason: format!(
                    "{}: inside the CA directory {}; keep the root key elsewhere (offline)",
                    quote(&path.display().to_string()),
                    quote(&dir.display().to_string())
                ),
            });
        }
    }
    let spec = FileSpec {
        mode: 0o600,
        owner: None,
    };
    let mut file = parent.create_exclusive(&name, spec).map_err(|e| match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
            Error::Usage {
                reason: format!(
                    "{}: already exists; refusing to overwrite a private key",
                    quote(&path.display().to_string())
                ),
            }
        }
        e => e,
    })?;
    let id = rustix::fs::fstat(&file)
        .map(|st| (st.st_dev, st.st_ino))
        .map_err(std::io::Error::from)
        .ctx("stat", path)?;
    let secret = NewSecret { parent, name, id };
    let written = std::io::Write::write_all(&mut file, content.as_bytes())
        .ctx("write", path)
        .and_then(|()| file.sync_all().ctx("fsync", path))
        .and_then(|()| secret.parent.sync());
    match written {
        Ok(()) => Ok(secret),
        Err(e) => {
            let _ = secret.remove();
            Err(e)
        }
    }
}

pub(crate) fn refuse_existing(dir: &Path) -> Result<(), Error> {
    match Dir::open_parent(dir) {
        Ok((parent, name)) => refuse_existing_in(&parent, &name, dir),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

fn refuse_existing_in(parent: &Dir, name: &str, dir: &Path) -> Result<(), Error> {
    match first_entry(parent, name)? {
        Some(found) => Err(Error::AlreadyExists {
            dir: dir.to_path_buf(),
            found,
        }),
        None => Ok(()),
    }
}

/// The first entry of the directory `name` in `parent` (CA files first), or `None` when it is
/// absent or empty.
fn first_entry(parent: &Dir, name: &str) -> Result<Option<String>, Error> {
    let dir = match parent.sub(name) {
        Ok(d) => d,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    if let Some(f) = REQUIRED_FILES.iter().find(|f| dir.exists(f)) {
        return Ok(Some((*f).to_owned()));
    }
    Ok(dir
        .names()?
        .first()
        .map(|n| n.to_string_lossy().into_owned()))
}

/// The holder of the store lock: the only way to change a CA directory.
#[derive(Debug)]
pub struct Signer<'a> {
    store: &'a Store,
    _guard: lock::LockGuard,
    recovered: Vec<String>,
}

impl Signer<'_> {
    /// What taking the lock finished or undid of an interrupted batch (see `journal`), one
    /// line per action; empty when there was none.
    pub fn recovered(&self) -> &[String] {
        &self.recovered
    }

    /// Issues one certificate per `(spec, key)`: refuses names that already have a signed
    /// certificate (or appear twice), reserves all serials in one step, signs in parallel, and
    /// records the batch with a group commit (see [`Signer::record`]). `key_files` names the
    /// file each key was written to (or is empty): the journal keeps them for `check`.
    pub fn issue(
        &mut self,
        ca: &CertificateAuthority,
        batch: &[(LeafSpec, &PrivateKey)],
        key_files: &[PathBuf],
        now: OffsetDateTime,
    ) -> Result<Vec<IssuedCert>, Error> {
        let kind = BatchKind::Keys(key_files);
        self.sign_batch(batch, kind, |(spec, key), serial| {
            ca.issue(spec, key, serial, now)
        })
    }

    /// The batch pipeline every signing path shares: check the names, reserve the serials
    /// in one step, run `sign` in parallel with each item's serial, record the batch.
    pub(crate) fn sign_batch<T: Sync>(
        &mut self,
        batch: &[(LeafSpec, T)],
        kind: BatchKind<'_>,
        sign: impl Fn(&(LeafSpec, T), u64) -> Result<IssuedCert, clusterca_pki::Error> + Sync,
    ) -> Result<Vec<IssuedCert>, Error> {
        check_new_names(self.store, batch.iter().map(|(s, _)| &s.name))?;
        // `sign_reserved` calls back with each index below the count it is given: in range.
        self.sign_reserved(batch.len(), kind, |i, serial| {
            sign(&batch[i], serial).map_err(|source| Error::Pki {
                path: self.store.signed_shown(&batch[i].0.name),
                source,
            })
        })
    }

    /// Reserves `count` serials, runs `sign` in parallel for each index with its serial and
    /// records the batch: the second half of [`Signer::sign_batch`], which renewals share.
    pub(crate) fn sign_reserved(
        &mut self,
        count: usize,
        kind: BatchKind<'_>,
        sign: impl Fn(usize, u64) -> Result<IssuedCert, Error> + Sync,
    ) -> Result<Vec<IssuedCert>, Error> {
        use rayon::prelude::*;
        // Reserved here, written back with the batch's group commit, before the commit point:
        // nothing signed is recorded or handed out before the `serial` file is past it.
        let (first, after) = serial::reserve(
            self.store.next_serial()?,
            count as u64,
            &self.store.shown(layout::SERIAL),
        )?;
        let stage = progress::Stage::new("signing", count);
        let issued = (0..count)
            .into_par_iter()
            .map(|i| {
                let signed = sign(i, first + i as u64);
                stage.tick();
                signed
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.record(&issued, kind, after)?;
        Ok(issued)
    }

    /// [`Signer::sign_reserved`] for signed requests, where one request that cannot be signed
    /// holds up no other: `sign` runs for each index with its serial, those that fail are
    /// returned with their errors (their serials are left unused: gaps, never reused once a
    /// later one is recorded), and the others are recorded as one batch. Errors of the store
    /// itself (the reservation, the record) are still the whole batch's.
    pub(crate) fn sign_requests_each(
        &mut self,
        count: usize,
        sign: impl Fn(usize, u64) -> Result<IssuedCert, Error> + Sync,
    ) -> Result<EachSigned, Error> {
        use rayon::prelude::*;
        let (first, after) = serial::reserve(
            self.store.next_serial()?,
            count as u64,
            &self.store.shown(layout::SERIAL),
        )?;
        let stage = progress::Stage::new("signing", count);
        let results: Vec<Result<IssuedCert, Error>> = (0..count)
            .into_par_iter()
            .map(|i| {
                let signed = sign(i, first + i as u64);
                stage.tick();
                signed
            })
            .collect();
        let (mut indices, mut certs, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(c) => {
                    indices.push(i);
                    certs.push(c);
                }
                Err(e) => failed.push((i, e)),
            }
        }
        if !certs.is_empty() {
            self.record(&certs, BatchKind::Requests, after)?;
        }
        Ok((indices.into_iter().zip(certs).collect(), failed))
    }

    /// Records certificates just signed with serials below `next_serial`. The order, and what
    /// each failure leaves (the states `check` sees, written down in docs/store.md):
    /// 1. `signed/` files, the new `serial` (`next_serial`) and `clusterca.journal` (naming
    ///    the batch) are written under temporary names and made durable together (the group
    ///    commit, see [`fsutil::sync_staged`]). Failure: *not issued*; the temporary files are
    ///    removed (or, after a crash, reported as stale and removed by `--repair`).
    /// 2. `serial` and the journal are renamed into place, the CA directory fsync-ed once for
    ///    both. Failure: *not issued*; the journal is removed (or dropped by the next signer,
    ///    as no line records it); `serial` may have moved on (a gap).
    /// 3. The inventory lines are appended in one write and fsync-ed: **the commit point**.
    ///    A failed write is cut off again: *not issued*. A failed fsync (or a cut that fails):
    ///    *issued*, finished by the next signer from the journal.
    /// 4. The files are renamed into `signed/`, the directory fsync-ed; signed requests are
    ///    removed. Failure: *issued*; the next signer (or `check --repair`) writes what is
    ///    missing from the journal and removes the requests.
    /// 5. The journal is removed (not fsync-ed: one back after a crash names only finished
    ///    work). Failure: *issued*, complete; the next signer removes it.
    ///
    /// Errors from step 3 on are [`Error::Unfinished`]: the caller must keep the keys.
    pub(crate) fn record(
        &mut self,
        issued: &[IssuedCert],
        kind: BatchKind<'_>,
        next_serial: u64,
    ) -> Result<(), Error> {
        let before = self.store.signed_cached();
        self.record_batch(issued, kind, next_serial)?;
        let serials: Vec<u64> = issued.iter().map(|c| c.serial).collect();
        // A renewal replaces its file: `signed/` holds as many as before.
        let added = match kind {
            BatchKind::Renewals { .. } => 0,
            _ => serials.len() as u64,
        };
        self.store.signed_changed(before, &serials, added, 0);
        Ok(())
    }

    /// Steps 1 to 5 of [`Signer::record`].
    fn record_batch(
        &mut self,
        issued: &[IssuedCert],
        kind: BatchKind<'_>,
        next_serial: u64,
    ) -> Result<(), Error> {
        let spec = self.store.public_spec();
        // Every directory handle the batch needs is opened before anything is written: a
        // symlink swapped in refuses the batch before it is recorded, not after.
        let signed = self.store.signed_dir()?;
        let requests = match kind {
            BatchKind::Requests => Some(self.store.requests_dir()?),
            _ => None,
        };
        let staged = issued
            .iter()
            .map(|c| signed.stage_unsynced(&layout::pem(&c.name), c.pem.as_bytes(), spec))
            .collect::<Result<Vec<_>, _>>()?;
        let entries = issued
            .iter()
            .enumerate()
            .map(|(i, c)| journal::JournalEntry {
                serial: c.serial,
                name: c.name.to_string(),
                certificate: c.pem.clone(),
                // Absolute: `check` may run from another directory.
                key: match kind {
                    BatchKind::Keys(keys) | BatchKind::Renewals { keys, .. } => keys
                        .get(i)
                        .map(|k| std::path::absolute(k).unwrap_or_else(|_| k.clone())),
                    BatchKind::Requests => None,
                },
                request: matches!(kind, BatchKind::Requests),
                replaces: match kind {
                    BatchKind::Renewals { replaces, .. } => replaces.get(i).copied(),
                    _ => None,
                },
            })
            .collect();
        let root = self.store.root();
        let serial_file =
            root.stage_unsynced(layout::SERIAL, serial::format(next_serial).as_bytes(), spec)?;
        let journal = self.stage_journal(&journal::Journal::new(entries))?;
        let mut temps: Vec<&fsutil::Staged> = staged.iter().collect();
        temps.extend([&serial_file, &journal]);
        fsutil::sync_staged(&temps)?;
        serial_file.commit()?;
        let placed = journal.commit().and_then(|()| root.sync());
        if let Err(e) = placed {
            let _ = self.clear_journal();
            return Err(e);
        }
        let lines: String = issued
            .iter()
            .map(|c| {
                InventoryLine {
                    serial: c.serial,
                    not_before: c.not_before,
                    not_after: c.not_after,
                    subject: c.subject.clone(),
                }
                .to_line()
            })
            .collect();
        if let Err(fail) = inventory::append(root, layout::INVENTORY, lines.as_bytes()) {
            if !fail.maybe_recorded {
                let _ = self.clear_journal();
                return Err(fail.error);
            }
            return Err(unfinished(issued, fail.error));
        }
        self.finish_record(&signed, requests.as_ref(), staged, issued)
            .map_err(|e| unfinished(issued, e))
    }

    /// Steps 4 and 5 of [`Signer::record`].
    fn finish_record(
        &mut self,
        signed: &Dir,
        requests: Option<&Dir>,
        staged: Vec<fsutil::Staged>,
        issued: &[IssuedCert],
    ) -> Result<(), Error> {
        for s in staged {
            s.commit()?;
        }
        signed.sync()?;
        if let Some(requests) = requests {
            let mut removed = false;
            for c in issued {
                removed |= requests.remove_if_present(&layout::pem(&c.name))?;
            }
            // Autosigned requests were never filed: nothing to make durable then.
            if removed {
                requests.sync()?;
            }
        }
        self.clear_journal()
    }
}

/// What [`Signer::sign_requests_each`] gives back: the certificates signed and recorded, and
/// the requests that could not be signed with why, each with its index in the batch.
pub(crate) type EachSigned = (Vec<(usize, IssuedCert)>, Vec<(usize, Error)>);

/// What a batch signs from, which decides what its journal records.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BatchKind<'k> {
    /// Keys made here, written to these files (one per certificate, or none).
    Keys(&'k [PathBuf]),
    /// Requests in `requests/`, removed once signed.
    Requests,
    /// Renewals: each replaces the `signed/` certificate with serial `replaces[i]`; `keys`
    /// names new key files (`--rekey`), or is empty.
    Renewals {
        /// The serials replaced, one per certificate.
        replaces: &'k [u64],
        /// Key files written for them, or none.
        keys: &'k [PathBuf],
    },
}

fn unfinished(issued: &[IssuedCert], source: Error) -> Error {
    Error::Unfinished {
        names: issued.iter().map(|c| c.name.to_string()).collect(),
        source: Box::new(source),
    }
}

/// Refuses certnames that already have a signed certificate or appear twice in one batch.
pub(crate) fn check_new_names<'a>(
    store: &Store,
    names: impl Iterator<Item = &'a CertName>,
) -> Result<(), Error> {
    let mut seen = HashSet::new();
    let signed = store.signed_dir()?;
    for name in names {
        name.check_dns().map_err(|source| Error::Pki {
            path: store.signed_shown(name),
            source,
        })?;
        if !seen.insert(name) || signed.exists(&layout::pem(name)) {
            return Err(Error::AlreadySigned {
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clusterca_pki::{KeyType, Ttl};

    fn store() -> (tempfile::TempDir, Store, CertificateAuthority) {
        let dir = tempfile::tempdir().unwrap();
        let spec = CaSpec {
            common_name: "Rule CA".into(),
            ttl: Ttl::from_secs(86_400 * 365),
        };
        let key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let (store, ca) = Store::create(
            &dir.path().join("ca"),
            &spec,
            key,
            None,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        (dir, store, ca)
    }

    fn issue(store: &Store, ca: &CertificateAuthority, name: &str) -> u64 {
        let key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let spec = LeafSpec::new(name.parse().unwrap(), [], Ttl::from_secs(86_400));
        let mut signer = store.signer(Duration::from_secs(5)).unwrap();
        signer
            .issue(ca, &[(spec, &key)], &[], OffsetDateTime::now_utc())
            .unwrap()[0]
            .serial
    }

    #[test]
    fn one_request_that_cannot_be_signed_holds_up_no_other() {
        let (_dir, store, ca) = store();
        let before = issue(&store, &ca, "first.example.net");
        let key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let names = ["a.example.net", "b.example.net", "c.example.net"];
        let now = OffsetDateTime::now_utc();
        let mut signer = store.signer(Duration::from_secs(5)).unwrap();
        let (signed, failed) = signer
            .sign_requests_each(3, |i, serial| {
                if i == 1 {
                    return Err(Error::Corrupt {
                        path: "b".into(),
                        line: None,
                        reason: "cannot be signed".into(),
                    });
                }
                let spec = LeafSpec::new(names[i].parse().unwrap(), [], Ttl::from_secs(3_600));
                ca.issue(&spec, &key, serial, now)
                    .map_err(|source| Error::Pki {
                        path: "x".into(),
                        source,
                    })
            })
            .unwrap();
        drop(signer);
        assert_eq!(signed.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, 1);
        for (name, there) in names.iter().zip([true, false, true]) {
            assert_eq!(
                store.has_signed(&name.parse().unwrap()).unwrap(),
                there,
                "{name}"
            );
        }
        // Distinct serials past the earlier one; the failed one's serial is a gap, and the
        // next signing goes past all three.
        let serials: Vec<u64> = signed.iter().map(|(_, c)| c.serial).collect();
        assert_eq!(serials, [before + 1, before + 3]);
        assert_eq!(issue(&store, &ca, "next.example.net"), before + 4);
    }

    #[test]
    fn the_rules_cache_follows_own_commits_and_sees_every_other_change() {
        let (_d, store, ca) = store();
        assert_eq!(store.next_serial().unwrap(), 2);
        assert_eq!(issue(&store, &ca, "a.example.net"), 2);
        // Moved forward by the commit itself, not read again.
        assert!(store.signed_cached().is_some());
        assert_eq!(store.next_serial().unwrap(), 3);
        // Another writer records serial 0x40 without touching `serial`: the stamp changes.
        let inventory = store.shown(layout::INVENTORY);
        let mut text = std::fs::read_to_string(&inventory).unwrap();
        text.push_str("0x0040 2026-01-01T00:00:00UTC 2031-01-01T00:00:00UTC /CN=x\n");
        std::fs::write(&inventory, text).unwrap();
        assert_eq!(store.next_serial().unwrap(), 0x41);
        // A clone (a server worker) shares the cache, a second Store reads on its own.
        let other = Store::open(store.dir()).unwrap();
        assert_eq!(issue(&other, &ca, "b.example.net"), 0x41);
        assert_eq!(store.clone().next_serial().unwrap(), 0x42);
    }

    #[test]
    fn signed_max_is_read_only_while_its_stamp_matches_the_directory() {
        let (_d, store, ca) = store();
        issue(&store, &ca, "a.example.net");
        let file = store.shown(layout::SIGNED_MAX);
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(
            written.starts_with("v1 ") && written.trim_end().ends_with(" 2"),
            "{written}"
        );
        // A new process trusts it while signed/ is unchanged...
        let stamp = store.signed_stamp().unwrap();
        let planted = format!("v1 {} {} {} 1 {}\n", stamp.0, stamp.1, stamp.2, 0x50);
        std::fs::write(&file, planted).unwrap();
        assert_eq!(
            Store::open(store.dir()).unwrap().next_serial().unwrap(),
            0x51
        );
        // ...and reads signed/ again when the stamp is not the directory's.
        std::fs::write(&file, "v1 1 2 3 1 80\n").unwrap();
        assert_eq!(Store::open(store.dir()).unwrap().next_serial().unwrap(), 3);
        std::fs::write(&file, "garbage").unwrap();
        assert_eq!(Store::open(store.dir()).unwrap().next_serial().unwrap(), 3);
    }

    #[test]
    fn a_file_another_program_adds_during_our_commit_is_reported_by_check() {
        let (_d, store, ca) = store();
        issue(&store, &ca, "a.example.net");
        let before = store.signed_cached();
        assert!(before.is_some());
        // Our commit adds one entry; a program that takes no lock adds another meanwhile.
        let pem = std::fs::read(store.shown("signed/a.example.net.pem")).unwrap();
        std::fs::write(store.shown("signed/ours.example.net.pem"), &pem).unwrap();
        std::fs::write(store.shown("signed/foreign.example.net.pem"), &pem).unwrap();
        store.signed_changed(before, &[3], 1, 0);
        let findings = store.check(OffsetDateTime::now_utc()).unwrap();
        assert!(
            findings.iter().any(|f| f.rule == "signed-max-stale"),
            "{findings:?}"
        );
        let (_, after) = store
            .repair(Duration::from_secs(5), OffsetDateTime::now_utc())
            .unwrap();
        assert!(!after.iter().any(|f| f.rule == "signed-max-stale"));
        assert!(!store.shown(layout::SIGNED_MAX).exists());
    }

    #[test]
    fn an_inventory_rewritten_in_place_is_read_again_whole() {
        let (_d, store, ca) = store();
        issue(&store, &ca, "a.example.net");
        assert_eq!(store.next_serial().unwrap(), 3);
        // Same length, a higher serial on the last line: not an append.
        let inventory = store.shown(layout::INVENTORY);
        let text = std::fs::read_to_string(&inventory).unwrap();
        std::fs::write(&inventory, text.replacen("0x0002", "0x0040", 1)).unwrap();
        assert_eq!(store.next_serial().unwrap(), 0x41);
        // A partial last line is read again once it is whole.
        let mut text = std::fs::read_to_string(&inventory).unwrap();
        text.push_str("0x00");
        std::fs::write(&inventory, &text).unwrap();
        assert_eq!(store.next_serial().unwrap(), 0x41);
        text.push_str("50 2026-01-01T00:00:00UTC 2031-01-01T00:00:00UTC /CN=z\n");
        std::fs::write(&inventory, &text).unwrap();
        assert_eq!(store.next_serial().unwrap(), 0x51);
    }
}
