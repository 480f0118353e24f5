//! Carrying out an [`InstallPlan`] on this machine.
//!
//! Owners are resolved first and every final path is checked before anything is written, so an
//! unknown user or a planted symlink fails the whole install with nothing changed. Every
//! target directory is then opened once as a handle ([`Dir`]): an existing one by its path
//! (its last component must not be a symlink), a planned one created and opened through its
//! parent's handle (`mkdirat`, then `openat2` with `RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH`).
//! Everything after that is relative to a handle, by one file name: so another user who owns
//! the ssldir and swaps `private_keys/` for a symlink mid-run cannot redirect a write (the
//! swap is refused, or the write lands in the directory that was opened). Each file is
//! written atomically: a temporary file in its directory, created `O_EXCL|O_NOFOLLOW` with
//! its owner and mode set on the open descriptor, fsync-ed, renamed (`renameat`) over the
//! final name, the directory fsync-ed. A file whose bytes, mode and owner already match is not
//! touched. Modes are set explicitly, so the umask does not matter.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use clusterca_store::fsutil::{self, Dir, FileSpec, Owner};
use nix::unistd::{Gid, Group, Uid, User};
use serde::Serialize;

use crate::plan::{InstallPlan, Ownership};
use crate::Error;

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// It did not exist and was made.
    Created,
    /// Its content changed.
    Replaced,
    /// Same content; mode or owner fixed.
    Fixed,
    /// Already exactly as planned: not touched.
    Unchanged,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Action::Created => "created",
            Action::Replaced => "replaced",
            Action::Fixed => "fixed",
            Action::Unchanged => "unchanged",
        })
    }
}

/// The outcome for one path.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// The path.
    pub path: PathBuf,
    /// `directory` or what the file is.
    pub what: &'static str,
    /// What was (or, in a dry run, would be) done.
    pub action: Action,
    /// Its mode now.
    pub mode: u32,
    /// Its owner and group, numeric.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Where the old file was kept (`--backup`).
    pub backup: Option<PathBuf>,
}

/// Everything an install did.
#[derive(Debug, Clone, Serialize)]
pub struct InstallReport {
    /// One entry per planned directory and file, in plan order.
    pub paths: Vec<Applied>,
    /// True when nothing was written (`--dry-run`).
    pub dry_run: bool,
    /// What `restorecon` did, on SELinux systems.
    pub selinux: Option<String>,
}

impl InstallReport {
    /// Whether anything was (or would be) created, replaced or fixed.
    pub fn changed(&self) -> bool {
        self.paths.iter().any(|a| a.action != Action::Unchanged)
    }
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Resolves an [`Ownership`] by name (or number) to ids; unset parts are the current ones.
pub fn resolve(o: &Ownership) -> Result<Owner, Error> {
    let uid = match &o.user {
        None => nix::unistd::geteuid().as_raw(),
        Some(u) => match u.parse::<u32>() {
            Ok(n) => n,
            Err(_) => User::from_name(u)
                .ok()
                .flatten()
                .map(|u| u.uid.as_raw())
                .ok_or_else(|| Error::UnknownUser(u.clone()))?,
        },
    };
    let gid = match &o.group {
        None => nix::unistd::getegid().as_raw(),
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => Group::from_name(g)
                .ok()
                .flatten()
                .map(|g| g.gid.as_raw())
                .ok_or_else(|| Error::UnknownGroup(g.clone()))?,
        },
    };
    Ok(Owner { uid, gid })
}

/// The directory handles of an install: each target directory opened once, by its parent's
/// handle when the plan makes it, so a component swapped for a symlink mid-run is refused
/// instead of followed.
#[derive(Default)]
struct Handles(std::collections::HashMap<PathBuf, Dir>);

