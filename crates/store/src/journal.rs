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

use clusterca_pki::{inspect, CertName, Finding, Severity};
use serde::{Deserialize, Serialize};

use crate::error::{quote, IoContext};
use crate::{fsutil, inventory, Error, Signer, Store};

/// Name of the journal in the CA directory.
pub const JOURNAL_FILE: &str = "clusterca.journal";

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
    fn certname(&self, path: &Path) -> Result<CertName, Error> {
        self.name.parse().map_err(|_| Error::Corrupt {
            path: path.to_path_buf(),
            line: None,
            reason: format!("entry {} is not a valid certname", quote(&self.name)),
        })
    }

    /// The certificate's serial and public key, checked against the entry.
    fn checked_certificate(&self, path: &Path) -> Result<Vec<u8>, Error> {
        let bad = |reason: String| Error::Corrupt {
            path: path.to_path_buf(),
            line: None,
            reason,
        };
        let (serial, spki) = inspect::serial_and_spki(self.certificate.as_bytes())
            .map_err(|e| bad(format!("entry {}: {e}", quote(&self.name))))?;
        if serial != Some(self.serial) {
            return Err(bad(format!(
                "entry {}: the certificate's serial is not 0x{:04X}",
                quote(&self.name),
                self.serial
            )));
        }
        Ok(spki)
    }
}

impl Store {
    fn journal_path(&self) -> PathBuf {
        self.path(JOURNAL_FILE)
    }

    /// The journal of an interrupted batch, if one is there.
    pub fn read_journal(&self) -> Result<Option<Journal>, Error> {
        let path = self.journal_path();
        let bytes = match fsutil::read_store_file(&path) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None)
            }
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
    pub(crate) fn journal_findings(&self, f: &mut Vec<Finding>) {
        let path = self.journal_path();
        let subject = path.display().to_string();
        let journal = match self.read_journal() {
            Ok(Some(j)) => j,
            Ok(None) => return,
            Err(e) => {
                f.push(Finding::new(
                    subject,
                    "journal-unreadable",
                    Severity::Error,
                    e.to_string(),
                ));
                return;
            }
        };
        let recorded = inventory::recorded_serials(&self.path("inventory.txt")).unwrap_or_default();
        let issued: Vec<&JournalEntry> = journal
            .entries
            .iter()
            .filter(|e| recorded.contains(&e.serial))
            .collect();
        let busy = crate::lock::is_held(&self.path(crate::LOCK_FILE));
        f.push(Finding::new(
            subject,
            "interrupted-batch",
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
        for entry in issued {
            let Some(key) = &entry.key else { continue };
            if let Some(problem) = key_problem(key, entry) {
                f.push(Finding::new(
                    key.display().to_string(),
                    "recorded-without-key",
                    Severity::Error,
                    format!(
                        "serial 0x{:04X} ({}) is issued but its key {problem}; revoke it and issue again",
                        entry.serial,
                        quote(&entry.name)
                    ),
                ));
            }
        }
    }
}

/// What is wrong with the key file written for `entry`, if anything: missing, empty, not a
/// key, or not the certificate's key.
fn key_problem(key: &Path, entry: &JournalEntry) -> Option<String> {
    let bytes = match fsutil::read_bounded(key, 1 << 20) {
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
    /// Writes the journal of a batch, durably. On failure it is removed again (best effort:
    /// a journal left without inventory lines is dropped by the next recovery).
    pub(crate) fn write_journal(&mut self, journal: &Journal) -> Result<(), Error> {
        let path = self.store.journal_path();
        let json = serde_json::to_vec(journal).map_err(|e| Error::Corrupt {
            path: path.clone(),
            line: None,
            reason: e.to_string(),
        })?;
        let result = fsutil::write_atomic(&path, &json, self.store.public_spec());
        if result.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        result
    }

    /// Removes the journal of a batch that is wholly done, durably.
    pub(crate) fn clear_journal(&mut self) -> Result<(), Error> {
        let path = self.store.journal_path();
        fsutil::remove_if_present(&path)?;
        fsutil::sync_dir(self.store.dir())
    }

    /// Finishes or undoes the batch of an interrupted journal (see the module
    /// documentation); returns what it did, one line per action. Nothing when there is none.
    pub(crate) fn recover(&mut self) -> Result<Vec<String>, Error> {
        let Some(journal) = self.store.read_journal()? else {
            return Ok(Vec::new());
        };
        let store = self.store;
        let path = store.journal_path();
        let mut done = Vec::new();
        let inv = store.path("inventory.txt");
        let cut = inventory::repair_tail(&inv)?;
        if cut > 0 {
            done.push(format!(
                "cut the torn last line ({cut} bytes) off {}",
                inv.display()
            ));
        }
        let recorded = inventory::recorded_serials(&inv)?;
        let spec = store.public_spec();
        for entry in &journal.entries {
            let name = entry.certname(&path)?;
            if !recorded.contains(&entry.serial) {
                done.push(format!(
                    "dropped the unrecorded certificate of {name} (serial 0x{:04X} stays unused)",
                    entry.serial
                ));
                continue;
            }
            let spki = entry.checked_certificate(&path)?;
            let signed = store.signed_path(&name);
            let holds_it = match std::fs::read(&signed) {
                Ok(bytes) => {
                    inspect::serial_and_spki(&bytes).ok().map(|(s, _)| s)
                        == Some(Some(entry.serial))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    fsutil::stage(&signed, entry.certificate.as_bytes(), spec)?.commit()?;
                    done.push(format!(
                        "wrote {} (serial 0x{:04X}) from the journal",
                        signed.display(),
                        entry.serial
                    ));
                    true
                }
                Err(e) => return Err(e).ctx("read", &signed),
            };
            if entry.request && holds_it {
                let request = store.request_path(&name);
                let signed_request = std::fs::read(&request).ok().is_some_and(|b| {
                    clusterca_pki::CertRequest::parse(&b).is_ok_and(|r| r.spki_der == spki)
                });
                if signed_request && fsutil::remove_if_present(&request)? {
                    done.push(format!("removed the signed request {}", request.display()));
                }
            }
        }
        std::fs::File::open(&inv)
            .and_then(|f| f.sync_all())
            .ctx("fsync", &inv)?;
        for sub in ["signed", "requests"] {
            let dir = store.path(sub);
            if dir.is_dir() {
                fsutil::sync_dir(&dir)?;
            }
        }
        self.clear_journal()?;
        done.push(format!("removed {}", path.display()));
        Ok(done)
    }

    /// Moves an unreadable journal aside (`clusterca.journal.unreadable`), so signing can go
    /// on; what it named is then only what the inventory and `signed/` say.
    pub(crate) fn quarantine_journal(&mut self) -> Result<String, Error> {
        let path = self.store.journal_path();
        let aside = self.store.path("clusterca.journal.unreadable");
        std::fs::rename(&path, &aside).ctx("move aside", &path)?;
        fsutil::sync_dir(self.store.dir())?;
        Ok(format!(
            "moved the unreadable {} to {}",
            path.display(),
            aside.display()
        ))
    }
}
