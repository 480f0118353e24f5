//! The one error type of clusterca-pki. Every variant carries what a user needs to find the
//! problem: the offending name, the input's role, the reason.

use std::fmt;

/// Errors from validating names, parsing keys and certificates, and signing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A certname breaks Puppet's rules.
    InvalidCertName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A subjectAltName could not be parsed or is not allowed.
    InvalidAltName {
        /// The alt name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A lifetime such as `5y` could not be parsed.
    InvalidTtl {
        /// The text as given.
        text: String,
    },
    /// A lifetime given as a bare number: which unit was meant cannot be known.
    TtlWithoutUnit {
        /// The text as given.
        text: String,
    },
    /// A lifetime that would end after 9999-12-31, the last date X.509 can carry.
    TtlTooLong {
        /// The lifetime in seconds.
        secs: u64,
    },
    /// Input bytes are not a well-formed object of the expected kind.
    Malformed {
        /// What was being read ("certificate", "private key", "PEM", ...).
        what: &'static str,
        /// The parser's complaint.
        reason: String,
    },
    /// A key type is not usable for the requested operation.
    UnsupportedKey {
        /// Why.
        reason: String,
    },
    /// A CA certificate and key do not belong together, or the certificate is not a CA.
    CaMismatch {
        /// Why.
        reason: String,
    },
    /// A certificate request was refused by policy.
    Refused {
        /// The certname it was filed under.
        name: String,
        /// Why.
        reason: String,
    },
    /// A request filed under a certname its CN is not (Puppet's words, which agents see).
    NameMismatch {
        /// The request's CN (empty when it has none).
        instance: String,
        /// The certname it was filed under.
        key: String,
    },
    /// A revocation reason clusterca does not write.
    InvalidReason {
        /// The text as given.
        value: String,
    },
    /// A certificate that cannot be renewed as it stands.
    NotRenewable {
        /// Why.
        reason: String,
    },
    /// Signing failed inside the crypto library.
    Signing {
        /// The library's message.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidCertName { name, reason } => {
                write!(f, "invalid certname {}: {reason}", crate::quote(name))
            }
            Error::InvalidAltName { name, reason } => {
                write!(f, "invalid alt name {}: {reason}", crate::quote(name))
            }
            Error::TtlTooLong { secs } => write!(
                f,
                "a lifetime of {secs} seconds ends after 9999-12-31, the last date a certificate can carry"
            ),
            Error::TtlWithoutUnit { text } => write!(
                f,
                "lifetime {} has no unit: add y, d, h, m or s ({}d is {} days)",
                crate::quote(text),
                text.trim(),
                text.trim()
            ),
            Error::InvalidTtl { text } => write!(
                f,
                "invalid lifetime {}: expected a number with a unit y, d, h, m or s (e.g. 5y, 90d)",
                crate::quote(text)
            ),
            Error::Malformed { what, reason } => write!(f, "malformed {what}: {reason}"),
            Error::UnsupportedKey { reason } => write!(f, "unsupported key: {reason}"),
            Error::CaMismatch { reason } => write!(f, "unusable CA: {reason}"),
            Error::Refused { name, reason } => {
                write!(f, "refusing to sign {name}: {reason}")
            }
            // Puppet's words; both names are the client's, quoted (escaped, at most 80 bytes).
            Error::NameMismatch { instance, key } => write!(
                f,
                "Instance name {} does not match requested key {}",
                crate::quote(instance),
                crate::quote(key)
            ),
            Error::InvalidReason { value } => write!(
                f,
                "invalid revocation reason {}: expected one of {}",
                crate::quote(value),
                crate::Reason::ALL.map(|r| r.name()).join(", ")
            ),
            Error::NotRenewable { reason } => write!(f, "cannot renew: {reason}"),
            Error::Signing { reason } => write!(f, "signing failed: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    pub(crate) fn signing(e: impl fmt::Display) -> Self {
        Error::Signing {
            reason: e.to_string(),
        }
    }
}
