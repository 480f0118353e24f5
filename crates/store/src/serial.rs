//! The `serial` file and the serial rule.
//!
//! `serial` holds the next serial number in hex. Puppet Server writes `%04X` with no newline
//! (`000A`); its Ruby CLI writes `002\n` (setup, import) or lowercase unpadded hex with a newline
//! (`generate --ca-client`). All are read; Puppet Server's form is written.
//!
//! The file alone is not trusted: it can lag behind what was issued (restored from a backup,
//! written by Puppet's CLI beside a live signer, edited by hand). The serial rule, applied
//! under the store lock by every command that signs, hands out the greatest of
//! - the `serial` file,
//! - one past every serial recorded in `inventory.txt`, in `signed/` and on the CRL,
//! - 2 (a new CA's own certificate is serial 1),
//!
//! and never goes past [`PUPPET_LIMIT`]: Puppet Server parses serials as a signed 32-bit
//! integer. Recorded serials above that limit (random serials of an imported OpenSSL CA, a
//! hostile inventory line) cannot collide with a serial the rule hands out and are left out
//! of the maximum, so they can neither wrap the counter nor exhaust it.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{quote, Error};

/// The highest serial Puppet Server can read (a signed 32-bit integer): the rule never writes a
/// `serial` file above it, so the last serial it hands out is one below.
pub const PUPPET_LIMIT: u64 = 0x7FFF_FFFF;

/// The first serial a CA hands out to a certificate other than its own.
pub const FIRST_LEAF: u64 = 2;

/// A `serial` file longer than this is corrupt: 16 hex digits, a `0x`, a newline and spaces.
pub const MAX_FILE_LEN: u64 = 64;

/// Parses the content of a `serial` file.
pub fn parse(text: &str, path: &Path) -> Result<u64, Error> {
    let t = text.trim();
    let bad = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        line: None,
        reason,
    };
    if t.is_empty() {
        return Err(bad("empty serial file".into()));
    }
    let digits = t.strip_prefix("0x").unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!(
            "{} is not a hexadecimal serial number",
            quote(t)
        )));
    }
    u64::from_str_radix(digits, 16).map_err(|_| {
        bad(format!(
            "{} does not fit 64 bits (a serial is at most 0x{PUPPET_LIMIT:X})",
            quote(t)
        ))
    })
}

/// Formats a serial as Puppet Server writes it: uppercase hex, at least 4 digits, no newline.
pub fn format(serial: u64) -> String {
    format!("{serial:04X}")
}

/// Every serial the CA directory records as used, by where it is recorded.
#[derive(Debug, Default, Clone)]
pub struct Recorded {
    /// Serials of `inventory.txt` lines (including the CA's own).
    pub inventory: BTreeSet<u64>,
    /// Serials of the certificates in `signed/`.
    pub signed: BTreeSet<u64>,
    /// Serials on the CA's own CRL.
    pub crl: BTreeSet<u64>,
    /// Serials of the CA certificates in `ca_crt.pem` issued under the CA's own name (the CA
    /// certificate and every renewal of it): no leaf may get one.
    pub ca: BTreeSet<u64>,
}

