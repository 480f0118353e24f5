//! Durable, atomic file writes: the one way clusterca replaces or creates a file.
//!
//! A new file is written to a temporary name in the target directory, created with
//! `O_EXCL|O_NOFOLLOW`; its mode (and owner, when one is asked for) is set on the open file
//! *before* any content is written, so a key is never readable by anyone it should not be;
//! then it is fsync-ed, renamed over the final name and the directory fsync-ed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::unistd::{Gid, Uid};

use crate::error::{Error, IoContext};

/// Owner and group to give new files (applied only when it differs from the creator's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// How a file is to be written.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    /// Permission bits, exactly (the umask does not apply).
    pub mode: u32,
    /// Owner to set on the open file, if any.
    pub owner: Option<Owner>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file name next to `path`, unique within this machine for this process.
fn temp_path(path: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

/// Creates `path` exclusively with `spec`'s mode and owner set before anything is written.
pub fn create_exclusive(path: &Path, spec: FileSpec) -> Result<File, Error> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(spec.mode)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
        .ctx("create", path)?;
    // The file is ours from here: if it cannot be given its owner and mode, it goes again, so
    // a failure leaves no empty file behind to block the retry.
    let fix = || -> Result<(), Error> {
        if let Some(o) = spec.owner {
            nix::unistd::fchown(
                &file,
                Some(Uid::from_raw(o.uid)),
                Some(Gid::from_raw(o.gid)),
            )
            .map_err(std::io::Error::from)
            .ctx("chown", path)?;
        }
        // After fchown: changing the owner may clear set-id bits, and the umask applied at open.
        file.set_permissions(std::fs::Permissions::from_mode(spec.mode))
            .ctx("chmod", path)
    };
    if let Err(e) = fix() {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(file)
}

/// A file written to its temporary name and synced, not yet in place.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    target: PathBuf,
}

impl Staged {
    /// Moves the staged file into place. The caller fsyncs the directory afterwards.
    pub fn commit(self) -> Result<(), Error> {
        std::fs::rename(&self.temp, &self.target).ctx("rename into place", &self.target)?;
        std::mem::forget(self);
        Ok(())
    }
}

impl Staged {
    /// Where the content is until [`Staged::commit`].
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// Writes `content` to a new temporary file beside `path`; returns it open.
fn write_temp(path: &Path, content: &[u8], spec: FileSpec) -> Result<(Staged, File), Error> {
    let temp = temp_path(path);
    let mut file = create_exclusive(&temp, spec)?;
    let staged = Staged {
        temp,
        target: path.to_path_buf(),
    };
    file.write_all(content).ctx("write", path)?;
    Ok((staged, file))
}

/// Writes `content` to a synced temporary file beside `path`.
pub fn stage(path: &Path, content: &[u8], spec: FileSpec) -> Result<Staged, Error> {
    let (staged, file) = write_temp(path, content, spec)?;
    file.sync_all().ctx("fsync", path)?;
    Ok(staged)
}

/// Replaces (or creates) `path` atomically and durably with `content`.
pub fn write_atomic(path: &Path, content: &[u8], spec: FileSpec) -> Result<(), Error> {
    stage(path, content, spec)?.commit()?;
    sync_dir(parent(path))
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Batches up to this size are synced file by file; larger ones with one `syncfs`.
pub const SMALL_BATCH: usize = 16;

/// Makes the files at `paths` (all in the filesystem holding `dir`) durable: the group commit
/// of a batch. A small batch fsyncs each file, so a single issuance never waits for
/// unrelated dirty data; a large one makes one `syncfs(2)` call instead of one fsync per file
/// (which also flushes whatever else is dirty on that filesystem).
pub fn sync_paths(paths: &[&Path], dir: &Path) -> Result<(), Error> {
    if paths.len() <= SMALL_BATCH {
        for p in paths {
            File::open(p).and_then(|f| f.sync_all()).ctx("fsync", p)?;
        }
        return Ok(());
    }
    let d = File::open(dir).ctx("open directory", dir)?;
    nix::unistd::syncfs(&d)
        .map_err(std::io::Error::from)
        .ctx("syncfs", dir)
}

/// Writes `content` to a temporary file beside `path` *without* syncing it: the caller syncs
/// the whole batch with [`sync_paths`] before committing any of it.
pub fn stage_unsynced(path: &Path, content: &[u8], spec: FileSpec) -> Result<Staged, Error> {
    write_temp(path, content, spec).map(|(staged, _)| staged)
}

/// The most the store reads of one of its own files (`inventory.txt` of a few million
/// certificates, a CRL with as many entries): beyond this the file is corrupt, not big.
pub const MAX_STORE_FILE: u64 = 1 << 30;

/// The most the store reads of one PEM file (a key, a certificate, a CSR, a bundle).
pub const MAX_PEM: u64 = 1 << 20;

/// Reads a file of the store, refusing one larger than [`MAX_STORE_FILE`] (never reading
/// more than that) and symlinks.
pub fn read_store_file(path: &Path) -> Result<Vec<u8>, Error> {
    read_bounded(path, MAX_STORE_FILE)
}

/// Opens `path` for reading, refusing a symlink and anything but a regular file (a FIFO, a
/// device): `O_NOFOLLOW|O_NONBLOCK`, so a FIFO planted in the file's place cannot hang us.
pub fn open_regular(path: &Path) -> Result<File, Error> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(path)
        .ctx("read", path)?;
    if !file.metadata().ctx("stat", path)?.is_file() {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            line: None,
            reason: "not a regular file".into(),
        });
    }
    Ok(file)
}

/// Reads at most `cap` bytes of `path`; a longer file is [`Error::Corrupt`]. Refuses symlinks
/// and anything that is not a regular file (a FIFO, a device).
pub fn read_bounded(path: &Path, cap: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let file = open_regular(path)?;
    let mut buf = Vec::new();
    file.take(cap + 1).read_to_end(&mut buf).ctx("read", path)?;
    if buf.len() as u64 > cap {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            line: None,
            reason: format!("larger than {cap} bytes, more than this file can hold"),
        });
    }
    Ok(buf)
}

/// Removes `path`; a missing file is not an error. Returns whether it was there.
pub fn remove_if_present(path: &Path) -> Result<bool, Error> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).ctx("remove", path),
    }
}

/// Refuses `dir` when it is not a real directory (a symlink, a file): the store writes into
/// `signed/` and `requests/` by path, and a symlink there would redirect the write.
pub fn real_dir(dir: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_dir() => Ok(()),
        Ok(_) => Err(Error::Corrupt {
            path: dir.to_path_buf(),
            line: None,
            reason: "not a directory (a symlink?); refusing to write through it".into(),
        }),
        Err(e) => Err(e).ctx("stat", dir),
    }
}

/// fsync a directory, making renames and creations in it durable.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx("fsync directory", dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_batches_sync_file_by_file_and_large_ones_by_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..=SMALL_BATCH)
            .map(|i| {
                let p = dir.path().join(format!("f{i}"));
                std::fs::write(&p, b"x").unwrap();
                p
            })
            .collect();
        let all: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        sync_paths(&all[..SMALL_BATCH], dir.path()).unwrap();
        sync_paths(&all, dir.path()).unwrap();
        // A small batch opens each file, so a missing one is an error naming it...
        let missing = dir.path().join("missing");
        let small = [all[0], missing.as_path()];
        let err = sync_paths(&small, dir.path()).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
        // ...while a large one syncs the filesystem and never looks at the files.
        let mut large = all.clone();
        large.push(&missing);
        sync_paths(&large, dir.path()).unwrap();
    }
}
