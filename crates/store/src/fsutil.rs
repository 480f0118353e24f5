//! Directory handles and durable, atomic file writes: the one way clusterca touches a file in
//! a CA directory, an ssldir or an `--out` directory.
//!
//! A directory is opened once ([`Dir::open`]) and every later read, write, rename and unlink
//! is relative to that descriptor, by a single file name: a subdirectory is opened with
//! `openat2(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH)`, files with `O_NOFOLLOW`, renames and
//! unlinks with `renameat`/`unlinkat` on the handle. So another user who owns the directory
//! and swaps one of its components for a symlink between two of our system calls cannot
//! redirect a write: the swap is refused (`ELOOP`, reported as [`Error::Unsafe`]) or lands in
//! the directory we opened, never in the symlink's target.
//!
//! A new file is written to a temporary name in its directory, created `O_EXCL|O_NOFOLLOW`;
//! its mode (and owner, when one is asked for) is set on the open file *before* any content is
//! written, so a key is never readable by anyone it should not be; then it is fsync-ed,
//! renamed over the final name and the directory fsync-ed.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nix::unistd::{Gid, Uid};
use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};

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

/// What `lstat` says of a directory entry (never following a symlink).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// `S_IFMT` bits and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Hard links.
    pub nlink: u64,
    /// Size in bytes.
    pub size: u64,
}

/// A file's version, from [`Dir::stamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp([i64; 7]);

impl Entry {
    fn of(st: &rustix::fs::Stat) -> Entry {
        Entry {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            nlink: st.st_nlink,
            size: st.st_size as u64,
        }
    }

    /// A symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.mode & libc_s_ifmt() == nix::libc::S_IFLNK
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc_s_ifmt() == nix::libc::S_IFDIR
    }

    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.mode & libc_s_ifmt() == nix::libc::S_IFREG
    }

    /// What it is, for a message: `a symbolic link`, `a directory`, ...
    pub fn kind(&self) -> &'static str {
        match self.mode & libc_s_ifmt() {
            nix::libc::S_IFLNK => "a symbolic link",
            nix::libc::S_IFDIR => "a directory",
            nix::libc::S_IFREG => "a regular file",
            nix::libc::S_IFIFO => "a FIFO",
            nix::libc::S_IFSOCK => "a socket",
            _ => "a device",
        }
    }
}

const fn libc_s_ifmt() -> u32 {
    nix::libc::S_IFMT
}

/// A directory opened once: every operation on its entries goes through this descriptor, by
/// one file name, never following a symlink. Cheap to clone (the descriptor is shared).
#[derive(Debug, Clone)]
pub struct Dir {
    fd: Arc<OwnedFd>,
    path: PathBuf,
}

/// The `openat2` resolution every open below the handle uses.
fn resolve() -> ResolveFlags {
    ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS
}

/// Turns the errors a refused symlink (or component) produces into [`Error::Unsafe`].
fn refused(e: std::io::Error, op: &'static str, path: PathBuf) -> Error {
    let reason = match e.raw_os_error() {
        Some(nix::libc::ELOOP) => "is a symbolic link",
        Some(nix::libc::EXDEV) => "leads outside its directory",
        Some(nix::libc::EISDIR) => "is a directory, not a file",
        _ => {
            return Error::Io {
                op,
                path,
                source: e,
            }
        }
    };
    Error::Unsafe {
        path,
        reason: reason.into(),
    }
}

