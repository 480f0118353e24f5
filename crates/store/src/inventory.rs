//! `inventory.txt`: one line per issued certificate, append-only.
//!
//! `0x0002 2026-11-20T11:59:11UTC 2031-11-20T11:59:11UTC /CN=puppet.example.net`
//! (serial as `0x` + at least four hex digits, notBefore, notAfter, subject DN). Puppet Server
//! writes uppercase hex, the Ruby CLI lowercase, and old CAs `+00:00` timestamps: all read.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::fsutil::Dir;

use time::format_description::well_known::Rfc3339;

use crate::error::quote;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// One inventory line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryLine {
    /// Serial number.
    pub serial: u64,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// Subject DN, one-line form (`/CN=x`).
    pub subject: String,
}

const PUPPET_TIME: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// Formats a time as Puppet's inventory does: `2026-11-20T11:59:11UTC`.
pub fn format_time(t: OffsetDateTime) -> String {
    let u = t.to_offset(time::UtcOffset::UTC);
    if !(0..=9999).contains(&u.year()) {
        return format!("{}UTC", u.format(PUPPET_TIME).unwrap_or_default());
    }
    // What PUPPET_TIME writes, without its interpreter: `list --all` writes 100,000 of these.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}UTC",
        u.year(),
        u8::from(u.month()),
        u.day(),
        u.hour(),
        u.minute(),
        u.second()
    )
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    if let Some(base) = s.strip_suffix("UTC") {
        return PrimitiveDateTime::parse(base, PUPPET_TIME)
            .ok()
            .map(PrimitiveDateTime::assume_utc);
    }
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

impl InventoryLine {
    /// The line as Puppet Server writes it, with its newline.
    pub fn to_line(&self) -> String {
        format!(
            "0x{:04X} {} {} {}\n",
            self.serial,
            format_time(self.not_before),
            format_time(self.not_after),
            self.subject
        )
    }

    /// Parses one line (without its newline). The error says what is wrong.
    pub fn parse(line: &str) -> Result<Self, String> {
        if line.len() > MAX_LINE {
            return Err(format!(
                "line of {} bytes is longer than the {MAX_LINE}-byte limit: {}",
                line.len(),
                quote(line)
            ));
        }
        let mut parts = line.splitn(4, ' ');
        let mut next = |what: &str| {
            parts
                .next()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| format!("missing {what}"))
        };
        let serial_text = next("serial")?;
        let digits = serial_text
            .strip_prefix("0x")
            .ok_or_else(|| format!("serial {} does not start with 0x", quote(serial_text)))?;
        let serial = u64::from_str_radix(digits, 16).map_err(|_| {
            format!(
                "serial {} is not a 64-bit hexadecimal number",
                quote(serial_text)
            )
        })?;
        let nb = next("notBefore")?;
        let not_before = parse_time(nb).ok_or_else(|| format!("bad notBefore {}", quote(nb)))?;
        let na = next("notAfter")?;
        let not_after = parse_time(na).ok_or_else(|| format!("bad notAfter {}", quote(na)))?;
        let subject = next("subject")?;
        if !subject.starts_with('/') {
            return Err(format!(
                "subject {} does not start with '/'",
                quote(subject)
            ));
        }
        Ok(InventoryLine {
            serial,
            not_before,
            not_after,
            subject: subject.to_owned(),
        })
    }
}

/// The longest line the store reads back when looking at a torn tail.
const MAX_TAIL: u64 = 64 * 1024;

/// The longest inventory line read as a record (Puppet's are under 200 bytes; a subject is at
/// most a few hundred).
pub const MAX_LINE: usize = 8 * 1024;

/// Why an append failed, and whether the file was left changed.
#[derive(Debug)]
pub struct AppendFailure {
    /// What failed.
    pub error: crate::Error,
    /// True when bytes of the new lines may be in the file (a failed fsync after a whole
    /// write, or a partial write that could not be cut off again): the lines may be on record.
    pub maybe_recorded: bool,
}

fn io_fail(op: &'static str, path: &Path, source: std::io::Error, maybe: bool) -> AppendFailure {
    AppendFailure {
        error: crate::Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        },
        maybe_recorded: maybe,
    }
}

