//! The serial rule's reads, made cheap enough to run on every signing of a large CA.
//!
//! The rule needs the highest serial recorded in `inventory.txt`, on the CRL and in `signed/`.
//! The CRL is read each time (it is small). `inventory.txt` only grows: a process remembers its
//! inode, where its last whole line ended and the bytes just before, and reads only from there
//! (a file that shrank, was replaced, or whose remembered bytes changed is read again whole).
//! `signed/` is the expensive part (one file per certificate): its highest serial and its number
//! of entries are kept with the directory's stamp (inode and *change* time: every entry added,
//! renamed or removed changes it, and unlike the modification time no restore from a backup can
//! set it back), in memory and in `clusterca.signed-max`, so the next process does not read
//! 100,000 files either. A stamp that does not match means a full read.
//!
//! After its own commit, under the lock, a signer moves the cache forward itself (the new stamp,
//! the highest of before and its own serials, the entry count plus what it added). Removing
//! files keeps the highest (a maximum that is too high only skips serials). What the stamp
//! cannot see: a file rewritten in place; a file added by a program that takes no lock while
//! our commit runs (its count then disagrees with `signed/`, which `check` reports; such a
//! program also writes `serial`, which the rule reads every time); what the incremental
//! read cannot see: `inventory.txt` edited in place more than 4 KiB before its end while a
//! server runs. `check` reads
//! everything and compares it with `clusterca.signed-max`.

use crate::error::IoContext;
use crate::{fsutil, layout, serial, Error, Store};
use std::os::unix::fs::MetadataExt;

/// The cache of `signed/`'s highest serial in the CA directory.
pub const SIGNED_MAX_FILE: &str = layout::SIGNED_MAX;

/// Inode and change time (seconds, nanoseconds) of the `signed/` directory.
pub(crate) type DirStamp = (u64, i64, i64);

/// How many bytes before the remembered offset of `inventory.txt` must be unchanged: the last
/// fifty lines or so. (Only a long-lived process reads incrementally; an edit further back is
/// seen when it restarts, and by `check` always.)
const CHECKED: u64 = 4096;

/// `inventory.txt` as last read: inode, the offset where its last whole line ended, the bytes
/// just before that offset, and the highest serial up to it.
#[derive(Debug, Clone)]
struct InventoryMark {
    ino: u64,
    offset: u64,
    before: Vec<u8>,
    highest: u64,
}

/// What `signed/` held at a stamp: its number of `.pem` entries and their highest serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignedMark {
    pub(crate) stamp: DirStamp,
    pub(crate) entries: u64,
    pub(crate) highest: u64,
}

/// What a process remembers between signings.
#[derive(Debug, Default)]
pub(crate) struct RuleCache {
    inventory: Option<InventoryMark>,
    signed: Option<SignedMark>,
}

/// The highest serial in `text`'s lines as the rule reads them (the first word, `0x` and hex),
/// at most Puppet's limit; 0 when none.
fn highest_in(text: &[u8]) -> u64 {
    text.split(|&b| b == b'\n')
        .filter_map(crate::inventory::first_word_serial)
        .filter(|s| *s <= serial::PUPPET_LIMIT)
        .max()
        .unwrap_or(0)
}

impl Store {
    fn rule_cache(&self) -> std::sync::MutexGuard<'_, RuleCache> {
        self.rule.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The highest serial the rule counts: inventory, CRL, `signed/` and the CA's own
    /// certificates in `ca_crt.pem`, at most Puppet's limit,
    /// at least 1 (the CA's own).
    pub(crate) fn highest_recorded(&self) -> Result<u64, Error> {
        let crl = self
            .crl_serials()?
            .range(..=serial::PUPPET_LIMIT)
            .next_back()
            .copied()
            .unwrap_or(0);
        let ca = self
            .ca_serials()?
            .into_iter()
            .filter(|s| *s <= serial::PUPPET_LIMIT)
            .max()
            .unwrap_or(0);
        Ok(self
            .inventory_highest()?
            .max(crl)
            .max(ca)
            .max(self.signed_highest()?)
            .max(1))
    }