impl Handles {
    /// The handle of `dir`: one the plan opened, or the existing directory opened now (the
    /// operator's path; its last component must not be a symlink).
    fn get(&mut self, dir: &Path) -> Result<Option<Dir>, Error> {
        if let Some(d) = self.0.get(dir) {
            return Ok(Some(d.clone()));
        }
        match Dir::open(dir) {
            Ok(d) => {
                self.0.insert(dir.to_path_buf(), d.clone());
                Ok(Some(d))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(unsafe_path(e)),
        }
    }
}

/// A store error about a refused path, as the install's own error.
fn unsafe_path(e: clusterca_store::Error) -> Error {
    match e {
        clusterca_store::Error::Unsafe { path, reason } if reason == "is a symbolic link" => {
            Error::Symlink(path)
        }
        clusterca_store::Error::Unsafe { path, reason } if reason == "is not a directory" => {
            Error::NotADirectory(path)
        }
        clusterca_store::Error::Io { op, path, source }
            if source.raw_os_error() == Some(nix::libc::ENOTDIR) =>
        {
            let _ = (op, source);
            Error::NotADirectory(path)
        }
        e => Error::Store(e),
    }
}

/// `path`'s directory and its name there.
fn split(path: &Path) -> Result<(&Path, String), Error> {
    Ok((
        fsutil::parent(path),
        fsutil::file_name(path).map_err(Error::Store)?,
    ))
}

/// Sets owner and mode on an open descriptor, when they differ; returns whether they did.
fn fix_meta(file: &File, path: &Path, mode: u32, owner: Owner) -> Result<bool, Error> {
    let meta = file.metadata().map_err(io("stat", path))?;
    let mut changed = false;
    if (meta.uid(), meta.gid()) != (owner.uid, owner.gid) {
        nix::unistd::fchown(
            file,
            Some(Uid::from_raw(owner.uid)),
            Some(Gid::from_raw(owner.gid)),
        )
        .map_err(|e| io("chown", path)(e.into()))?;
        changed = true;
    }
    // After a chown, which may clear set-id bits.
    if changed || meta.mode() & 0o7777 != mode {
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io("chmod", path))?;
        changed = true;
    }
    Ok(changed)
}

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// Reads the file `name` in `dir` (regular, never through a symlink), at most one byte more
/// than `want`: enough to tell whether it holds exactly `want`.
fn same_content(dir: &Dir, name: &str, want: &[u8]) -> Result<(File, bool), Error> {
    let path = dir.join(name);
    let file = dir.open_regular(name).map_err(|e| match e {
        clusterca_store::Error::Corrupt { path, .. } => Error::NotAFile(path),
        e => unsafe_path(e),
    })?;
    let mut bytes = Vec::new();
    (&file)
        .take(want.len() as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io("read", &path))?;
    Ok((file, bytes == want))
}

/// Carries out `plan`; with `dry_run`, only reports what it would do.
pub fn apply(plan: &InstallPlan, dry_run: bool) -> Result<InstallReport, Error> {
    // 1. Everything that can fail without writing: owners, symlinks, parents.
    let dir_owners: Vec<Owner> = plan
        .dirs
        .iter()
        .map(|d| resolve(&d.owner))
        .collect::<Result<_, _>>()?;
    let file_owners: Vec<Owner> = plan
        .files
        .iter()
        .map(|f| resolve(&f.owner))
        .collect::<Result<_, _>>()?;
    let planned = |p: &Path| plan.dirs.iter().any(|d| d.path == p);
    let mut handles = Handles::default();
    let targets = plan
        .dirs
        .iter()
        .map(|d| (&d.path, true))
        .chain(plan.files.iter().map(|f| (&f.path, false)));
    for (path, is_dir) in targets {
        let (parent, name) = split(path)?;
        // Parents are not made (like `mkdir`, not `mkdir -p`): a missing /etc/puppet is a
        // typo more often than a wish.
        let Some(handle) = handles.get(parent)? else {
            if planned(parent) {
                continue;
            }
            return Err(Error::NoDirectory(parent.to_path_buf()));
        };
        match handle.entry(&name).map_err(Error::Store)? {
            Some(e) if e.is_symlink() => return Err(Error::Symlink(path.clone())),
            Some(e) if is_dir && !e.is_dir() => return Err(Error::NotADirectory(path.clone())),
            Some(e) if !is_dir && !e.is_file() => return Err(Error::NotAFile(path.clone())),
            _ => {}
        }
    }

    let mut paths = Vec::new();
    // 2. Directories, parents first, each made and opened through its parent's handle.
    for (d, owner) in plan.dirs.iter().zip(&dir_owners) {
        let (parent_path, name) = split(&d.path)?;
        let parent = handles.get(parent_path)?;
        let existing = match &parent {
            Some(p) => p.sub_if_present(&name).map_err(unsafe_path)?,
            None => None,
        };
        let action = match (existing, &parent) {
            (Some(dir), _) if dry_run => {
                let m = dir.stat().map_err(Error::Store)?;
                if m.st_mode & 0o7777 == d.mode && (m.st_uid, m.st_gid) == (owner.uid, owner.gid) {
                    Action::Unchanged
                } else {
                    Action::Fixed
                }
            }
            (None, _) if dry_run => Action::Created,
            (Some(dir), _) => {
                let fixed = fix_meta(&dir_file(&dir)?, &d.path, d.mode, *owner)?;
                handles.0.insert(d.path.clone(), dir);
                if fixed {
                    Action::Fixed
                } else {
                    Action::Unchanged
                }
            }
            (None, Some(parent)) => {
                let dir = parent
                    .mkdir(&name, d.mode, Some(*owner))
                    .map_err(unsafe_path)?;
                parent.sync().map_err(Error::Store)?;
                handles.0.insert(d.path.clone(), dir);
                Action::Created
            }
            (None, None) => return Err(Error::NoDirectory(parent_path.to_path_buf())),
        };
        paths.push(Applied {
            path: d.path.clone(),
            what: "directory",
            action,
            mode: d.mode,
            uid: owner.uid,
            gid: owner.gid,
            backup: None,
        });
    }

    // 3. Files, each through its directory's handle.
    let stamp = timestamp();
    for (f, owner) in plan.files.iter().zip(&file_owners) {
        let (parent_path, name) = split(&f.path)?;
        let dir = handles.get(parent_path)?;
        let current = match &dir {
            Some(dir) if dir.exists(&name) => Some(same_content(dir, &name, &f.content)?),
            _ => None,
        };
        let mut backup = None;
        // Same content with the right owner and mode: unchanged. Same content otherwise: its
        // owner and mode are fixed on the open file, unless it has other hard links (a chown
        // would change the file behind them too): then it is written anew, like new content.
        let current = match current {
            Some((file, true)) => {
                let m = file.metadata().map_err(io("stat", &f.path))?;
                let same =
                    m.mode() & 0o7777 == f.mode && (m.uid(), m.gid()) == (owner.uid, owner.gid);
                match (same, m.nlink()) {
                    (true, _) => Some((file, Some(true))),
                    (false, 1) => Some((file, Some(false))),
                    (false, _) => Some((file, None)),
                }
            }
            Some((file, false)) => Some((file, None)),
            None => None,
        };
        let action = match (current, &dir) {
            (Some((_, Some(true))), _) => Action::Unchanged,
            (Some((_, Some(false))), _) if dry_run => Action::Fixed,
            (Some((file, Some(false))), _) => {
                fix_meta(&file, &f.path, f.mode, *owner)?;
                Action::Fixed
            }
            (existing, dir) => {
                let replacing = existing.is_some();
                if !dry_run {
                    let Some(dir) = dir else {
                        return Err(Error::NoDirectory(parent_path.to_path_buf()));
                    };
                    let spec = FileSpec {
                        mode: f.mode,
                        owner: Some(*owner),
                    };
                    // From here on something may have been written: refusals are the store's
                    // errors, which do not claim that nothing was.
                    let staged = dir.stage(&name, &f.content, spec).map_err(Error::Store)?;
                    if replacing && plan.backup {
                        backup = Some(keep_backup(dir, &name, &stamp)?);
                    }
                    staged.commit().map_err(Error::Store)?;
                    dir.sync().map_err(Error::Store)?;
                }
                if replacing {
                    Action::Replaced
                } else {
                    Action::Created
                }
            }
        };
        paths.push(Applied {
            path: f.path.clone(),
            what: f.what,
            action,
            mode: f.mode,
            uid: owner.uid,
            gid: owner.gid,
            backup,
        });
    }

    let mut report = InstallReport {
        paths,
        dry_run,
        selinux: None,
    };
    if !dry_run && report.changed() {
        report.selinux = restorecon(&report)?;
    }
    Ok(report)
}