/// The offset just past the last newline of `file` (of length `len`), 0 when it has none:
/// read backwards in chunks, so a tail of any length is found whole.
fn last_line_start(file: &mut File, len: u64) -> std::io::Result<u64> {
    // The usual case, a whole file, from its last byte alone.
    let mut last = [0u8; 1];
    if len > 0 {
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last == [b'\n'] {
            return Ok(len);
        }
    }
    let mut end = len;
    let mut buf = vec![0u8; MAX_TAIL as usize];
    while end > 0 {
        let start = end.saturating_sub(MAX_TAIL);
        // end - start <= MAX_TAIL == buf.len(): never out of range, but no index to trust.
        let chunk = buf
            .get_mut(..(end - start) as usize)
            .ok_or_else(|| std::io::Error::other("inventory tail window"))?;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(p) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + p as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// How a file that does not end in a newline is made whole before lines are appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailFix {
    /// It ends in a newline (or is empty).
    Whole,
    /// Its last line parses and only lacks its newline (a hand edit): one is added.
    Newline,
    /// Its last line is the torn remains of a failed append, never a record: cut off at this
    /// offset.
    Truncate(u64),
}

/// What to do with the tail of `file`. With `trust_whole`, a last line that parses is only
/// missing its newline; without (an interrupted batch's journal is there, so the tail is its
/// append), any line without a newline is torn: a cut-off subject still parses.
fn tail_fix(file: &mut File, len: u64, trust_whole: bool) -> std::io::Result<TailFix> {
    let at = last_line_start(file, len)?;
    if at == len {
        return Ok(TailFix::Whole);
    }
    if trust_whole && len - at <= MAX_TAIL {
        let mut bytes = Vec::with_capacity((len - at) as usize);
        file.seek(SeekFrom::Start(at))?;
        file.take(len - at).read_to_end(&mut bytes)?;
        if std::str::from_utf8(&bytes).is_ok_and(|l| InventoryLine::parse(l).is_ok()) {
            return Ok(TailFix::Newline);
        }
    }
    Ok(TailFix::Truncate(at))
}

/// Makes the end of `inventory.txt` whole, durably (under the store lock): a torn last line is
/// cut off, a whole one (only with `trust_whole`) gets its newline. Returns what it did.
pub fn repair_tail(dir: &Dir, name: &str, trust_whole: bool) -> Result<TailFix, crate::Error> {
    use crate::error::IoContext;
    let path = &dir.join(name);
    let mut file = dir.open_append(name)?;
    let len = file.metadata().ctx("stat", path)?.len();
    let fix = tail_fix(&mut file, len, trust_whole).ctx("read", path)?;
    match fix {
        TailFix::Truncate(at) => file.set_len(at).ctx("truncate", path)?,
        TailFix::Newline => file.write_all(b"\n").ctx("append to", path)?,
        TailFix::Whole => return Ok(fix),
    }
    file.sync_all().ctx("fsync", path)?;
    Ok(fix)
}

/// Appends whole `lines` (each ending in a newline) to `inventory.txt` with one `write`, then
/// fsyncs; called under the store lock. A torn last line left by an earlier failure is cut
/// off first, so it can never end up in the middle of the file. If the write fails, the file
/// is cut back to its old length, so a failed append leaves either nothing or (when even that
/// fails, or only the fsync failed) lines that [`AppendFailure::maybe_recorded`] says may count.
pub fn append(dir: &Dir, name: &str, lines: &[u8]) -> Result<(), AppendFailure> {
    let path = &dir.join(name);
    let mut file = dir.open_append(name).map_err(|error| AppendFailure {
        error,
        maybe_recorded: false,
    })?;
    let mut len = file
        .metadata()
        .map_err(|e| io_fail("stat", path, e, false))?
        .len();
    let mut buf = Vec::with_capacity(lines.len() + 1);
    match tail_fix(&mut file, len, true).map_err(|e| io_fail("read", path, e, false))? {
        TailFix::Whole => {}
        TailFix::Newline => buf.push(b'\n'),
        TailFix::Truncate(at) => {
            file.set_len(at)
                .map_err(|e| io_fail("truncate the torn last line of", path, e, false))?;
            len = at;
        }
    }
    buf.extend_from_slice(lines);
    if let Err(e) = file.write_all(&buf) {
        // Whatever part of the lines reached the file is cut off again: not recorded.
        let restored = file.set_len(len).and_then(|()| file.sync_all()).is_ok();
        return Err(io_fail("append to", path, e, !restored));
    }
    file.sync_data()
        .map_err(|e| io_fail("fsync", path, e, true))
}

/// The whole, parseable lines of `inventory.txt` (a torn last line is not a record).
fn whole_lines(dir: &Dir, name: &str) -> Result<Vec<InventoryLine>, crate::Error> {
    let text = dir.read_store_file(name)?;
    let text = String::from_utf8_lossy(&text);
    let whole = text.rsplit_once('\n').map_or("", |(head, _)| head);
    Ok(whole
        .lines()
        .filter_map(|l| InventoryLine::parse(l).ok())
        .collect())
}

/// The notAfter of each serial on a whole line of the inventory; a serial on several lines
/// (a corrupt or hostile inventory: `check` reports it) gets the latest of them, so that no
/// line can make a certificate look expired sooner than it is.
pub fn not_after_by_serial(
    dir: &Dir,
    name: &str,
) -> Result<std::collections::HashMap<u64, time::OffsetDateTime>, crate::Error> {
    let mut out = std::collections::HashMap::new();
    for l in whole_lines(dir, name)? {
        let t = out.entry(l.serial).or_insert(l.not_after);
        *t = (*t).max(l.not_after);
    }
    Ok(out)
}

/// The serials of the whole inventory lines of `subject` (`/CN=NAME`) whose notAfter is
/// after `now`: the certificates of that name still valid, whichever `signed/` holds.
pub fn live_serials_of(
    dir: &Dir,
    name: &str,
    subject: &str,
    now: time::OffsetDateTime,
) -> Result<Vec<u64>, crate::Error> {
    Ok(lines_of(dir, name, subject)?
        .into_iter()
        .filter(|l| l.not_after > now)
        .map(|l| l.serial)
        .collect())
}

/// How many whole inventory lines each serial has.
pub fn serial_counts(
    dir: &Dir,
    name: &str,
) -> Result<std::collections::HashMap<u64, usize>, crate::Error> {
    let mut out = std::collections::HashMap::new();
    for l in whole_lines(dir, name)? {
        *out.entry(l.serial).or_insert(0) += 1;
    }
    Ok(out)
}

/// The whole inventory lines of `subject` (in OpenSSL's one-line form, `/CN=NAME`).
pub fn lines_of(dir: &Dir, name: &str, subject: &str) -> Result<Vec<InventoryLine>, crate::Error> {
    Ok(whole_lines(dir, name)?
        .into_iter()
        .filter(|l| l.subject == subject)
        .collect())
}

/// The serials of the whole, parseable lines of `inventory.txt` (a torn last line is not a
/// record); a missing file has none.
pub fn recorded_serials(
    dir: &Dir,
    name: &str,
) -> Result<std::collections::BTreeSet<u64>, crate::Error> {
    Ok(whole_lines(dir, name)?
        .into_iter()
        .map(|l| l.serial)
        .collect())
}

/// The serials of `inventory.txt` as the serial rule counts them: the first word of every
/// line read as hex, nothing else parsed (a torn or malformed line can only add a serial
/// below the true one, which the maximum ignores).
pub fn serials_for_rule(
    dir: &Dir,
    name: &str,
) -> Result<std::collections::BTreeSet<u64>, crate::Error> {
    let bytes = dir.read_store_file(name)?;
    Ok(bytes
        .split(|&b| b == b'\n')
        .filter_map(first_word_serial)
        .collect())
}

/// A line's serial as the serial rule reads it: the first word, `0x` and hex.
pub(crate) fn first_word_serial(line: &[u8]) -> Option<u64> {
    let word = line.split(|&b| b == b' ').next()?;
    let hex = word.strip_prefix(b"0x")?;
    u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_the_format_description_writes_them() {
        for secs in [
            0i64,
            1,
            951_782_400,
            1_796_065_317,
            4_102_444_799,
            253_402_300_799,
            -1,
        ] {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap()
                + time::Duration::nanoseconds(999_999_999);
            let by_description = format!("{}UTC", t.format(PUPPET_TIME).unwrap());
            assert_eq!(format_time(t), by_description);
            assert_eq!(parse_time(&format_time(t)).unwrap().unix_timestamp(), secs);
        }
    }

    #[test]
    fn round_trips_puppet_server_lines() {
        let line = "0x0002 2026-11-20T11:59:11UTC 2031-11-20T11:59:11UTC /CN=puppet.example.net";
        let parsed = InventoryLine::parse(line).unwrap();
        assert_eq!(parsed.serial, 2);
        assert_eq!(parsed.subject, "/CN=puppet.example.net");
        assert_eq!(parsed.to_line(), format!("{line}\n"));
    }

    #[test]
    fn reads_ruby_cli_and_old_variants() {
        let ruby = "0x000a 2026-11-20T12:01:52UTC 2041-11-20T12:01:52UTC /CN=Puppet CA: x y";
        let l = InventoryLine::parse(ruby).unwrap();
        assert_eq!((l.serial, l.subject.as_str()), (10, "/CN=Puppet CA: x y"));
        let old = "0x0003 2015-11-30T17:07:23+00:00 2020-11-29T17:07:23+00:00 /CN=old";
        assert_eq!(InventoryLine::parse(old).unwrap().serial, 3);
    }

    #[test]
    fn names_what_is_wrong() {
        for (line, want) in [
            ("", "missing serial"),
            ("0002 x y /CN=a", "0x"),
            ("0xZZ x y /CN=a", "hexadecimal"),
            ("0x0002 2026-11-20T11:59UTC y /CN=a", "notBefore"),
            ("0x0002 2026-11-20T11:59:11UTC", "missing notAfter"),
            (
                "0x0002 2026-11-20T11:59:11UTC 2031-11-20T11:59:11UTC CN=a",
                "'/'",
            ),
        ] {
            let err = InventoryLine::parse(line).unwrap_err();
            assert!(err.contains(want), "{line:?}: {err}");
        }
    }

    #[test]
    fn a_line_over_8_kib_is_refused_and_quoted_short() {
        let ok = format!(
            "0x0002 2026-11-20T11:59:11UTC 2031-11-20T11:59:11UTC /CN={}",
            "a".repeat(8000)
        );
        assert!(InventoryLine::parse(&ok).is_ok());
        let long = format!("{ok}{}", "b".repeat(10 << 20));
        let err = InventoryLine::parse(&long).unwrap_err();
        assert!(
            err.contains("8192-byte limit"),
            "{}",
            &err[..200.min(err.len())]
        );
        assert!(
            err.len() < 200,
            "the error quotes at most 80 bytes: {} bytes",
            err.len()
        );
    }

    fn d(path: &Path) -> Dir {
        Dir::open(path.parent().unwrap()).unwrap()
    }

    const NAME: &str = "inventory.txt";

    fn file_with(content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inventory.txt");
        std::fs::write(&path, content).unwrap();
        (dir, path)
    }

    const A: &str = "0x0001 2026-11-20T11:59:11UTC 2031-11-20T11:59:11UTC /CN=ca\n";
    const B: &str = "0x0002 2026-11-20T11:59:11UTC 2031-11-20T11:59:11UTC /CN=b\n";

    #[test]
    fn a_torn_tail_is_cut_before_appending() {
        let (_d, path) = file_with(&format!("{A}0x0002 2026-11-2"));
        append(&d(&path), NAME, B.as_bytes()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{A}{B}"));
    }

    #[test]
    fn a_whole_last_line_without_newline_is_kept() {
        let (_d, path) = file_with(A.trim_end());
        append(&d(&path), NAME, B.as_bytes()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{A}{B}"));
    }

    #[test]
    fn repair_tail_cuts_a_torn_line_and_ends_a_whole_one() {
        let (_d, path) = file_with(&format!("{A}0x00"));
        assert_eq!(
            repair_tail(&d(&path), NAME, true).unwrap(),
            TailFix::Truncate(A.len() as u64)
        );
        assert_eq!(repair_tail(&d(&path), NAME, true).unwrap(), TailFix::Whole);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), A);
        let (_d, path) = file_with(&format!("{A}{}", B.trim_end()));
        assert_eq!(
            repair_tail(&d(&path), NAME, true).unwrap(),
            TailFix::Newline
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{A}{B}"));
    }

    #[test]
    fn beside_a_journal_a_tail_that_parses_is_still_torn() {
        // A short write can stop inside the subject, and what is left still parses.
        let (_d, path) = file_with(&format!("{A}{}", &B[..B.len() - 3]));
        assert_eq!(
            repair_tail(&d(&path), NAME, false).unwrap(),
            TailFix::Truncate(A.len() as u64)
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), A);
    }

    #[test]
    fn a_torn_tail_longer_than_the_read_window_is_cut_whole() {
        let torn = format!("0x0009 2026-11-20T11:59:11UTC 20{}", "X".repeat(70_000));
        let (_d, path) = file_with(&format!("{A}{torn}"));
        append(&d(&path), NAME, B.as_bytes()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{A}{B}"));
        let (_d, path) = file_with(&"X".repeat(200_000));
        append(&d(&path), NAME, B.as_bytes()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), B);
    }

    #[test]
    fn only_whole_lines_are_records_and_the_rule_reads_only_serials() {
        let (_d, path) = file_with(&format!("{A}{B}0x0009 2026-11-2"));
        let whole: Vec<u64> = recorded_serials(&d(&path), NAME)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(whole, [1, 2]);
        let rule: Vec<u64> = serials_for_rule(&d(&path), NAME)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(rule, [1, 2, 9]);
        let (_d2, garbage) = file_with("0xFFFFFFFFFFFFFFFFFF x\n\u{202e}\n0x\n");
        assert!(serials_for_rule(&d(&garbage), NAME).unwrap().is_empty());
    }
}