    /// The highest serial of `inventory.txt`, reading only what was appended since last time.
    fn inventory_highest(&self) -> Result<u64, Error> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.shown(layout::INVENTORY);
        let mut file = self.root().open_regular(layout::INVENTORY)?;
        let meta = file.metadata().ctx("stat", &path)?;
        let (ino, len) = (meta.ino(), meta.len());
        if len > fsutil::MAX_STORE_FILE {
            return Err(Error::Corrupt {
                path,
                line: None,
                reason: format!("larger than {} bytes", fsutil::MAX_STORE_FILE),
            });
        }
        let mark = self
            .rule_cache()
            .inventory
            .clone()
            .filter(|m| m.ino == ino && m.offset <= len);
        let start = mark
            .as_ref()
            .map_or(0, |m| m.offset - m.before.len() as u64);
        let mut bytes = Vec::with_capacity((len - start) as usize);
        file.seek(SeekFrom::Start(start)).ctx("seek", &path)?;
        file.take(len - start)
            .read_to_end(&mut bytes)
            .ctx("read", &path)?;
        let (before, fresh) = match &mark {
            None => (0, bytes.as_slice()),
            Some(m) => match bytes.strip_prefix(m.before.as_slice()) {
                Some(rest) => (m.highest, rest),
                // Rewritten in place: forget the mark and read it whole (no mark: no loop).
                None => {
                    self.rule_cache().inventory = None;
                    return self.inventory_highest();
                }
            },
        };
        // Only up to the last newline: a partial last line is read again, whole, next time.
        let cut = fresh.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let (whole, partial) = fresh.split_at_checked(cut).unwrap_or((&[], fresh));
        let highest = before.max(highest_in(whole));
        // Everything read but the partial line: its last CHECKED bytes guard the next read.
        let kept = bytes.len() - partial.len();
        let tail: Vec<u8> = bytes
            .iter()
            .take(kept)
            .rev()
            .take(CHECKED as usize)
            .rev()
            .copied()
            .collect();
        self.rule_cache().inventory = Some(InventoryMark {
            ino,
            offset: start + kept as u64,
            before: tail,
            highest,
        });
        Ok(highest.max(highest_in(partial)))
    }

    /// The stamp of `signed/` now, or `None` when it is not a real directory.
    pub(crate) fn signed_stamp(&self) -> Option<DirStamp> {
        rustix::fs::statat(
            self.root().fd(),
            layout::SIGNED,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .ok()
        .filter(|m| m.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR)
        .map(|m| (m.st_ino, m.st_ctime, m.st_ctime_nsec as i64))
    }

    /// How many `.pem` entries `signed/` holds (temporary files, dot files, not).
    pub(crate) fn signed_entries(&self) -> Result<u64, Error> {
        let mut n = 0;
        for name in self.signed_dir()?.names()? {
            let name = name.to_string_lossy();
            n += u64::from(name.ends_with(".pem") && !name.starts_with('.'));
        }
        Ok(n)
    }

    /// The highest serial in `signed/`: from memory, from `clusterca.signed-max`, or read.
    fn signed_highest(&self) -> Result<u64, Error> {
        let Some(stamp) = self.signed_stamp() else {
            return Ok(0);
        };
        if let Some(m) = self.rule_cache().signed.filter(|m| m.stamp == stamp) {
            return Ok(m.highest);
        }
        if let Some(m) = self.read_signed_max().filter(|m| m.stamp == stamp) {
            self.rule_cache().signed = Some(m);
            return Ok(m.highest);
        }
        // Stamp taken before reading: a change while we read shows as a new stamp next time.
        let signed = self.recorded_serials()?.signed;
        let mark = SignedMark {
            stamp,
            entries: self.signed_entries()?,
            highest: signed
                .range(..=serial::PUPPET_LIMIT)
                .next_back()
                .copied()
                .unwrap_or(0),
        };
        self.remember_signed(mark);
        Ok(mark.highest)
    }

    /// `clusterca.signed-max` as written (`v1 INODE SECONDS NANOSECONDS ENTRIES HIGHEST`).
    pub(crate) fn read_signed_max(&self) -> Option<SignedMark> {
        let bytes = self.root().read_bounded(SIGNED_MAX_FILE, 256).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let w: Vec<&str> = text.split_whitespace().collect();
        match w.as_slice() {
            ["v1", ino, secs, nanos, entries, highest] => Some(SignedMark {
                stamp: (ino.parse().ok()?, secs.parse().ok()?, nanos.parse().ok()?),
                entries: entries.parse().ok()?,
                highest: highest.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// Keeps `mark`, in memory and (best effort: it is only a cache) on disk.
    fn remember_signed(&self, mark: SignedMark) {
        self.rule_cache().signed = Some(mark);
        let (ino, secs, nanos) = mark.stamp;
        let line = format!(
            "v1 {ino} {secs} {nanos} {} {}\n",
            mark.entries, mark.highest
        );
        let spec = fsutil::FileSpec {
            mode: crate::PUBLIC_MODE,
            owner: self.owner,
        };
        if let Ok(staged) = self
            .root()
            .stage_unsynced(SIGNED_MAX_FILE, line.as_bytes(), spec)
        {
            let _ = staged.commit();
        }
    }

    /// The cache of `signed/` when it still matches the directory: taken before this process
    /// changes `signed/`, for [`Store::signed_changed`].
    pub(crate) fn signed_cached(&self) -> Option<SignedMark> {
        let now = self.signed_stamp()?;
        if let Some(m) = self.rule_cache().signed.filter(|m| m.stamp == now) {
            return Some(m);
        }
        let m = self.read_signed_max().filter(|m| m.stamp == now)?;
        self.rule_cache().signed = Some(m);
        Some(m)
    }

    /// After this process changed `signed/` under the lock, adding `serials` as `added` new
    /// entries or removing `removed`: the cache moves forward when it was valid before. The
    /// entry count is computed, not read (listing 20,000 entries costs 12 ms a commit): a file
    /// another program added meanwhile makes it disagree with `signed/`, which `check` reports.
    pub(crate) fn signed_changed(
        &self,
        before: Option<SignedMark>,
        serials: &[u64],
        added: u64,
        removed: u64,
    ) {
        let now = self.signed_stamp();
        let mut cache = self.rule_cache();
        let (Some(before), Some(current), Some(stamp)) = (before, cache.signed, now) else {
            cache.signed = None;
            return;
        };
        if current != before {
            cache.signed = None;
            return;
        }
        drop(cache);
        let ours = serials
            .iter()
            .copied()
            .filter(|s| *s <= serial::PUPPET_LIMIT)
            .max()
            .unwrap_or(0);
        self.remember_signed(SignedMark {
            stamp,
            entries: (before.entries + added).saturating_sub(removed),
            highest: before.highest.max(ours),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::highest_in;

    #[test]
    fn the_rule_reads_first_words_and_ignores_what_is_past_the_limit() {
        let text = b"0x0002 a b /CN=x\n0x00FF a\ngarbage\n0xFFFFFFFFFF x\n34 glued\n0x0";
        assert_eq!(highest_in(text), 0xFF);
        assert_eq!(highest_in(b""), 0);
    }
}