impl Dir {
    /// Opens the directory `path` names. Symlinks in the components above it are the
    /// operator's choice and followed; the directory itself must not be a symlink.
    pub fn open(path: &Path) -> Result<Dir, Error> {
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            // O_DIRECTORY|O_NOFOLLOW on a symlink is ENOTDIR: say which it was.
            // (A directory now was a symlink a moment ago: another user is swapping it.)
            let link = e == rustix::io::Errno::NOTDIR
                && std::fs::symlink_metadata(path)
                    .is_ok_and(|m| m.file_type().is_symlink() || m.is_dir());
            let e = if link { rustix::io::Errno::LOOP } else { e };
            refused(e.into(), "open directory", path.to_path_buf())
        })?;
        Ok(Dir {
            fd: Arc::new(fd),
            path: path.to_path_buf(),
        })
    }

    /// The directory holding `path` opened, and the name `path` has in it.
    pub fn open_parent(path: &Path) -> Result<(Dir, String), Error> {
        let name = file_name(path)?;
        Ok((Dir::open(parent(path))?, name))
    }

    /// The path this handle was opened by, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `name` inside this directory, for messages.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens `name` (one component) below this handle, refusing symlinks and `..`.
    fn openat(&self, name: &str, flags: OFlags, mode: u32) -> Result<OwnedFd, Error> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::Unsafe {
                path: self.join(name),
                reason: "is not a plain file name".into(),
            });
        }
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(mode);
        let opened = match rustix::fs::openat2(&*self.fd, name, flags, mode, resolve()) {
            // Kernels before 5.6 (or a seccomp filter) lack openat2; one component opened
            // with O_NOFOLLOW is resolved the same way.
            Err(rustix::io::Errno::NOSYS) => rustix::fs::openat(&*self.fd, name, flags, mode),
            other => other,
        };
        opened.map_err(|e| refused(e.into(), "open", self.join(name)))
    }

    /// Opens the subdirectory `name`, refusing a symlink or anything but a directory.
    pub fn sub(&self, name: &str) -> Result<Dir, Error> {
        let fd = self
            .openat(name, OFlags::RDONLY | OFlags::DIRECTORY, 0)
            .map_err(|e| match e {
                // O_DIRECTORY on a symlink is ENOTDIR before the resolve flags are looked at.
                Error::Io { source, path, .. }
                    if source.raw_os_error() == Some(nix::libc::ENOTDIR) =>
                {
                    // A directory now was a symlink a moment ago: another user is swapping it.
                    let reason = match self.entry(name).ok().flatten() {
                        Some(e) if e.is_symlink() || e.is_dir() => "is a symbolic link",
                        Some(_) => "is not a directory",
                        None => "is a symbolic link or was moved away while in use",
                    };
                    Error::Unsafe {
                        path,
                        reason: reason.into(),
                    }
                }
                e => e,
            })?;
        Ok(Dir {
            fd: Arc::new(fd),
            path: self.join(name),
        })
    }

    /// [`Dir::sub`], `None` when it does not exist.
    pub fn sub_if_present(&self, name: &str) -> Result<Option<Dir>, Error> {
        match self.sub(name) {
            Err(e) if e.is_not_found() => Ok(None),
            other => other.map(Some),
        }
    }

    /// Creates the subdirectory `name` with exactly `mode` (and `owner`), set on the open
    /// directory, and returns it open.
    pub fn mkdir(&self, name: &str, mode: u32, owner: Option<Owner>) -> Result<Dir, Error> {
        rustix::fs::mkdirat(&*self.fd, name, Mode::from_raw_mode(0o700))
            .map_err(|e| self.exists_error(e, "create directory", name))?;
        // The directory is ours from here: if it cannot be opened or given its owner and mode,
        // it goes again (it is empty), so a failure leaves nothing behind.
        let made = self
            .sub(name)
            .and_then(|dir| set_meta(dir.fd(), &dir.path, mode, owner).map(|()| dir));
        if made.is_err() {
            let _ = self.remove_dir(name);
        }
        made
    }

    /// Opens `name` for reading, refusing a symlink and anything but a regular file (a FIFO,
    /// a device): `O_NOFOLLOW|O_NONBLOCK`, so a FIFO planted in the file's place cannot hang us.
    pub fn open_regular(&self, name: &str) -> Result<File, Error> {
        self.open_regular_sized(name).map(|(file, _)| file)
    }

    /// [`Dir::open_regular`], with the file's size when it was opened.
    fn open_regular_sized(&self, name: &str) -> Result<(File, u64), Error> {
        let fd = self.openat(name, OFlags::RDONLY | OFlags::NONBLOCK, 0)?;
        let file = File::from(fd);
        let meta = file.metadata().ctx("stat", &self.join(name))?;
        if !meta.is_file() {
            return Err(Error::Corrupt {
                path: self.join(name),
                line: None,
                reason: "not a regular file".into(),
            });
        }
        Ok((file, meta.len()))
    }

    /// Opens the regular file `name`, with one link, for reading and appending
    /// (`inventory.txt`, changed in place: another link would change another file).
    pub fn open_append(&self, name: &str) -> Result<File, Error> {
        let fd = self.openat(name, OFlags::RDWR | OFlags::APPEND | OFlags::NONBLOCK, 0)?;
        let file = File::from(fd);
        single_file(&file, &self.join(name))?;
        Ok(file)
    }

    /// The error for `errno` from creating `name`: `EEXIST` on a symlink says so.
    fn exists_error(&self, errno: rustix::io::Errno, op: &'static str, name: &str) -> Error {
        if errno == rustix::io::Errno::EXIST
            && self
                .entry(name)
                .ok()
                .flatten()
                .is_some_and(|e| e.is_symlink())
        {
            return Error::Unsafe {
                path: self.join(name),
                reason: "is a symbolic link".into(),
            };
        }
        refused(errno.into(), op, self.join(name))
    }

    /// Opens (creating it with `mode` when absent) the lock file `name` for writing, refusing
    /// anything but a regular file with one link: a hard link to another file would have
    /// that file truncated and given away.
    pub fn open_lock(&self, name: &str, mode: u32) -> Result<File, Error> {
        let fd = self.openat(name, OFlags::RDWR | OFlags::CREATE | OFlags::NONBLOCK, mode)?;
        let file = File::from(fd);
        single_file(&file, &self.join(name))?;
        Ok(file)
    }

    /// Opens the lock file `name` read-only, when it exists (never creating it).
    pub fn open_lock_readonly(&self, name: &str) -> Result<Option<File>, Error> {
        match self.openat(name, OFlags::RDONLY | OFlags::NONBLOCK, 0) {
            Ok(fd) => {
                let file = File::from(fd);
                single_file(&file, &self.join(name))?;
                Ok(Some(file))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads at most `cap` bytes of `name`; a longer file is [`Error::Corrupt`]. Refuses
    /// symlinks and anything that is not a regular file (a FIFO, a device).
    pub fn read_bounded(&self, name: &str, cap: u64) -> Result<Vec<u8>, Error> {
        let (file, len) = self.open_regular_sized(name)?;
        read_sized(file, &self.join(name), cap, len)
    }

    /// Reads a file of the store, refusing one larger than [`MAX_STORE_FILE`].
    pub fn read_store_file(&self, name: &str) -> Result<Vec<u8>, Error> {
        self.read_bounded(name, MAX_STORE_FILE)
    }

    /// What `lstat` says of `name`, `None` when it does not exist.
    pub fn entry(&self, name: &str) -> Result<Option<Entry>, Error> {
        match rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(Entry::of(&st))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(std::io::Error::from(e)).ctx("stat", &self.join(name)),
        }
    }

    /// What identifies the version of the file at `name` (device, inode, size, change and
    /// modification times; not following a symlink), `None` when nothing is there: a file
    /// replaced by rename or changed in place gets another.
    pub fn stamp(&self, name: &str) -> Result<Option<Stamp>, Error> {
        match rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(Stamp([
                st.st_dev as i64,
                st.st_ino as i64,
                st.st_size,
                st.st_mtime,
                st.st_mtime_nsec as i64,
                st.st_ctime,
                st.st_ctime_nsec as i64,
            ]))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(std::io::Error::from(e)).ctx("stat", &self.join(name)),
        }
    }

    /// The device and inode at `name` (not following a symlink), `None` when nothing is there.
    pub fn identity(&self, name: &str) -> Result<Option<(u64, u64)>, Error> {
        match rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some((st.st_dev, st.st_ino))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(std::io::Error::from(e)).ctx("stat", &self.join(name)),
        }
    }

    /// Whether something (a file, a symlink, anything) is at `name`.
    pub fn exists(&self, name: &str) -> bool {
        rustix::fs::statat(&*self.fd, name, AtFlags::SYMLINK_NOFOLLOW).is_ok()
    }

    /// What `fstat` says of the directory itself.
    pub fn stat(&self) -> Result<rustix::fs::Stat, Error> {
        rustix::fs::fstat(&*self.fd)
            .map_err(std::io::Error::from)
            .ctx("stat", &self.path)
    }

    /// The names in this directory (not `.` and `..`), in directory order.
    pub fn names(&self) -> Result<Vec<OsString>, Error> {
        let fail = |e: rustix::io::Errno| Error::Io {
            op: "read directory",
            path: self.path.clone(),
            source: e.into(),
        };
        let mut dir = rustix::fs::Dir::read_from(&*self.fd).map_err(fail)?;
        dir.rewind();
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(fail)?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(OsString::from_vec(name.to_vec()));
            }
        }
        Ok(names)
    }

    /// Creates `name` exclusively with `spec`'s mode and owner set before anything is written.
    pub fn create_exclusive(&self, name: &str, spec: FileSpec) -> Result<File, Error> {
        let path = self.join(name);
        let fd = self
            .openat(
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
                spec.mode,
            )
            .map_err(|e| match e {
                Error::Io { source, path, .. } => match source.raw_os_error() {
                    Some(errno) => self.exists_error(
                        rustix::io::Errno::from_raw_os_error(errno),
                        "create",
                        name,
                    ),
                    None => Error::Io {
                        op: "create",
                        path,
                        source,
                    },
                },
                e => e,
            })?;
        let file = File::from(fd);
        // The file is ours from here: if it cannot be given its owner and mode, it goes again,
        // so a failure leaves no empty file behind to block the retry.
        if let Err(e) = set_meta(file.as_fd(), &path, spec.mode, spec.owner) {
            let _ = self.remove_if_present(name);
            return Err(e);
        }
        Ok(file)
    }

    /// Writes `content` to a new temporary file beside `name`; returns it open.
    fn write_temp(
        &self,
        name: &str,
        content: &[u8],
        spec: FileSpec,
    ) -> Result<(Staged, File), Error> {
        let temp = temp_name(name);
        let mut file = self.create_exclusive(&temp, spec)?;
        let staged = Staged {
            dir: self.clone(),
            temp,
            target: name.to_owned(),
        };
        file.write_all(content).ctx("write", &self.join(name))?;
        Ok((staged, file))
    }

    /// Writes `content` to a synced temporary file beside `name`.
    pub fn stage(&self, name: &str, content: &[u8], spec: FileSpec) -> Result<Staged, Error> {
        let (staged, file) = self.write_temp(name, content, spec)?;
        file.sync_all().ctx("fsync", &self.join(name))?;
        Ok(staged)
    }

    /// Writes `content` to a temporary file beside `name` *without* syncing it: the caller
    /// syncs the whole batch with [`sync_staged`] before committing any of it.
    pub fn stage_unsynced(
        &self,
        name: &str,
        content: &[u8],
        spec: FileSpec,
    ) -> Result<Staged, Error> {
        self.write_temp(name, content, spec)
            .map(|(staged, _)| staged)
    }

    /// Replaces (or creates) `name` atomically and durably with `content`.
    pub fn write_atomic(&self, name: &str, content: &[u8], spec: FileSpec) -> Result<(), Error> {
        self.stage(name, content, spec)?.commit()?;
        self.sync()
    }

    /// Renames `from` to `to`, both in this directory (replacing `to`).
    pub fn rename(&self, from: &str, to: &str) -> Result<(), Error> {
        self.rename_to(from, self, to)
    }

    /// Renames `from` in this directory to `to` in `other` (replacing `to`).
    pub fn rename_to(&self, from: &str, other: &Dir, to: &str) -> Result<(), Error> {
        rustix::fs::renameat(&*self.fd, from, &*other.fd, to)
            .map_err(|e| refused(e.into(), "rename into place", other.join(to)))
    }

    /// A second name `to` for the file `from` (never following a symlink).
    pub fn link(&self, from: &str, to: &str) -> Result<(), Error> {
        rustix::fs::linkat(&*self.fd, from, &*self.fd, to, AtFlags::empty())
            .map_err(|e| refused(e.into(), "link", self.join(to)))
    }

    /// Removes the file `name`; a missing file is not an error. Returns whether it was there.
    pub fn remove_if_present(&self, name: &str) -> Result<bool, Error> {
        match rustix::fs::unlinkat(&*self.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::NOENT) => Ok(false),
            Err(e) => Err(refused(e.into(), "remove", self.join(name))),
        }
    }

    /// Removes the empty directory `name`.
    pub fn remove_dir(&self, name: &str) -> Result<(), Error> {
        rustix::fs::unlinkat(&*self.fd, name, AtFlags::REMOVEDIR)
            .map_err(|e| refused(e.into(), "remove directory", self.join(name)))
    }

    /// fsync the directory, making renames and creations in it durable.
    pub fn sync(&self) -> Result<(), Error> {
        rustix::fs::fsync(&*self.fd)
            .map_err(std::io::Error::from)
            .ctx("fsync directory", &self.path)
    }
}

