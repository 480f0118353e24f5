//! `Finding`: one result of `check`, `audit` or `probe`, in one shape for all of them.

use std::fmt;

use serde::Serialize;

/// How serious a finding is. `--fail-on` style thresholds compare these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, nothing to fix (a serial gap after a crash).
    Info,
    /// Should be fixed, nothing is broken yet.
    Warning,
    /// Broken, or unsafe.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: tables align severities with `{:<8}`.
        f.pad(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What a finding is about: the rule that found it. One list for `check`, `audit` and
/// `probe` (docs/json.md and docs/store.md say which command reports which); written as its
/// stable kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// `ca-expired`.
    CaExpired,
    /// `ca-expiring`.
    CaExpiring,
    /// `ca-unusable`.
    CaUnusable,
    /// `cert-expired`.
    CertExpired,
    /// `cert-expiring`.
    CertExpiring,
    /// `crl-expired`.
    CrlExpired,
    /// `crl-expiring`.
    CrlExpiring,
    /// `crl-signature`.
    CrlSignature,
    /// `crl-stale`.
    CrlStale,
    /// `crl-unissued-serial`.
    CrlUnissuedSerial,
    /// `crl-unparseable`.
    CrlUnparseable,
    /// `dangling-symlink`.
    DanglingSymlink,
    /// `duplicate-serial`.
    DuplicateSerial,
    /// `expired`.
    Expired,
    /// `expiring`.
    Expiring,
    /// `extra-content`.
    ExtraContent,
    /// `foreign-certificate`.
    ForeignCertificate,
    /// `foreign-issuer`.
    ForeignIssuer,
    /// `interrupted-batch`.
    InterruptedBatch,
    /// `invalid-certname`.
    InvalidCertname,
    /// `inventory-line`.
    InventoryLine,
    /// `inventory-no-newline`.
    InventoryNoNewline,
    /// `journal-keys-unchecked`.
    JournalKeysUnchecked,
    /// `journal-set-aside`.
    JournalSetAside,
    /// `journal-unreadable`.
    JournalUnreadable,
    /// `key-mismatch`.
    KeyMismatch,
    /// `key-owner`.
    KeyOwner,
    /// `key-readable`.
    KeyReadable,
    /// `loose-mode`.
    LooseMode,
    /// `name-mismatch`.
    NameMismatch,
    /// `name-missing`.
    NameMissing,
    /// `not-in-inventory`.
    NotInInventory,
    /// `puppet-cannot-sign`.
    PuppetCannotSign,
    /// `recorded-without-key`.
    RecordedWithoutKey,
    /// `request-beside-signed`.
    RequestBesideSigned,
    /// `revoked`.
    Revoked,
    /// `serial-above-limit`.
    SerialAboveLimit,
    /// `serial-behind`.
    SerialBehind,
    /// `serial-gap`.
    SerialGap,
    /// `serial-too-large`.
    SerialTooLarge,
    /// `serial-unreadable`.
    SerialUnreadable,
    /// `sha1-signature`.
    Sha1Signature,
    /// `signed-max-stale`.
    SignedMaxStale,
    /// `stale-request`.
    StaleRequest,
    /// `stale-temp-file`.
    StaleTempFile,
    /// `symlink-loop`.
    SymlinkLoop,
    /// `timeout`.
    Timeout,
    /// `tls-handshake`.
    TlsHandshake,
    /// `torn-inventory-line`.
    TornInventoryLine,
    /// `unexpected-file`.
    UnexpectedFile,
    /// `unparseable`.
    Unparseable,
    /// `unparseable-certificate`.
    UnparseableCertificate,
    /// `unparseable-request`.
    UnparseableRequest,
    /// `unreachable`.
    Unreachable,
    /// `unreadable`.
    Unreadable,
    /// `unsafe-entry`.
    UnsafeEntry,
    /// `untrusted`.
    Untrusted,
    /// `weak-key`.
    WeakKey,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 58] = [
        Rule::CaExpired,
        Rule::CaExpiring,
        Rule::CaUnusable,
        Rule::CertExpired,
        Rule::CertExpiring,
        Rule::CrlExpired,
        Rule::CrlExpiring,
        Rule::CrlSignature,
        Rule::CrlStale,
        Rule::CrlUnissuedSerial,
        Rule::CrlUnparseable,
        Rule::DanglingSymlink,
        Rule::DuplicateSerial,
        Rule::Expired,
        Rule::Expiring,
        Rule::ExtraContent,
        Rule::ForeignCertificate,
        Rule::ForeignIssuer,
        Rule::InterruptedBatch,
        Rule::InvalidCertname,
        Rule::InventoryLine,
        Rule::InventoryNoNewline,
        Rule::JournalKeysUnchecked,
        Rule::JournalSetAside,
        Rule::JournalUnreadable,
        Rule::KeyMismatch,
        Rule::KeyOwner,
        Rule::KeyReadable,
        Rule::LooseMode,
        Rule::NameMismatch,
        Rule::NameMissing,
        Rule::NotInInventory,
        Rule::PuppetCannotSign,
        Rule::RecordedWithoutKey,
        Rule::RequestBesideSigned,
        Rule::Revoked,
        Rule::SerialAboveLimit,
        Rule::SerialBehind,
        Rule::SerialGap,
        Rule::SerialTooLarge,
        Rule::SerialUnreadable,
        Rule::Sha1Signature,
        Rule::SignedMaxStale,
        Rule::StaleRequest,
        Rule::StaleTempFile,
        Rule::SymlinkLoop,
        Rule::Timeout,
        Rule::TlsHandshake,
        Rule::TornInventoryLine,
        Rule::UnexpectedFile,
        Rule::Unparseable,
        Rule::UnparseableCertificate,
        Rule::UnparseableRequest,
        Rule::Unreachable,
        Rule::Unreadable,
        Rule::UnsafeEntry,
        Rule::Untrusted,
        Rule::WeakKey,
    ];

    /// The stable name (`serial-behind`, `name-missing`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::CaExpired => "ca-expired",
            Rule::CaExpiring => "ca-expiring",
            Rule::CaUnusable => "ca-unusable",
            Rule::CertExpired => "cert-expired",
            Rule::CertExpiring => "cert-expiring",
            Rule::CrlExpired => "crl-expired",
            Rule::CrlExpiring => "crl-expiring",
            Rule::CrlSignature => "crl-signature",
            Rule::CrlStale => "crl-stale",
            Rule::CrlUnissuedSerial => "crl-unissued-serial",
            Rule::CrlUnparseable => "crl-unparseable",
            Rule::DanglingSymlink => "dangling-symlink",
            Rule::DuplicateSerial => "duplicate-serial",
            Rule::Expired => "expired",
            Rule::Expiring => "expiring",
            Rule::ExtraContent => "extra-content",
            Rule::ForeignCertificate => "foreign-certificate",
            Rule::ForeignIssuer => "foreign-issuer",
            Rule::InterruptedBatch => "interrupted-batch",
            Rule::InvalidCertname => "invalid-certname",
            Rule::InventoryLine => "inventory-line",
            Rule::InventoryNoNewline => "inventory-no-newline",
            Rule::JournalKeysUnchecked => "journal-keys-unchecked",
            Rule::JournalSetAside => "journal-set-aside",
            Rule::JournalUnreadable => "journal-unreadable",
            Rule::KeyMismatch => "key-mismatch",
            Rule::KeyOwner => "key-owner",
            Rule::KeyReadable => "key-readable",
            Rule::LooseMode => "loose-mode",
            Rule::NameMismatch => "name-mismatch",
            Rule::NameMissing => "name-missing",
            Rule::NotInInventory => "not-in-inventory",
            Rule::PuppetCannotSign => "puppet-cannot-sign",
            Rule::RecordedWithoutKey => "recorded-without-key",
            Rule::RequestBesideSigned => "request-beside-signed",
            Rule::Revoked => "revoked",
            Rule::SerialAboveLimit => "serial-above-limit",
            Rule::SerialBehind => "serial-behind",
            Rule::SerialGap => "serial-gap",
            Rule::SerialTooLarge => "serial-too-large",
            Rule::SerialUnreadable => "serial-unreadable",
            Rule::Sha1Signature => "sha1-signature",
            Rule::SignedMaxStale => "signed-max-stale",
            Rule::StaleRequest => "stale-request",
            Rule::StaleTempFile => "stale-temp-file",
            Rule::SymlinkLoop => "symlink-loop",
            Rule::Timeout => "timeout",
            Rule::TlsHandshake => "tls-handshake",
            Rule::TornInventoryLine => "torn-inventory-line",
            Rule::UnexpectedFile => "unexpected-file",
            Rule::Unparseable => "unparseable",
            Rule::UnparseableCertificate => "unparseable-certificate",
            Rule::UnparseableRequest => "unparseable-request",
            Rule::Unreachable => "unreachable",
            Rule::Unreadable => "unreadable",
            Rule::UnsafeEntry => "unsafe-entry",
            Rule::Untrusted => "untrusted",
            Rule::WeakKey => "weak-key",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`: tables align rules with `{:<22}`.
        f.pad(self.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `audit`: the node the file belongs to (a Puppet ssldir, or the file's directory);
    /// absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// What it is about: a file, a certname, a serial.
    pub subject: String,
    /// The rule that found it.
    pub rule: Rule,
    /// How serious.
    pub severity: Severity,
    /// One line for people.
    pub message: String,
}

impl Finding {
    /// A finding.
    pub fn new(
        subject: impl Into<String>,
        rule: Rule,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            node: None,
            subject: subject.into(),
            rule,
            severity,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    #[test]
    fn rule_names_are_distinct_kebab_case() {
        let names: std::collections::BTreeSet<&str> =
            Rule::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Rule::ALL.len());
        for n in names {
            assert!(
                !n.is_empty()
                    && n.split('-').all(|p| !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{n}"
            );
        }
    }
}