/// Keeps the file `name` as `NAME.bak.STAMP` (or `.bak.STAMP.N` when a backup of the same
/// second is there): a second name for the old file, made with link(2), which never follows
/// a symlink.
fn keep_backup(dir: &Dir, name: &str, stamp: &str) -> Result<PathBuf, Error> {
    for n in 0..1000 {
        let bak = match n {
            0 => format!("{name}.bak.{stamp}"),
            n => format!("{name}.bak.{stamp}.{n}"),
        };
        match dir.link(name, &bak) {
            Ok(()) => return Ok(dir.join(&bak)),
            Err(clusterca_store::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::Store(e)),
        }
    }
    Err(Error::Io {
        op: "back up",
        path: dir.join(name),
        source: std::io::ErrorKind::AlreadyExists.into(),
    })
}

/// The directory handle as a `File`, for [`fix_meta`] (a duplicate of its descriptor).
fn dir_file(dir: &Dir) -> Result<File, Error> {
    dir.fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(io("open", dir.path()))
}

/// Where SELinux is enabled and `restorecon` is present, restores the default contexts of what
/// was written; returns what it did.
fn restorecon(report: &InstallReport) -> Result<Option<String>, Error> {
    if !Path::new("/sys/fs/selinux/enforce").exists() {
        return Ok(None);
    }
    let changed: Vec<&Path> = report
        .paths
        .iter()
        .filter(|a| a.action != Action::Unchanged)
        .map(|a| a.path.as_path())
        .collect();
    let status = std::process::Command::new("restorecon")
        .arg("-F")
        .args(&changed)
        .status();
    match status {
        Ok(s) if s.success() => Ok(Some(format!(
            "restorecon -F restored the default SELinux contexts of {} path(s)",
            changed.len()
        ))),
        Ok(s) => Err(Error::Restorecon(format!("restorecon exited with {s}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(
            "SELinux is enabled but restorecon is not installed: contexts left as created".into(),
        )),
        Err(e) => Err(Error::Restorecon(e.to_string())),
    }
}