/// Refuses a file changed in place (a lock file, `inventory.txt`) that is not a regular file
/// with exactly one link.
fn single_file(file: &File, path: &Path) -> Result<(), Error> {
    let st = rustix::fs::fstat(file)
        .map_err(std::io::Error::from)
        .ctx("stat", path)?;
    let entry = Entry::of(&st);
    if !entry.is_file() {
        return Err(Error::Unsafe {
            path: path.to_path_buf(),
            reason: format!("is {}, not a regular file", entry.kind()),
        });
    }
    if entry.nlink != 1 {
        return Err(Error::Unsafe {
            path: path.to_path_buf(),
            reason: format!(
                "has {} hard links; a file changed in place must have one (another name would be changed too)",
                entry.nlink
            ),
        });
    }
    Ok(())
}

/// Sets owner (when given) and then exactly `mode` on an open file or directory.
pub fn set_meta(
    fd: BorrowedFd<'_>,
    path: &Path,
    mode: u32,
    owner: Option<Owner>,
) -> Result<(), Error> {
    if let Some(o) = owner {
        nix::unistd::fchown(fd, Some(Uid::from_raw(o.uid)), Some(Gid::from_raw(o.gid)))
            .map_err(std::io::Error::from)
            .ctx("chown", path)?;
    }
    // After fchown: changing the owner may clear set-id bits, and the umask applied at open.
    rustix::fs::fchmod(fd, Mode::from_raw_mode(mode))
        .map_err(std::io::Error::from)
        .ctx("chmod", path)
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file name beside `name`, unique within this machine for this process.
fn temp_name(name: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.tmp.{}.{n}", std::process::id())
}

/// A file written to its temporary name, not yet in place.
#[derive(Debug)]
pub struct Staged {
    dir: Dir,
    temp: String,
    target: String,
}

impl Staged {
    /// Moves the staged file into place. The caller fsyncs the directory afterwards.
    pub fn commit(self) -> Result<(), Error> {
        self.dir.rename(&self.temp, &self.target)?;
        std::mem::forget(self);
        Ok(())
    }

    /// The name it gets in [`Staged::commit`].
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The temporary name the content has until [`Staged::commit`].
    pub fn temp_name(&self) -> &str {
        &self.temp
    }

    /// The directory it is staged in.
    pub fn dir(&self) -> &Dir {
        &self.dir
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = self.dir.remove_if_present(&self.temp);
    }
}

/// The last component of `path`, which must be a plain name.
pub fn file_name(path: &Path) -> Result<String, Error> {
    path.file_name()
        .and_then(|n| n.to_str())
        .filter(|n| *n != "..")
        .map(str::to_owned)
        .ok_or_else(|| Error::Unsafe {
            path: path.to_path_buf(),
            reason: "does not end in a plain file name".into(),
        })
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Batches up to this size are synced file by file; larger ones with one `syncfs`. A single
/// issuance (its certificate, the serial and the journal: three files) never
/// waits for other writers' data; a group of three certificates or more (a `serve` group
/// commit under load) takes one `syncfs`, which on this project's 2-core VM is cheaper than
/// four fsyncs (measured: API signings with 8 clients 602/s with 16 here, 748/s with 4).
pub const SMALL_BATCH: usize = 4;

/// Makes `staged` files (all on one filesystem) durable: the group commit of a batch (see
/// [`sync_files`]).
pub fn sync_staged(staged: &[&Staged]) -> Result<(), Error> {
    let files: Vec<(&Dir, &str)> = staged.iter().map(|s| (&s.dir, s.temp.as_str())).collect();
    sync_files(&files)
}

/// Makes the files `(directory, name)` durable. A small batch fsyncs
/// each file, so a single issuance never waits for unrelated dirty data; a large one makes one
/// `syncfs(2)` call instead of one fsync per file (which also flushes whatever else is dirty
/// on that filesystem).
pub fn sync_files(files: &[(&Dir, &str)]) -> Result<(), Error> {
    if files.len() <= SMALL_BATCH {
        for (dir, name) in files {
            // Non-blocking and regular only: a FIFO put in a temporary file's place by another
            // user who can write the directory must not hang us (holding the store lock).
            let file = File::from(dir.openat(name, OFlags::RDONLY | OFlags::NONBLOCK, 0)?);
            if !file.metadata().ctx("stat", &dir.join(name))?.is_file() {
                return Err(Error::Unsafe {
                    path: dir.join(name),
                    reason: "is not a regular file (replaced while clusterca wrote it)".into(),
                });
            }
            file.sync_all().ctx("fsync", &dir.join(name))?;
        }
        return Ok(());
    }
    // One syncfs per filesystem the files are on (`signed/` may be a mount of its own).
    let mut synced = Vec::new();
    for (dir, _) in files {
        let dev = dir.stat()?.st_dev;
        if synced.contains(&dev) {
            continue;
        }
        nix::unistd::syncfs(dir.fd())
            .map_err(std::io::Error::from)
            .ctx("syncfs", dir.path())?;
        synced.push(dev);
    }
    Ok(())
}

/// The most the store reads of one of its own files (`inventory.txt` of a few million
/// certificates, a CRL with as many entries): beyond this the file is corrupt, not big.
pub const MAX_STORE_FILE: u64 = 1 << 30;

/// The most the store reads of one PEM file (a key, a certificate, a CSR, a bundle).
pub const MAX_PEM: u64 = 1 << 20;

/// The most the store reads of `ca_crl.pem`: a CRL of a million revoked serials is about
/// 40 MB of PEM.
pub const MAX_CRL: u64 = 64 << 20;

pub(crate) fn read_capped(file: File, path: &Path, cap: u64) -> Result<Vec<u8>, Error> {
    read_sized(file, path, cap, 0)
}

/// [`read_capped`] of a regular file that was `len` bytes when opened: the buffer is made for
/// that, and when one read returns exactly those `len` bytes, asking for one more, the read
/// came short, which a regular file does only at its end: one call, not two (100,000 fewer
/// for `list --all` of a CA of 100,000). A file that grew or shrank meanwhile is read on to
/// its end; the cap holds either way.
fn read_sized(mut file: File, path: &Path, cap: u64, len: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let want = usize::try_from(len.min(cap)).unwrap_or(0);
    let mut buf = vec![0u8; want + 1];
    let first = loop {
        match file.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => break other.ctx("read", path)?,
        }
    };
    buf.truncate(first);
    if len > 0 && len <= cap && first as u64 == len {
        return Ok(buf);
    }
    file.take(cap + 1 - first as u64)
        .read_to_end(&mut buf)
        .ctx("read", path)?;
    if buf.len() as u64 > cap {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            line: None,
            reason: format!("larger than {cap} bytes, more than this file can hold"),
        });
    }
    Ok(buf)
}

