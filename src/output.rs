//! Writing results: text escaped for terminals, JSON for scripts, and broken pipes turned
//! into a quiet exit.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::Serialize;

use crate::{Failure, Kind};

/// Escapes control characters (ANSI escapes, newlines, NUL...) in text that came from a
/// certificate or a file name before it reaches a terminal; printable text is unchanged.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().flat_map(char::escape_default).collect())
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

/// Writes `value` as pretty JSON and a newline to stdout.
pub fn json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(())
}
