//! clusterca-audit: what the fleet actually holds and presents.
//!
//! [`fleet::audit`] walks collected or mounted ssl directories and judges every certificate and
//! key it recognises; [`probe::probe`] connects to live endpoints (load balancers and their
//! members) and reports the certificates they present. Both report [`fleet::AuditFinding`]-style
//! findings with stable rule names, and neither prints: the CLI renders.
#![deny(missing_docs)]

use std::fmt;
use std::path::PathBuf;

pub mod fleet;
pub mod probe;
pub mod verify;

pub use fleet::{audit, AuditFinding, AuditOptions, AuditReport};
pub use probe::{probe, ProbeOptions, ProbeReport, Target};
pub use verify::{verify, VerifyOptions, VerifyReport};

/// What can stop an audit or a probe before it starts. Problems with the fleet or the
/// endpoints are findings, not errors.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A path to audit cannot be read.
    Io {
        /// The path.
        path: PathBuf,
        /// The problem.
        source: std::io::Error,
    },
    /// The `--ca` bundle is unusable.
    Ca(clusterca_pki::Error),
    /// The `--crl` is unusable.
    Crl(clusterca_pki::Error),
    /// A target is not `host:port`.
    Target {
        /// The text given.
        text: String,
        /// Why.
        reason: String,
    },
    /// The TLS client could not be set up.
    Tls(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Ca(e) => write!(f, "--ca: {e}"),
            Error::Crl(e) => write!(f, "--crl: {e}"),
            Error::Target { text, reason } => write!(f, "target {text:?}: {reason}"),
            Error::Tls(reason) => write!(f, "TLS setup: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Ca(e) | Error::Crl(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether a certificate carries `name` in its subjectAltNames (the CN does not count; a `*.`
/// wildcard covers exactly one label).
pub(crate) fn carries(c: &clusterca_pki::inspect::CertInfo, name: &clusterca_pki::AltName) -> bool {
    use clusterca_pki::AltName;
    match name {
        AltName::Dns(d) => c.dns_alt_names.iter().any(|san| {
            let san = san.to_ascii_lowercase();
            san == *d
                || san
                    .strip_prefix("*.")
                    .is_some_and(|domain| d.split_once('.').is_some_and(|(_, rest)| rest == domain))
        }),
        AltName::Ip(ip) => c.subject_alt_names.contains(&format!("IP:{ip}")),
    }
}