/// Reads at most `cap` bytes of the file `path` names (outside any directory handle: a key
/// named by the journal, an operator's input), refusing a final symlink and anything that is
/// not a regular file.
pub fn read_bounded(path: &Path, cap: u64) -> Result<Vec<u8>, Error> {
    let (dir, name) = Dir::open_parent(path)?;
    dir.read_bounded(&name, cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded_whatever_the_size_the_file_had_when_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        for (len, cap, ok) in [
            (0, 10, true),
            (10, 10, true),
            (11, 10, false),
            (9, 10, true),
        ] {
            std::fs::write(tmp.path().join("f"), vec![b'x'; len]).unwrap();
            match dir.read_bounded("f", cap) {
                Ok(bytes) => assert!(ok && bytes.len() == len, "{len} in {cap}"),
                Err(e) => assert!(!ok && e.to_string().contains("larger than"), "{e}"),
            }
        }
        // Grown after it was opened (and measured): read whole to its end, the cap holds.
        for (grown_to, cap, ok) in [(20, 100, true), (101, 100, false)] {
            std::fs::write(tmp.path().join("g"), b"0123456789").unwrap();
            let (file, len) = dir.open_regular_sized("g").unwrap();
            std::fs::write(tmp.path().join("g"), vec![b'y'; grown_to]).unwrap();
            match read_sized(file, &dir.join("g"), cap, len) {
                Ok(bytes) => assert!(ok && bytes == vec![b'y'; grown_to]),
                Err(e) => assert!(!ok && e.to_string().contains("larger than"), "{e}"),
            }
        }
        // Shrunk after it was opened: what is there.
        std::fs::write(tmp.path().join("h"), b"0123456789").unwrap();
        let (file, len) = dir.open_regular_sized("h").unwrap();
        std::fs::write(tmp.path().join("h"), b"abc").unwrap();
        assert_eq!(read_sized(file, &dir.join("h"), 100, len).unwrap(), b"abc");
    }

    #[test]
    fn small_batches_sync_file_by_file_and_large_ones_by_filesystem() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let spec = FileSpec {
            mode: 0o644,
            owner: None,
        };
        let staged: Vec<Staged> = (0..=SMALL_BATCH)
            .map(|i| dir.stage_unsynced(&format!("f{i}"), b"x", spec).unwrap())
            .collect();
        let all: Vec<&Staged> = staged.iter().collect();
        sync_staged(&all[..SMALL_BATCH]).unwrap();
        sync_staged(&all).unwrap();
        // A small batch opens each file, so a missing one is an error naming it...
        let gone = dir.stage_unsynced("gone", b"x", spec).unwrap();
        dir.remove_if_present(gone.temp_name()).unwrap();
        let small = [all[0], &gone];
        let err = sync_staged(&small).unwrap_err().to_string();
        assert!(err.contains("gone"), "{err}");
        // ...while a large one syncs the filesystem and never looks at the files.
        let mut large = all.clone();
        large.push(&gone);
        sync_staged(&large).unwrap();
    }

    #[test]
    fn symlinks_are_refused_at_every_step() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("f"), b"secret").unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), root.join("f")).unwrap();
        let dir = Dir::open(&root).unwrap();
        let spec = FileSpec {
            mode: 0o600,
            owner: None,
        };
        for err in [
            dir.sub("sub").unwrap_err(),
            dir.read_bounded("f", 100).unwrap_err(),
            dir.open_lock("f", 0o644).unwrap_err(),
            dir.sub("..").unwrap_err(),
            dir.create_exclusive("a/b", spec).unwrap_err(),
        ] {
            assert!(matches!(err, Error::Unsafe { .. }), "{err}");
        }
        // A rename over the symlink replaces the link, never its target.
        dir.write_atomic("f", b"new", spec).unwrap();
        assert_eq!(std::fs::read(outside.join("f")).unwrap(), b"secret");
        assert!(dir.entry("f").unwrap().unwrap().is_file());
        // The directory itself given as a symlink is refused too.
        std::os::unix::fs::symlink(&outside, tmp.path().join("link")).unwrap();
        assert!(matches!(
            Dir::open(&tmp.path().join("link")).unwrap_err(),
            Error::Unsafe { .. }
        ));
    }

    #[test]
    fn a_fifo_in_a_temporary_files_place_is_refused_not_waited_for() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let spec = FileSpec {
            mode: 0o644,
            owner: None,
        };
        let staged = dir.stage_unsynced("f", b"x", spec).unwrap();
        // Another user who can write the directory swaps the temporary file for a FIFO: an
        // open without O_NONBLOCK would wait for a writer for ever.
        dir.remove_if_present(staged.temp_name()).unwrap();
        nix::unistd::mkfifo(
            &tmp.path().join(staged.temp_name()),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .unwrap();
        let err = sync_staged(&[&staged]).unwrap_err();
        assert!(matches!(err, Error::Unsafe { .. }), "{err}");
    }

    #[test]
    fn a_hard_linked_lock_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("other"), b"keep").unwrap();
        std::fs::hard_link(tmp.path().join("other"), tmp.path().join("lock")).unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let err = dir.open_lock("lock", 0o644).unwrap_err().to_string();
        assert!(err.contains("2 hard links"), "{err}");
        assert_eq!(std::fs::read(tmp.path().join("other")).unwrap(), b"keep");
    }
}
