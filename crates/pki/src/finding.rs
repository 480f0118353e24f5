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

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it is about: a file, a certname, a serial.
    pub subject: String,
    /// The rule, a stable kebab-case identifier (`serial-behind`, `torn-inventory-line`).
    pub rule: &'static str,
    /// How serious.
    pub severity: Severity,
    /// One line for people.
    pub message: String,
}

impl Finding {
    /// A finding.
    pub fn new(
        subject: impl Into<String>,
        rule: &'static str,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            subject: subject.into(),
            rule,
            severity,
            message: message.into(),
        }
    }
}
