//! The two values every command prints and every JSON document carries in one form:
//! [`Serial`] (text `0x0002`; JSON `{"hex": "0x0002", "decimal": "2"}`) and [`Timestamp`]
//! (RFC 3339 UTC, `2031-11-28T22:51:55Z`, in text and JSON alike). docs/json.md documents
//! both; Puppet's `...UTC` form stays inside `inventory.txt` and the Puppet CA API.

use std::fmt;

use serde::ser::SerializeStruct;
use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::num_bigint::BigUint;

/// A certificate's serial number (RFC 5280 allows up to 20 octets, so not a `u64`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial {
    /// The value; ordered by size because `BigUint` orders numerically.
    value: BigUint,
}

impl Serial {
    /// The serial `n`.
    pub fn new(n: u64) -> Self {
        Serial {
            value: BigUint::from(n),
        }
    }

    /// The serial whose big-endian unsigned bytes are `bytes` (an INTEGER's content, leading
    /// zero octet or not).
    pub fn from_be_bytes(bytes: &[u8]) -> Self {
        Serial {
            value: BigUint::from_bytes_be(bytes),
        }
    }

    /// Parses hex digits, with or without `0x`; `None` when anything else is in it.
    pub fn from_hex(text: &str) -> Option<Self> {
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        if digits.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        BigUint::parse_bytes(digits.as_bytes(), 16).map(|value| Serial { value })
    }

    /// The value when it fits 64 bits.
    pub fn to_u64(&self) -> Option<u64> {
        u64::try_from(&self.value).ok()
    }

    /// Text form: `0x` and uppercase hex, at least four digits (as `inventory.txt` writes it).
    pub fn hex(&self) -> String {
        if let Some(n) = self.to_u64() {
            return format!("0x{n:04X}");
        }
        format!("0x{:0>4}", self.value.to_str_radix(16).to_uppercase())
    }

    /// Decimal digits.
    pub fn decimal(&self) -> String {
        self.value.to_string()
    }
}

impl From<u64> for Serial {
    fn from(n: u64) -> Self {
        Serial::new(n)
    }
}

impl From<&BigUint> for Serial {
    fn from(value: &BigUint) -> Self {
        Serial {
            value: value.clone(),
        }
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`: tables align serials with `{:>8}`.
        f.pad(&self.hex())
    }
}

impl Serialize for Serial {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Serial", 2)?;
        st.serialize_field("hex", &self.hex())?;
        st.serialize_field("decimal", &self.decimal())?;
        st.end()
    }
}

/// A moment, shown as RFC 3339 in UTC with whole seconds: `2031-11-28T22:51:55Z`, which
/// jq's `fromdateiso8601`, Python's `datetime.fromisoformat` and `date -d` all read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub OffsetDateTime);

impl Timestamp {
    /// The time as text.
    pub fn text(self) -> String {
        rfc3339(self.0)
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Timestamp(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&rfc3339(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}

/// `t` in UTC as `YYYY-MM-DDTHH:MM:SSZ` (sub-seconds dropped; years outside 0-9999, which
/// no certificate can hold, as the `time` crate's RFC 3339 writer would refuse them, with
/// their sign and digits).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let u = t.to_offset(time::UtcOffset::UTC);
    let year = u.year();
    // Written by hand: `list --all` writes 100,000 of these.
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{year:+}")
    };
    format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        u8::from(u.month()),
        u.day(),
        u.hour(),
        u.minute(),
        u.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    #[test]
    fn serials_read_as_inventory_txt_writes_them() {
        assert_eq!(Serial::new(2).to_string(), "0x0002");
        assert_eq!(Serial::new(0x1F).hex(), "0x001F");
        assert_eq!(Serial::new(0x12345).hex(), "0x12345");
        assert_eq!(format!("{:>8}", Serial::new(2)), "  0x0002");
        let big = Serial::from_be_bytes(&[0x00, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(big.hex(), "0xFF0000000000000001");
        assert_eq!(big.decimal(), "4703919738795935662081");
        assert_eq!(big.to_u64(), None);
        assert_eq!(Serial::from_hex("0x001f"), Some(Serial::new(31)));
        assert_eq!(Serial::from_hex("1F").and_then(|s| s.to_u64()), Some(31));
        for bad in ["", "0x", "0xG1", "-1", " 1", "0x 1"] {
            assert_eq!(Serial::from_hex(bad), None, "{bad:?}");
        }
        let json = serde_json::to_string(&Serial::new(258)).unwrap();
        assert_eq!(json, r#"{"hex":"0x0102","decimal":"258"}"#);
    }

    #[test]
    fn times_are_rfc3339_utc_as_the_time_crate_writes_them() {
        for secs in [
            -1_000_000_000i64,
            0,
            951_782_400,
            1_700_000_000,
            4_102_444_799,
            253_402_300_799,
        ] {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            assert_eq!(rfc3339(t), t.format(&Rfc3339).unwrap(), "{secs}");
            let back = OffsetDateTime::parse(&rfc3339(t), &Rfc3339).unwrap();
            assert_eq!(back, t);
        }
        // Another offset and sub-seconds: still UTC, whole seconds.
        let t = time::macros::datetime!(2026-11-30 23:30:00.75 -02:00);
        assert_eq!(Timestamp(t).to_string(), "2026-12-01T01:30:00Z");
        assert_eq!(
            serde_json::to_string(&Timestamp(t)).unwrap(),
            "\"2026-12-01T01:30:00Z\""
        );
    }
}
