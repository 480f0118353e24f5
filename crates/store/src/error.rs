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
    /// `issue` run again after it finished: the certificate is already beside its key.
    AlreadyIssued {
        /// The certname.
        name: String,
        /// Where its certificate is.
        cert: PathBuf,
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
    /// Work recorded in the CA directory before a later step failed: `what` says what stands
    /// and what finishes it.
    Recorded {
        /// What is recorded and what to do.
        what: String,
        /// The failure.
        source: Box<Error>,
    },
    /// A new CA directory was moved into place, but the last step (syncing its parent,
    /// opening it) failed: it exists, and may not survive a crash.
    CreatedNotDurable {
        /// The new CA directory.
        dir: PathBuf,
        /// What failed.
        source: Box<Error>,
    },
    /// A combination of arguments that cannot work.
    Usage {
        /// Why.
        reason: String,
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
    /// The serial rule would hand out a serial past Puppet's 32-bit limit.
    SerialExhausted {
        /// The `serial` file.
        path: PathBuf,
        /// The next serial the rule computed.
        next: u64,
        /// How many were asked for.
        count: u64,
    },
    /// `revoke --serial` of a serial this CA never issued.
    NeverIssued {
        /// The serial.
        serial: u64,
    },
    /// A batch failed after it was recorded: the certificates are issued, and what is left
    /// (files in `signed/`, requests to remove) is finished by the next signer or
    /// `check --repair` from `clusterca.journal`. Keys written for it are kept.
    Unfinished {
        /// The certnames whose issuance was recorded.
        names: Vec<String>,
        /// What failed.
        source: Box<Error>,
    },
    /// `check --repair` failed after it had repaired something: what it did, then why it
    /// stopped.
    PartlyRepaired {
        /// What was repaired, one sentence each.
        done: Vec<String>,
        /// What failed.
        source: Box<Error>,
    },
    /// A file is already where `issue` would write a certificate.
    CertExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A path component is a symlink, or not the kind of file it must be (a lock file with
    /// another hard link): refused rather than followed (see `fsutil`).
    Unsafe {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
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
            Error::AlreadyIssued { name, cert } => write!(
                f,
                "{name} is already issued: {} is beside its key (nothing left to do; to replace it, revoke and clean it first)",
                cert.display()
            ),
            Error::NoRequest { name } => write!(f, "{name} has no certificate request to sign"),
            Error::AlreadyFiled { name, state } => write!(
                f,
                "{name} already has a {state} certificate; ignoring certificate request"
            ),
            Error::NotSigned { name } => write!(f, "{name} has no signed certificate"),
            Error::Usage { reason } => f.write_str(reason),
            Error::CreatedNotDurable { dir, source } => write!(
                f,
                "created {}, but then: {source} (it may not survive a crash; run `clusterca check`)",
                dir.display()
            ),
            Error::Recorded { what, source } => write!(f, "{source}; {what}"),
            Error::Unknown { name } => {
                write!(f, "{name} has no signed certificate and no certificate request")
            }
            Error::KeyExists { path } => write!(
                f,
                "{} already exists; refusing to overwrite a private key (move it away or choose another --out)",
                path.display()
            ),
            Error::SerialExhausted { path, next, count } => write!(
                f,
                "{}: no serial left for {count} certificate{}: the next is 0x{next:X}, and Puppet Server reads serials as signed 32-bit numbers (at most 0x{:X})",
                path.display(),
                if *count == 1 { "" } else { "s" },
                crate::serial::PUPPET_LIMIT
            ),
            Error::NeverIssued { serial } => write!(
                f,
                "serial 0x{serial:04X} was never issued by this CA (not in inventory.txt or signed/); pass --force to put it on the CRL anyway"
            ),
            Error::PartlyRepaired { done, source } => {
                write!(f, "{source}; repaired before it: {}", done.join("; "))
            }
            Error::Unfinished { names, source } => {
                let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
                let more = names.len().saturating_sub(shown.len());
                write!(
                    f,
                    "{source}; the issuance of {}{} is recorded and its keys are kept: `clusterca check --repair` finishes the CA directory, and the same command run again writes what is missing",
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                )
            }
            Error::CertExists { path } => write!(
                f,
                "{} already exists; refusing to overwrite it (move it away or choose another --out)",
                path.display()
            ),
            Error::Unsafe { path, reason } => write!(
                f,
                "{} {reason}: refusing to use it (clusterca never follows a symlink in a CA directory, an ssldir or an install target)",
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

impl Error {
    /// Whether this is "no such file or directory".
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Unfinished { source, .. }
            | Error::Recorded { source, .. }
            | Error::PartlyRepaired { source, .. } => Some(source.as_ref()),
            Error::Pki { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub use clusterca_pki::quote;

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

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_are_escaped_and_cut_to_80_bytes() {
        assert_eq!(quote("abc"), "\"abc\"");
        assert_eq!(quote("a\nb\u{202e}c"), "\"a\\nb\\u{202e}c\"");
        let long = quote(&"x".repeat(10_000));
        assert!(long.ends_with("\"...") && long.len() <= 80 + 5, "{long}");
        // Escapes count with their escaped length and are never cut in half.
        let escaped = quote(&"\u{1}".repeat(100));
        assert!(escaped.len() <= 85 && escaped.trim_end_matches("\"...").ends_with('}'));
    }
}
