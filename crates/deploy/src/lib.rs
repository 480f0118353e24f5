//! clusterca-deploy: putting a certname's certificate, key, CA bundle and CRL in place.
//!
//! An [`InstallPlan`] says which directories and files go where, with exact modes and
//! owners; [`apply::apply`] carries it out here, atomically and idempotently;
//! [`sh::render`] turns it into a POSIX sh script for a machine without clusterca, and
//! [`push::push`] runs such scripts on many hosts over the system `ssh`.
#![deny(missing_docs)]

use std::fmt;
use std::path::PathBuf;

pub mod apply;
pub mod plan;
pub mod push;
pub mod sh;

pub use apply::{apply, Action, Applied, InstallReport};
pub use plan::{InstallPlan, Layout, Ownership, Sources};

/// Why an install could not be done. Nothing has been written when one of these is returned
/// before the first write (owners, symlinks, missing directories are checked first).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No such user.
    UnknownUser(String),
    /// No such group.
    UnknownGroup(String),
    /// A symbolic link where a file or directory is to be written.
    Symlink(PathBuf),
    /// Something other than a directory where one is needed.
    NotADirectory(PathBuf),
    /// Something other than a regular file where a file is to be written.
    NotAFile(PathBuf),
    /// A file's directory does not exist (and is not part of the layout).
    NoDirectory(PathBuf),
    /// A system call failed.
    Io {
        /// What was being done.
        op: &'static str,
        /// To what.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// An atomic write failed.
    Store(clusterca_store::Error),
    /// `restorecon` failed.
    Restorecon(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownUser(u) => write!(f, "unknown user {u:?}: nothing was written"),
            Error::UnknownGroup(g) => write!(f, "unknown group {g:?}: nothing was written"),
            Error::Symlink(p) => write!(
                f,
                "{} is a symbolic link: refusing to follow it (nothing was written)",
                p.display()
            ),
            Error::NotADirectory(p) => write!(f, "{} exists and is not a directory", p.display()),
            Error::NotAFile(p) => write!(f, "{} exists and is not a regular file", p.display()),
            Error::NoDirectory(p) => write!(f, "directory {} does not exist", p.display()),
            Error::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
            Error::Store(e) => write!(f, "{e}"),
            Error::Restorecon(e) => write!(f, "restorecon: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Store(e) => Some(e),
            _ => None,
        }
    }
}
