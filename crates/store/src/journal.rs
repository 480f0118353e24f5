//! `clusterca.journal`: the batch being recorded, so that any failure part-way through is
//! finished or undone by the next signer (or `check --repair`) instead of being guessed at.
//!
//! [`crate::Signer::record`] writes the journal (atomically, durably) after the `signed/`
//! files are staged and before the inventory lines are appended. It names, for every
//! certificate of the batch, its serial, certname, PEM, the key file written for it (when the
//! key was made here) and whether a request in `requests/` is to be removed. The inventory
//! append is the commit point: an entry whose serial has a whole line in `inventory.txt` is
//! *issued*, any other entry is *not issued*. Recovery, under the store lock:
//!
//! - a torn last inventory line is cut off (it is never a record);
//! - issued entries are rolled forward: `signed/NAME.pem` is written from the journal when
//!   missing, the signed request is removed, the inventory and both directories are fsync-ed;
//! - entries not issued are dropped: their serials stay unused (a gap), their `signed/`
//!   temporary files are stale (removed by `check --repair`);
//! - the journal is removed.
//!
//! Key files outside the CA directory are never written or removed by recovery: the journal
//! is only read to tell `check` where to look for them.

use std::path::{Path, PathBuf};

use clusterca_pki::{inspect, CertName, Finding, Rule, Severity};
use serde::{Deserialize, Serialize};

use crate::error::{quote, IoContext};
use crate::{fsutil, inventory, layout, Error, Signer, Store};

/// Name of the journal in the CA directory.
pub const JOURNAL_FILE: &str = layout::JOURNAL;

/// Prefix of a journal set aside because it could not be used; `check` reports these.
pub const SET_ASIDE: &str = layout::JOURNAL_SET_ASIDE;

/// Format version written into the journal.
const VERSION: u32 = 1;

/// The batch being recorded.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    /// Format version, 1.
    pub version: u32,
    /// One entry per certificate of the batch.
    pub entries: Vec<JournalEntry>,
}

/// One certificate of the batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// Its serial.
    pub serial: u64,
    /// Its certname.
    pub name: String,
    /// The certificate, PEM.
    pub certificate: String,
    /// The key file written for it, when the key was made by this batch (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Whether `requests/NAME.pem` is removed once it is signed.
    #[serde(default)]
    pub request: bool,
    /// A renewal: the serial of the certificate `signed/NAME.pem` held, which this one
    /// replaces (recovery writes it over that one, never over anything else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<u64>,
}

impl Journal {
    pub(crate) fn new(entries: Vec<JournalEntry>) -> Self {
        Journal {
            version: VERSION,
            entries,
        }
    }
}

impl JournalEntry {
    /// The certname, refusing one a hostile journal could use to build a path.
    fn certname(&self) -> Result<CertName, String> {
        self.name.parse().map_err(|_| {
            format!(
                "serial 0x{:04X}: {} is not a valid certname",
                self.serial,
                quote(&self.name)
            )
        })
    }

    /// The certificate, checked against the entry and the CA: its serial is the entry's, its
    /// subject is `CN=NAME`, and the CA (`ca_spki`) signed it. Returns its DER and public key.
    /// A journal that fails this is not written anywhere: whoever can write the journal can
    /// write `signed/` directly, but must not get our hand to write more than a certificate
    /// of this CA under its own name.
    fn checked_certificate(&self, ca_spki: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let der = inspect::certificates(self.certificate.as_bytes())
            .ok()
            .and_then(|c| c.into_iter().next())
            .ok_or("no certificate")?;
        let info = inspect::certificate_info(&der, time::OffsetDateTime::now_utc())
            .map_err(|e| e.to_string())?;
        if info.serial_decimal != self.serial.to_string() {
            return Err(format!("its serial is not 0x{:04X}", self.serial));
        }
        if info.subject_oneline.strip_prefix("/CN=") != Some(self.name.as_str()) {
            return Err(format!("its subject is not CN={}", self.name));
        }
        if !inspect::signed_by(&der, ca_spki).unwrap_or(false) {
            return Err("not signed by this CA".into());
        }
        Ok((der, info.spki_der))
    }
}

