//! The one error type of clusterca-store.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Errors from reading or changing a CA directory.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory operation failed.
    Io {
        /// What was being done ("read", "write", "create", ...).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// A file's content is not what the format requires.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The 1-based line, where one applies.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A certificate or key in the store could not be used.
    Pki {
        /// The file it came from.
        path: PathBuf,
        /// The problem.
        source: clusterca_pki::Error,
    },
    /// The directory is not a CA directory, or only part of one.
    NotACa {
        /// The directory.
        dir: PathBuf,
        /// Which of the required files are missing.
        missing: Vec<&'static str>,
    },
    /// `create` was pointed at a directory that is not empty.
    AlreadyExists {
        /// The directory.
        dir: PathBuf,
        /// The first file found in it.
        found: String,
    },
    /// A certname already has a signed certificate.
    AlreadySigned {
        /// The certname.
        name: String,
    },
    /// A certname has no request waiting.
    NoRequest {
        /// The certname.
        name: String,
    },
    /// A request was submitted for a name that already has one, or a certificate.
    AlreadyFiled {
        /// The certname.
        name: String,
        /// `requested`, `signed` or `revoked`.
        state: &'static str,
    },
    /// A certname has no signed certificate.
    NotSigned {
        /// The certname.
        name: String,
    },
    /// A certname has neither a signed certificate nor a request.
    Unknown {
        /// The certname.
        name: String,
    },
    /// A private key file is already where a new one would go.
    KeyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Another process held the store lock past the deadline.
    Busy {
        /// The lock file.
        path: PathBuf,
        /// What the holder wrote into it (pid, host, since when).
        holder: String,
        /// How long we waited, in seconds.
        waited_secs: f64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
            Error::Corrupt { path, line, reason } => match line {
                Some(n) => write!(f, "{}:{n}: {reason}", path.display()),
                None => write!(f, "{}: {reason}", path.display()),
            },
            Error::Pki { path, source } => write!(f, "{}: {source}", path.display()),
            Error::NotACa { dir, missing } if missing.len() == crate::REQUIRED_FILES.len() => write!(
                f,
                "{} is not a CA directory (no ca_crt.pem, ca_key.pem, ...); create one with `clusterca init`",
                dir.display()
            ),
            Error::NotACa { dir, missing } => write!(
                f,
                "{} holds a partial CA: missing {}",
                dir.display(),
                missing.join(", ")
            ),
            Error::AlreadyExists { dir, found } => write!(
                f,
                "{} is not empty (it holds {found}); refusing to create a CA over it",
                dir.display()
            ),
            Error::AlreadySigned { name } => write!(
                f,
                "{name} already has a signed certificate; revoke and clean it before issuing again"
            ),
            Error::NoRequest { name } => write!(f, "{name} has no certificate request to sign"),
            Error::AlreadyFiled { name, state } => write!(
                f,
                "{name} already has a {state} certificate; ignoring certificate request"
            ),
            Error::NotSigned { name } => write!(f, "{name} has no signed certificate"),
            Error::Unknown { name } => {
                write!(f, "{name} has no signed certificate and no certificate request")
            }
            Error::KeyExists { path } => write!(
                f,
                "{} already exists; refusing to overwrite a private key (move it away or choose another --out)",
                path.display()
            ),
            Error::Busy {
                path,
                holder,
                waited_secs,
            } => write!(
                f,
                "CA store is busy: {} held by {holder} (gave up after {waited_secs:.1}s; raise --lock-timeout to wait longer)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Pki { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Shorthand to attach an operation and a path to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T, Error>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T, Error> {
        self.map_err(|source| Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        })
    }
}
