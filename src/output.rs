//! Writing results: text escaped for terminals, JSON for scripts, and broken pipes turned
//! into a quiet exit.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{Failure, Kind};

/// Escapes control characters (ANSI escapes, newlines, NUL...) and bidirectional overrides
/// (`U+202E`...) in text that came from a certificate or a file name before it reaches a
/// terminal; other text, non-ASCII letters included, is unchanged.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    let unsafe_char = clusterca_pki::is_unsafe_char;
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line for an error message: control characters escaped.
pub fn one_line(s: &str) -> String {
    sanitize(s).into_owned()
}

/// Findings as aligned lines (`severity  rule  subject: message`), each prefixed by `indent`.
pub fn findings(
    out: &mut impl Write,
    indent: &str,
    findings: &[clusterca_pki::Finding],
) -> io::Result<()> {
    for f in findings {
        writeln!(
            out,
            "{indent}{:<7}  {:<22}  {}: {}",
            f.severity,
            f.rule,
            sanitize(&f.subject),
            sanitize(&f.message)
        )?;
    }
    Ok(())
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Failure {
                kind: Kind::BrokenPipe,
                message: String::new(),
            }
        } else {
            Failure {
                kind: Kind::System,
                message: format!("cannot write output: {e}"),
            }
        }
    }
}

/// Writes `value` as pretty JSON and a newline to stdout, bidirectional controls escaped.
pub fn json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::from)?;
    let mut out = io::stdout().lock();
    writeln!(out, "{}", clusterca_pki::json_escape_bidi(text))?;
    Ok(())
}

/// A progress line on stderr, redrawn at most ten times a second, only on a terminal.
pub struct Progress {
    label: &'static str,
    unit: &'static str,
    on: bool,
    last: Mutex<Option<Instant>>,
}

impl Progress {
    pub fn new(label: &'static str, unit: &'static str) -> Self {
        Progress {
            label,
            unit,
            on: std::io::stderr().is_terminal(),
            last: Mutex::new(None),
        }
    }

    pub fn update(&self, done: usize, total: usize) {
        if !self.on {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if done != total && last.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
            return;
        }
        *last = Some(Instant::now());
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        let _ = write!(
            std::io::stderr(),
            "\r{} [{}{}] {done}/{total} {}",
            self.label,
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.unit
        );
    }

    pub fn finish(&self) {
        if self.on {
            let _ = write!(std::io::stderr(), "\r{:60}\r", "");
        }
    }
}

/// `n` with its noun, singular or plural: `1 certificate`, `2 certificates`, `0 nodes`.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod count_tests {
    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(super::count(1, "node", "nodes"), "1 node");
        assert_eq!(super::count(0, "node", "nodes"), "0 nodes");
        assert_eq!(super::count(2, "CRL", "CRLs"), "2 CRLs");
    }
}