impl Store {
    fn journal_path(&self) -> PathBuf {
        self.shown(JOURNAL_FILE)
    }

    /// The journal of an interrupted batch, if one is there.
    pub fn read_journal(&self) -> Result<Option<Journal>, Error> {
        let path = self.journal_path();
        let bytes = match self.root().read_store_file(JOURNAL_FILE) {
            Err(e) if e.is_not_found() => return Ok(None),
            other => other?,
        };
        let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: path.clone(),
            line: None,
            reason: format!(
                "not a clusterca journal ({e}); `clusterca check --repair` moves it aside"
            ),
        })?;
        if journal.version != VERSION {
            return Err(Error::Corrupt {
                path,
                line: None,
                reason: format!(
                    "journal version {} is not {VERSION}; written by another clusterca?",
                    journal.version
                ),
            });
        }
        Ok(Some(journal))
    }

    /// What `check` says about a journal: an interrupted batch (or one in progress, when
    /// another process holds the lock), each issued certificate whose key file is missing,
    /// empty or not its key, and a journal that cannot be read.
    /// An I/O error reading the journal fails the check (exit 4) rather than being a finding.
    pub(crate) fn journal_findings(&self, f: &mut Vec<Finding>) -> Result<(), Error> {
        self.set_aside_findings(f);
        let path = self.journal_path();
        let subject = path.display().to_string();
        let journal = match self.read_journal() {
            Ok(Some(j)) => j,
            Ok(None) => return Ok(()),
            Err(e @ Error::Io { .. }) => return Err(e),
            Err(e) => {
                f.push(Finding::new(
                    subject,
                    Rule::JournalUnreadable,
                    Severity::Error,
                    e.to_string(),
                ));
                return Ok(());
            }
        };
        let recorded =
            inventory::recorded_serials(self.root(), layout::INVENTORY).unwrap_or_default();
        let issued: Vec<&JournalEntry> = journal
            .entries
            .iter()
            .filter(|e| recorded.contains(&e.serial))
            .collect();
        let busy = crate::lock::is_held(self.root(), layout::LOCK);
        f.push(Finding::new(
            subject,
            Rule::InterruptedBatch,
            if busy { Severity::Info } else { Severity::Error },
            format!(
                "{} a batch of {} certificate(s), {} of them on record; {}",
                if busy { "another signer is recording" } else { "an interrupted batch left" },
                journal.entries.len(),
                issued.len(),
                if busy {
                    "run check again when it is done"
                } else {
                    "`check --repair` (or the next signer) finishes the recorded ones and drops the rest"
                }
            ),
        ));
        // The key paths come from the journal: read them only from a journal written by us or
        // by root, never on the word of another user who can write the CA directory.
        let writer = self
            .root()
            .entry(JOURNAL_FILE)
            .ok()
            .flatten()
            .map(|m| m.uid);
        let me = nix::unistd::geteuid().as_raw();
        if writer.is_some_and(|uid| uid != me && uid != 0) {
            if issued.iter().any(|e| e.key.is_some()) {
                f.push(Finding::new(
                    path.display().to_string(),
                    Rule::JournalKeysUnchecked,
                    Severity::Warning,
                    format!(
                        "written by uid {}, not by root or by this user: the key files it names were not looked at",
                        writer.unwrap_or_default()
                    ),
                ));
            }
            return Ok(());
        }
        for entry in issued {
            let Some(key) = &entry.key else { continue };
            if let Some(problem) = key_problem(key, entry) {
                f.push(Finding::new(
                    key.display().to_string(),
                    Rule::RecordedWithoutKey,
                    Severity::Error,
                    format!(
                        "serial 0x{:04X} ({}) is issued but its key {problem}; revoke it and issue again",
                        entry.serial,
                        quote(&entry.name)
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Store {
    /// Journals set aside by recovery: each may name issued certificates whose `signed/` file
    /// could not be written; a person has to look.
    fn set_aside_findings(&self, f: &mut Vec<Finding>) {
        let Ok(entries) = self.root().names() else {
            return;
        };
        for entry in entries {
            let name = entry.to_string_lossy().into_owned();
            if name.starts_with(SET_ASIDE) {
                f.push(Finding::new(
                    self.shown(&name).display().to_string(),
                    Rule::JournalSetAside,
                    Severity::Warning,
                    "a journal recovery could not use; `check --repair` said why. Revoke what it names as recorded, then remove it",
                ));
            }
        }
    }

    /// The CA certificate's public key (the first certificate of `ca_crt.pem`).
    pub(crate) fn ca_spki(&self) -> Result<Vec<u8>, Error> {
        let path = self.shown(layout::CA_CRT);
        let bytes = self.read_ca_bundle()?;
        let pki = |source| Error::Pki {
            path: path.clone(),
            source,
        };
        let der = inspect::certificates(&bytes)
            .map_err(pki)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Corrupt {
                path: path.clone(),
                line: None,
                reason: "no CERTIFICATE block".into(),
            })?;
        Ok(
            inspect::certificate_info(&der, time::OffsetDateTime::now_utc())
                .map_err(pki)?
                .spki_der,
        )
    }
}

/// What is wrong with the key file written for `entry`, if anything: missing, empty, not a
/// key, or not the certificate's key.
fn key_problem(key: &Path, entry: &JournalEntry) -> Option<String> {
    let bytes = match fsutil::read_bounded(key, fsutil::MAX_PEM) {
        Ok(b) => b,
        Err(Error::Io { source, .. }) => return Some(format!("cannot be read ({source})")),
        Err(e) => return Some(e.to_string()),
    };
    if bytes.is_empty() {
        return Some("is empty".into());
    }
    let Ok(private) = clusterca_pki::PrivateKey::from_bytes(&bytes) else {
        return Some("is not a whole private key".into());
    };
    let cert_spki = inspect::serial_and_spki(entry.certificate.as_bytes())
        .map(|(_, spki)| spki)
        .ok()?;
    (private.spki_der() != cert_spki).then(|| "does not match the certificate".into())
}

impl Signer<'_> {
    /// Writes the journal of a batch to a temporary file beside its place, unsynced: the
    /// batch's group commit syncs it, then it is renamed into place.
    pub(crate) fn stage_journal(&mut self, journal: &Journal) -> Result<fsutil::Staged, Error> {
        let path = self.store.journal_path();
        let json = serde_json::to_vec(journal).map_err(|e| Error::Corrupt {
            path: path.clone(),
            line: None,
            reason: e.to_string(),
        })?;
        // Owned by whoever writes it, not given to the directory's owner: `check` run as root
        // reads the key files a journal names only from a journal root (or it) wrote.
        let spec = fsutil::FileSpec {
            mode: crate::PUBLIC_MODE,
            owner: None,
        };
        self.store.root().stage_unsynced(JOURNAL_FILE, &json, spec)
    }

    /// Removes the journal of a batch that is wholly done (or wholly undone). Not made durable
    /// with an fsync of the directory: a journal that comes back after a crash names only
    /// certificates that are complete or unrecorded, and the next recovery just removes it.
    pub(crate) fn clear_journal(&mut self) -> Result<(), Error> {
        self.store
            .root()
            .remove_if_present(JOURNAL_FILE)
            .map(|_| ())
    }

    /// Finishes or undoes the batch of an interrupted journal (see the module
    /// documentation); returns what it did, one line per action. Nothing when there is none.
    /// Entries that fail their checks are set aside with the journal (see
    /// [`Signer::quarantine_journal`]) after the others are done.
    pub(crate) fn recover(&mut self) -> Result<Vec<String>, Error> {
        let Some(journal) = self.store.read_journal()? else {
            return Ok(Vec::new());
        };
        let store = self.store;
        let mut done = Vec::new();
        let root = store.root();
        let inv = store.shown(layout::INVENTORY);
        // Beside a journal, a line without its newline is the batch's torn append.
        if let inventory::TailFix::Truncate(at) =
            inventory::repair_tail(root, layout::INVENTORY, false)?
        {
            done.push(format!(
                "cut the torn last line off {} at byte {at}",
                inv.display()
            ));
        }
        let recorded = inventory::recorded_serials(root, layout::INVENTORY)?;
        let ca_spki = store.ca_spki()?;
        let mut bad = Vec::new();
        for entry in &journal.entries {
            let name = match entry.certname() {
                Ok(name) => name,
                Err(why) => {
                    bad.push(why);
                    continue;
                }
            };
            if !recorded.contains(&entry.serial) {
                done.push(format!(
                    "dropped the unrecorded certificate of {name} (serial 0x{:04X} stays unused)",
                    entry.serial
                ));
                continue;
            }
            match entry.checked_certificate(&ca_spki) {
                Ok((der, spki)) => done.extend(self.roll_forward(entry, &name, &der, &spki)?),
                Err(why) => bad.push(format!(
                    "serial 0x{:04X} ({name}) is recorded, but the journal's certificate is unusable ({why}): revoke it",
                    entry.serial
                )),
            }
        }
        root.open_regular(layout::INVENTORY)?
            .sync_all()
            .ctx("fsync", &inv)?;
        for sub in [layout::SIGNED, layout::REQUESTS] {
            if let Some(dir) = store.sub_if_present(sub)? {
                dir.sync()?;
            }
        }
        if bad.is_empty() {
            self.clear_journal()?;
            done.push(format!("removed {}", store.journal_path().display()));
        } else {
            done.extend(bad);
            done.push(self.quarantine_journal()?);
        }
        Ok(done)
    }

    /// Finishes one recorded entry: `signed/NAME.pem` written when missing, the signed
    /// request removed.
    fn roll_forward(
        &mut self,
        entry: &JournalEntry,
        name: &CertName,
        der: &[u8],
        spki: &[u8],
    ) -> Result<Vec<String>, Error> {
        let store = self.store;
        let mut done = Vec::new();
        let file = layout::pem(name);
        let signed_dir = store.signed_dir()?;
        let held = match signed_dir.read_bounded(&file, fsutil::MAX_PEM) {
            Ok(bytes) => Some(
                inspect::certificates(&bytes)
                    .ok()
                    .and_then(|c| c.into_iter().next()),
            ),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        // A renewal finishes over the certificate it renews, and only over that one.
        let renewed = |held: &[u8]| {
            entry.replaces.is_some_and(|old| {
                inspect::serial_and_spki(held).is_ok_and(|(serial, _)| serial == Some(old))
            })
        };
        let holds_it = match held {
            Some(Some(held)) if held == der => true,
            Some(Some(held)) if renewed(&held) => {
                let pem = clusterca_pki::pem_encode("CERTIFICATE", der);
                signed_dir
                    .stage(&file, pem.as_bytes(), store.public_spec())?
                    .commit()?;
                done.push(format!(
                    "wrote {} (serial 0x{:04X}, renewing 0x{:04X}) from the journal",
                    store.signed_shown(name).display(),
                    entry.serial,
                    entry.replaces.unwrap_or_default()
                ));
                true
            }
            Some(_) => false,
            None => {
                let pem = clusterca_pki::pem_encode("CERTIFICATE", der);
                signed_dir
                    .stage(&file, pem.as_bytes(), store.public_spec())?
                    .commit()?;
                done.push(format!(
                    "wrote {} (serial 0x{:04X}) from the journal",
                    store.signed_shown(name).display(),
                    entry.serial
                ));
                true
            }
        };
        if entry.request && holds_it {
            let signed_request = store
                .read_request(name)
                .ok()
                .flatten()
                .and_then(|b| clusterca_pki::CertRequest::parse(&b).ok())
                .is_some_and(|r| r.spki_der == spki);
            if signed_request && store.requests_dir()?.remove_if_present(&file)? {
                done.push(format!(
                    "removed the signed request {}",
                    store.request_shown(name).display()
                ));
            }
        }
        Ok(done)
    }

    /// Moves an unreadable journal aside (`clusterca.journal.unreadable.<time>`), so signing
    /// can go on; `check` reports it until someone has looked at it and removed it.
    pub(crate) fn quarantine_journal(&mut self) -> Result<String, Error> {
        let path = self.store.journal_path();
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let aside_name = format!("{SET_ASIDE}{stamp}");
        let aside = self.store.shown(&aside_name);
        let root = self.store.root();
        root.rename(JOURNAL_FILE, &aside_name)?;
        root.sync()?;
        Ok(format!(
            "moved the unreadable {} to {}",
            path.display(),
            aside.display()
        ))
    }
}
