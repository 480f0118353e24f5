//! The serial rule's reads, made cheap enough to run on every signing of a large CA.
//!
//! The rule needs the highest serial recorded in `inventory.txt`, on the CRL and in `signed/`.
//! The CRL is read each time (it is small). `inventory.txt` only grows: a process remembers its
//! inode and length and reads only what was appended since (a file that shrank or was replaced
//! is read again whole). `signed/` is the expensive part (one file per certificate): its highest
//! serial is kept with the directory's stamp (inode and modification time, which every entry
//! added, renamed or removed changes), in memory and in `clusterca.signed-max`, so the next
//! process does not read 100,000 files either. A stamp that does not match means a full read.
//!
//! After its own commit, under the lock, a signer moves both forward itself (the new stamp, the
//! highest of before and its own serials) instead of reading `signed/` again. Removing files
//! keeps the highest (a maximum that is too high only skips serials). What the stamp cannot
//! see: a file added to `signed/` by a program that takes no lock, within the same clock tick
//! as our own last change, without an inventory line (Puppet Server writes one; only Puppet's
//! offline CLI does not, and it also advances `serial`). `check` reads everything, always.

use crate::error::IoContext;
use crate::{fsutil, serial, Error, Store};
use std::os::unix::fs::MetadataExt;

/// The cache of `signed/`'s highest serial in the CA directory.
pub const SIGNED_MAX_FILE: &str = "clusterca.signed-max";

/// Inode and modification time (seconds, nanoseconds) of the `signed/` directory.
pub(crate) type DirStamp = (u64, i64, i64);

/// What a process remembers between signings.
#[derive(Debug, Default)]
pub(crate) struct RuleCache {
    /// Inode, length and highest serial of `inventory.txt` as last read.
    inventory: Option<(u64, u64, u64)>,
    /// The `signed/` stamp and the highest serial of the files then in it.
    signed: Option<(DirStamp, u64)>,
}

/// The highest serial in `text`'s lines as the rule reads them (the first word, `0x` and hex),
/// at most Puppet's limit; 0 when none.
fn highest_in(text: &[u8]) -> u64 {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let word = line.split(|&b| b == b' ').next()?;
            let hex = word.strip_prefix(b"0x")?;
            u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
        })
        .filter(|s| *s <= serial::PUPPET_LIMIT)
        .max()
        .unwrap_or(0)
}

impl Store {
    fn rule_cache(&self) -> std::sync::MutexGuard<'_, RuleCache> {
        self.rule.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The highest serial the rule counts: inventory, CRL and `signed/`, at most Puppet's limit,
    /// at least 1 (the CA's own).
    pub(crate) fn highest_recorded(&self) -> Result<u64, Error> {
        let crl = self
            .crl_serials()?
            .range(..=serial::PUPPET_LIMIT)
            .next_back()
            .copied()
            .unwrap_or(0);
        Ok(self
            .inventory_highest()?
            .max(crl)
            .max(self.signed_highest()?)
            .max(1))
    }

    /// The highest serial of `inventory.txt`, reading only what was appended since last time.
    fn inventory_highest(&self) -> Result<u64, Error> {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.path("inventory.txt");
        let mut file = fsutil::open_regular(&path)?;
        let meta = file.metadata().ctx("stat", &path)?;
        let (ino, len) = (meta.ino(), meta.len());
        if len > fsutil::MAX_STORE_FILE {
            return Err(Error::Corrupt {
                path,
                line: None,
                reason: format!("larger than {} bytes", fsutil::MAX_STORE_FILE),
            });
        }
        let (from, before) = match self.rule_cache().inventory {
            Some((i, l, h)) if i == ino && l <= len => (l, h),
            _ => (0, 0),
        };
        let mut appended = Vec::with_capacity((len - from) as usize);
        file.seek(SeekFrom::Start(from)).ctx("seek", &path)?;
        file.take(len - from)
            .read_to_end(&mut appended)
            .ctx("read", &path)?;
        // A line cut at `from` can only lose its 0x prefix: it is not counted, never misread.
        let highest = before.max(highest_in(&appended));
        self.rule_cache().inventory = Some((ino, from + appended.len() as u64, highest));
        Ok(highest)
    }

    /// The stamp of `signed/` now, or `None` when it is not a real directory.
    pub(crate) fn signed_stamp(&self) -> Option<DirStamp> {
        std::fs::symlink_metadata(self.path("signed"))
            .ok()
            .filter(|m| m.file_type().is_dir())
            .map(|m| (m.ino(), m.mtime(), m.mtime_nsec()))
    }

    /// The highest serial in `signed/`: from memory, from `clusterca.signed-max`, or read.
    fn signed_highest(&self) -> Result<u64, Error> {
        let Some(stamp) = self.signed_stamp() else {
            return Ok(0);
        };
        if let Some((s, h)) = self.rule_cache().signed {
            if s == stamp {
                return Ok(h);
            }
        }
        if let Some(h) = self.read_signed_max(stamp) {
            self.rule_cache().signed = Some((stamp, h));
            return Ok(h);
        }
        // Stamp taken before reading: a change while we read shows as a new stamp next time.
        let highest = self
            .recorded_serials()?
            .signed
            .range(..=serial::PUPPET_LIMIT)
            .next_back()
            .copied()
            .unwrap_or(0);
        self.remember_signed(stamp, highest);
        Ok(highest)
    }

    fn read_signed_max(&self, stamp: DirStamp) -> Option<u64> {
        let bytes = fsutil::read_bounded(&self.path(SIGNED_MAX_FILE), 256).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let w: Vec<&str> = text.split_whitespace().collect();
        match w.as_slice() {
            ["v1", ino, secs, nanos, highest] => {
                let found: DirStamp = (ino.parse().ok()?, secs.parse().ok()?, nanos.parse().ok()?);
                (found == stamp).then(|| highest.parse().ok())?
            }
            _ => None,
        }
    }

    /// Keeps `highest` for `stamp`, in memory and (best effort: it is only a cache) on disk.
    fn remember_signed(&self, stamp: DirStamp, highest: u64) {
        self.rule_cache().signed = Some((stamp, highest));
        let line = format!("v1 {} {} {} {highest}\n", stamp.0, stamp.1, stamp.2);
        let spec = fsutil::FileSpec {
            mode: crate::PUBLIC_MODE,
            owner: self.owner,
        };
        if let Ok(staged) =
            fsutil::stage_unsynced(&self.path(SIGNED_MAX_FILE), line.as_bytes(), spec)
        {
            let _ = staged.commit();
        }
    }

    /// The `signed/` stamp the cache holds, when it still matches the directory: taken before
    /// this process changes `signed/`, for [`Store::signed_changed`].
    pub(crate) fn signed_cached(&self) -> Option<DirStamp> {
        let now = self.signed_stamp()?;
        match self.rule_cache().signed {
            Some((s, _)) if s == now => Some(now),
            _ => None,
        }
    }

    /// After this process changed `signed/` under the lock (adding `serials`, or removing
    /// files): the cache moves forward instead of being read again, when it was valid before.
    pub(crate) fn signed_changed(&self, before: Option<DirStamp>, serials: &[u64]) {
        let cached = self.rule_cache().signed;
        let (Some(before), Some((stamp, highest)), Some(now)) =
            (before, cached, self.signed_stamp())
        else {
            return;
        };
        if stamp != before {
            return;
        }
        let ours = serials
            .iter()
            .copied()
            .filter(|s| *s <= serial::PUPPET_LIMIT)
            .max()
            .unwrap_or(0);
        self.remember_signed(now, highest.max(ours));
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