impl Recorded {
    /// The highest recorded serial the rule counts (at most [`PUPPET_LIMIT`]); 1, the CA's own,
    /// when nothing is recorded.
    pub fn highest(&self) -> u64 {
        [&self.inventory, &self.signed, &self.crl, &self.ca]
            .into_iter()
            .filter_map(|set| set.range(..=PUPPET_LIMIT).next_back())
            .copied()
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// Whether `serial` was issued: on an inventory line, in `signed/` or in `ca_crt.pem`.
    pub fn issued(&self, serial: u64) -> bool {
        self.inventory.contains(&serial)
            || self.signed.contains(&serial)
            || self.ca.contains(&serial)
    }
}

/// The serial rule: the next serial to hand out, given the `serial` file and the highest
/// recorded serial the rule counts ([`Recorded::highest`], at most [`PUPPET_LIMIT`]). Never
/// below [`FIRST_LEAF`]; may be above [`PUPPET_LIMIT`], which [`reserve`] refuses.
pub fn next(file: u64, highest_recorded: u64) -> u64 {
    file.max(highest_recorded.saturating_add(1)).max(FIRST_LEAF)
}

/// Reserves `count` serials starting at `next`: returns the first one and the value the
/// `serial` file must hold afterwards, or an error naming Puppet's limit. Nothing wraps.
pub fn reserve(next: u64, count: u64, path: &Path) -> Result<(u64, u64), Error> {
    match next.checked_add(count) {
        Some(after) if after <= PUPPET_LIMIT => Ok((next, after)),
        _ => Err(Error::SerialExhausted {
            path: path.to_path_buf(),
            next,
            count,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(inventory: &[u64], signed: &[u64], crl: &[u64]) -> Recorded {
        Recorded {
            inventory: inventory.iter().copied().collect(),
            signed: signed.iter().copied().collect(),
            crl: crl.iter().copied().collect(),
            ca: Default::default(),
        }
    }

    #[test]
    fn reads_every_puppet_variant_and_writes_the_servers() {
        let p = Path::new("serial");
        assert_eq!(parse("000A", p).unwrap(), 10);
        assert_eq!(parse("002\n", p).unwrap(), 2);
        assert_eq!(parse("3\n", p).unwrap(), 3);
        assert_eq!(parse("1f\n", p).unwrap(), 31);
        assert_eq!(parse("0x1F", p).unwrap(), 31);
        assert_eq!(format(2), "0002");
        assert_eq!(format(0x1_0000), "10000");
        for bad in ["", "\n", "xyz", "-1", "0x", "+5", "1 2"] {
            assert!(parse(bad, p).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn hostile_serial_files_are_refused_with_a_short_message() {
        let p = Path::new("serial");
        let digits = "9".repeat(2 << 20);
        let err = parse(&digits, p).unwrap_err().to_string();
        assert!(err.contains("does not fit 64 bits"), "{err}");
        assert!(
            err.len() < 200,
            "message quotes the whole file: {} bytes",
            err.len()
        );
        let garbage = "\u{202e}zz".repeat(1000);
        let err = parse(&garbage, p).unwrap_err().to_string();
        assert!(err.len() < 200 && !err.contains('\u{202e}'), "{err:?}");
        assert_eq!(parse("FFFFFFFFFFFFFFFF", p).unwrap(), u64::MAX);
    }

    #[test]
    fn the_rule_takes_the_greatest_of_file_and_records_and_never_goes_below_two() {
        let none = Recorded::default();
        assert_eq!(next(0, none.highest()), 2, "a serial file holding 0");
        assert_eq!(next(1, recorded(&[1], &[], &[]).highest()), 2);
        assert_eq!(next(0x10, recorded(&[1, 2, 3], &[], &[]).highest()), 0x10);
        // A file behind what was issued is overruled by every kind of record.
        assert_eq!(next(3, recorded(&[1, 7], &[], &[]).highest()), 8);
        assert_eq!(next(3, recorded(&[1], &[9], &[]).highest()), 10);
        assert_eq!(next(3, recorded(&[1], &[], &[0x20]).highest()), 0x21);
    }

    #[test]
    fn serials_above_puppets_limit_neither_wrap_nor_exhaust_the_counter() {
        let hostile = recorded(&[1, 5, u64::MAX], &[PUPPET_LIMIT + 1], &[1 << 40]);
        assert_eq!(hostile.highest(), 5);
        assert_eq!(next(2, hostile.highest()), 6);
        assert!(hostile.issued(u64::MAX) && !hostile.issued(6));
    }

    #[test]
    fn reserving_past_the_limit_is_an_error_naming_it() {
        let p = Path::new("serial");
        assert_eq!(reserve(2, 3, p).unwrap(), (2, 5));
        // The file must stay readable by Puppet Server too, so the last serial is one below.
        assert_eq!(
            reserve(PUPPET_LIMIT - 1, 1, p).unwrap(),
            (PUPPET_LIMIT - 1, PUPPET_LIMIT)
        );
        for (next, count) in [(PUPPET_LIMIT - 1, 2), (PUPPET_LIMIT, 1), (u64::MAX, 1)] {
            let err = reserve(next, count, p).unwrap_err().to_string();
            assert!(err.contains("7FFFFFFF"), "{err}");
        }
    }
}
