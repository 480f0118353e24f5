//! Writing results: text escaped for terminals, JSON for scripts, and broken pipes turned
//! into a quiet exit.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

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
    out: &mut dyn Write,
    indent: &str,
    findings: &[clusterca_pki::Finding],
) -> io::Result<()> {
    for f in findings {
        writeln!(
            out,
            "{indent}{}  {:<22}  {}: {}",
            paint(&format!("{:<7}", f.severity), &f.severity.to_string()),
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

/// What a command reports: one value, which is its JSON (docs/json.md), with one text
/// rendering for people. [`emit`] is the one place a report reaches stdout.
pub trait Report: Serialize {
    /// The text form.
    fn text(&self, out: &mut dyn Write) -> io::Result<()>;
}

/// Writes `report` in `format`: pretty JSON, or its text (buffered).
pub fn emit(format: crate::cli::Format, report: &impl Report) -> Result<(), Failure> {
    if format == crate::cli::Format::Json {
        return json(report);
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    report.text(&mut out)?;
    out.flush()?;
    Ok(())
}

/// Writes `value` as pretty JSON and a newline to stdout, bidirectional controls escaped.
pub fn json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::from)?;
    let mut out = io::stdout().lock();
    writeln!(out, "{}", clusterca_pki::json_escape_bidi(text))?;
    Ok(())
}

/// The version of the JSON forms docs/json.md describes; it changes when a field is renamed
/// or removed or a value's form changes.
pub const JSON_VERSION: u32 = 2;

/// What a failed command writes to stderr in JSON mode, one line.
#[derive(Serialize)]
pub struct ErrorReport<'a> {
    pub version: u32,
    pub error: ErrorBody<'a>,
}

/// The error itself: `input` (exit 2), `busy` (3) or `system` (4), and the message text
/// mode prints after `clusterca: error:`.
#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub kind: &'static str,
    pub exit_code: u8,
    pub message: &'a str,
}

/// A progress bar on stderr (indicatif), drawn only when stderr is a terminal, redrawn at
/// most ten times a second, and gone when the work is done.
pub struct Progress {
    bar: indicatif::ProgressBar,
}

/// Whether progress bars are drawn: stderr is a terminal.
fn progress_on() -> bool {
    io::stderr().is_terminal()
}

fn new_bar(len: u64) -> indicatif::ProgressBar {
    if !progress_on() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr_with_hz(10),
    );
    // The template is a constant: it parses.
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>20} [{wide_bar}] {pos}/{len} {prefix} {eta}")
    {
        bar.set_style(style.progress_chars("#>-"));
    }
    bar
}

impl Progress {
    /// A bar for `label` (what is being done) counting `unit`s.
    pub fn new(label: &'static str, unit: &'static str) -> Self {
        let bar = new_bar(0);
        bar.set_message(label);
        bar.set_prefix(unit);
        Progress { bar }
    }

    /// `done` of `total` now.
    pub fn update(&self, done: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The store's bar of the stage under way, if one is drawn.
static STORE_BAR: Mutex<Option<(&'static str, indicatif::ProgressBar)>> = Mutex::new(None);

/// Shows the store's long batches (keys, signing, writing, checking) as a bar on stderr, a
/// stage at a time, each cleared when it completes (so that nothing the command prints after
/// it is overdrawn), when stderr is a terminal.
pub fn show_store_progress() {
    if !progress_on() {
        return;
    }
    clusterca_store::progress::install(Box::new(|stage, done, total| {
        // Small batches are over before a bar would help.
        if total < 64 {
            return;
        }
        let mut cur = STORE_BAR.lock().unwrap_or_else(|e| e.into_inner());
        if cur.as_ref().is_none_or(|(s, _)| *s != stage) {
            if let Some((_, old)) = cur.take() {
                old.finish_and_clear();
            }
            let bar = new_bar(total as u64);
            bar.set_message(stage);
            *cur = Some((stage, bar));
        }
        // One call per item, from any thread, in any order (under this lock): counted, so
        // the bar never steps back, and cleared when the count is whole.
        let whole = match cur.as_ref() {
            Some((_, bar)) if done > 0 => {
                bar.inc(1);
                bar.position() >= total as u64
            }
            _ => false,
        };
        if whole {
            if let Some((_, bar)) = cur.take() {
                bar.finish_and_clear();
            }
        }
    }));
}

/// Removes the store's bar, if one is still drawn (a batch that failed half way).
pub fn clear_store_progress() {
    if let Some((_, bar)) = STORE_BAR.lock().unwrap_or_else(|e| e.into_inner()).take() {
        bar.finish_and_clear();
    }
}

/// Whether text on stdout is colored: stdout is a terminal and `NO_COLOR` is unset or empty
/// (no-color.org).
pub fn color() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    })
}

/// `text` in the color of a severity or a state's name (when [`color`] is on): errors and
/// revoked red, warnings and expired yellow, signed and OK green, info and requested cyan.
/// Pad before painting: the escapes have no width.
pub fn paint(text: &str, key: &str) -> String {
    if !color() {
        return text.to_owned();
    }
    let code = match key {
        "error" | "revoked" | "FAILED" => "1;31",
        "warning" | "expired" => "33",
        "signed" | "OK" | "clean" => "32",
        "info" | "requested" => "36",
        _ => return text.to_owned(),
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--quiet`: per-item lines are left out; summaries and errors stay.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// Whether per-item lines are printed.
pub fn items() -> bool {
    !QUIET.load(std::sync::atomic::Ordering::Relaxed)
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
