//! `inventory.txt`: one line per issued certificate, append-only.
//!
//! `0x0002 2026-11-20T11:59:11UTC 2031-11-20T11:59:11UTC /CN=puppet.example.net`
//! (serial as `0x` + at least four hex digits, notBefore, notAfter, subject DN). Puppet Server
//! writes uppercase hex, the Ruby CLI lowercase, and old CAs `+00:00` timestamps: all read.

use time::format_description::well_known::Rfc3339;
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
    let utc = t.to_offset(time::UtcOffset::UTC);
    format!("{}UTC", utc.format(PUPPET_TIME).unwrap_or_default())
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
            .ok_or_else(|| format!("serial {serial_text:?} does not start with 0x"))?;
        let serial = u64::from_str_radix(digits, 16)
            .map_err(|_| format!("serial {serial_text:?} is not hexadecimal"))?;
        let nb = next("notBefore")?;
        let not_before = parse_time(nb).ok_or_else(|| format!("bad notBefore {nb:?}"))?;
        let na = next("notAfter")?;
        let not_after = parse_time(na).ok_or_else(|| format!("bad notAfter {na:?}"))?;
        let subject = next("subject")?;
        if !subject.starts_with('/') {
            return Err(format!("subject {subject:?} does not start with '/'"));
        }
        Ok(InventoryLine {
            serial,
            not_before,
            not_after,
            subject: subject.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
