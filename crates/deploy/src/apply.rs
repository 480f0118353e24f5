//! Carrying out an [`InstallPlan`] on this machine.
//!
//! Owners are resolved first and every final path is checked before anything is written, so an
//! unknown user or a planted symlink fails the whole install with nothing changed. Then each
//! directory is created (or fixed) through a descriptor opened with `O_NOFOLLOW|O_DIRECTORY`,
//! and each file is written atomically: a temporary file in the target directory, created
//! `O_EXCL|O_NOFOLLOW` with its owner and mode set on the open file, fsync-ed, renamed over
//! the final name, the directory fsync-ed. A file whose bytes, mode and owner already match is
//! not touched. Modes are set explicitly, so the umask does not matter.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use clusterca_store::fsutil::{self, FileSpec, Owner};
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

fn refuse_symlink(path: &Path) -> Result<Option<std::fs::Metadata>, Error> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::Symlink(path.to_path_buf())),
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("inspect", path)(e)),
    }
}

fn open_nofollow(path: &Path, dir: bool) -> Result<File, Error> {
    let flags =
        nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | if dir { nix::libc::O_DIRECTORY } else { 0 };
    OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                Error::Symlink(path.to_path_buf())
            } else {
                io("open", path)(e)
            }
        })
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
    for d in &plan.dirs {
        if let Some(m) = refuse_symlink(&d.path)? {
            if !m.is_dir() {
                return Err(Error::NotADirectory(d.path.clone()));
            }
        }
        // Parents are not made (like `mkdir`, not `mkdir -p`): a missing /etc/puppet is a
        // typo more often than a wish.
        let parent = fsutil::parent(&d.path);
        if !plan.dirs.iter().any(|p| p.path == parent) {
            match refuse_symlink(parent)? {
                Some(m) if m.is_dir() => {}
                _ => return Err(Error::NoDirectory(parent.to_path_buf())),
            }
        }
    }
    for f in &plan.files {
        if let Some(m) = refuse_symlink(&f.path)? {
            if !m.is_file() {
                return Err(Error::NotAFile(f.path.clone()));
            }
        }
        let parent = fsutil::parent(&f.path);
        let planned = plan.dirs.iter().any(|d| d.path == parent);
        if !planned {
            match refuse_symlink(parent)? {
                Some(m) if m.is_dir() => {}
                _ => return Err(Error::NoDirectory(parent.to_path_buf())),
            }
        }
    }

    let mut paths = Vec::new();
    // 2. Directories, parents first.
    for (d, owner) in plan.dirs.iter().zip(&dir_owners) {
        let exists = refuse_symlink(&d.path)?.is_some();
        let action = if dry_run {
            match exists {
                false => Action::Created,
                true => {
                    let f = open_nofollow(&d.path, true)?;
                    let m = f.metadata().map_err(io("stat", &d.path))?;
                    if m.mode() & 0o7777 == d.mode && (m.uid(), m.gid()) == (owner.uid, owner.gid) {
                        Action::Unchanged
                    } else {
                        Action::Fixed
                    }
                }
            }
        } else {
            if !exists {
                std::fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&d.path)
                    .map_err(io("create directory", &d.path))?;
            }
            let f = open_nofollow(&d.path, true)?;
            let fixed = fix_meta(&f, &d.path, d.mode, *owner)?;
            if !exists {
                fsutil::sync_dir(fsutil::parent(&d.path)).map_err(Error::Store)?;
            }
            match (exists, fixed) {
                (false, _) => Action::Created,
                (true, true) => Action::Fixed,
                (true, false) => Action::Unchanged,
            }
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

    // 3. Files.
    let stamp = timestamp();
    for (f, owner) in plan.files.iter().zip(&file_owners) {
        let current = match refuse_symlink(&f.path)? {
            None => None,
            Some(_) => {
                let mut file = open_nofollow(&f.path, false)?;
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes).map_err(io("read", &f.path))?;
                Some((file, bytes))
            }
        };
        let mut backup = None;
        let action = match current {
            Some((file, bytes)) if bytes == f.content => {
                let m = file.metadata().map_err(io("stat", &f.path))?;
                let same =
                    m.mode() & 0o7777 == f.mode && (m.uid(), m.gid()) == (owner.uid, owner.gid);
                match (same, dry_run) {
                    (true, _) => Action::Unchanged,
                    (false, true) => Action::Fixed,
                    (false, false) => {
                        fix_meta(&file, &f.path, f.mode, *owner)?;
                        Action::Fixed
                    }
                }
            }
            existing => {
                let replacing = existing.is_some();
                if !dry_run {
                    let spec = FileSpec {
                        mode: f.mode,
                        owner: Some(*owner),
                    };
                    let staged = fsutil::stage(&f.path, &f.content, spec).map_err(Error::Store)?;
                    if replacing && plan.backup {
                        let name = f
                            .path
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        let bak = f.path.with_file_name(format!("{name}.bak.{stamp}"));
                        // link(2) does not follow symlinks, and the old file is regular.
                        std::fs::hard_link(&f.path, &bak).map_err(io("back up", &f.path))?;
                        backup = Some(bak);
                    }
                    staged.commit().map_err(Error::Store)?;
                    fsutil::sync_dir(fsutil::parent(&f.path)).map_err(Error::Store)?;
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
