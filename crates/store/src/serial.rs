//! The `serial` file: the next serial number in hex.
//!
//! Puppet Server writes `%04X` with no newline (`000A`); its Ruby CLI writes `002\n` (setup,
//! import) or lowercase unpadded hex with a newline (`generate --ca-client`). All are read;
//! Puppet Server's form is written.

use std::path::Path;

use crate::error::Error;

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
    u64::from_str_radix(digits, 16)
        .map_err(|_| bad(format!("{t:?} is not a hexadecimal serial number")))
}

/// Formats a serial as Puppet Server writes it: uppercase hex, at least 4 digits, no newline.
pub fn format(serial: u64) -> String {
    format!("{serial:04X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_puppet_variant_and_writes_the_servers() {
        let p = Path::new("serial");
        assert_eq!(parse("000A", p).unwrap(), 10);
        assert_eq!(parse("002\n", p).unwrap(), 2);
        assert_eq!(parse("3\n", p).unwrap(), 3);
        assert_eq!(parse("1f\n", p).unwrap(), 31);
        assert_eq!(format(2), "0002");
        assert_eq!(format(0x1_0000), "10000");
        for bad in ["", "\n", "xyz", "-1", "0x"] {
            assert!(parse(bad, p).is_err(), "{bad:?} accepted");
        }
    }
}
