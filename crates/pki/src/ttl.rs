//! Lifetimes in Puppet's `ca_ttl` notation: a whole number with a unit `y` (365 days), `d`,
//! `h`, `m` or `s`; a bare number is seconds, as in Puppet's settings.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A certificate lifetime, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ttl(u64);

impl Ttl {
    /// A lifetime of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Ttl(secs)
    }

    /// The lifetime in seconds.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// Puppet Server's default certificate lifetime, `ca_ttl`: five years.
    pub const LEAF_DEFAULT: Ttl = Ttl(5 * 365 * 86_400);
    /// The default lifetime of a new CA: fifteen years, as `puppetserver ca setup`.
    pub const CA_DEFAULT: Ttl = Ttl(15 * 365 * 86_400);

    /// The lifetime as a `time::Duration`.
    pub fn duration(self) -> time::Duration {
        time::Duration::seconds(i64::try_from(self.0).unwrap_or(i64::MAX))
    }
}

impl FromStr for Ttl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidTtl { text: s.to_owned() };
        let t = s.trim();
        let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => t.split_at(i),
            // `5` could be seconds (Puppet's settings) or days (openssl -days): refused.
            None if !t.is_empty() => {
                return Err(Error::TtlWithoutUnit { text: s.to_owned() });
            }
            None => (t, ""),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let mult = match unit {
            "y" => 365 * 86_400,
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            "s" => 1,
            _ => return Err(bad()),
        };
        // Refuse zero and anything past the year 9999 from now: X.509 time ends there.
        let secs = n
            .checked_mul(mult)
            .filter(|&v| v > 0 && v < 7_900 * 365 * 86_400);
        secs.map(Ttl).ok_or_else(bad)
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        for (unit, m) in [("y", 365 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60)] {
            if s % m == 0 {
                return write!(f, "{}{unit}", s / m);
            }
        }
        write!(f, "{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_refuses_a_bare_number() {
        assert_eq!("5y".parse::<Ttl>().unwrap(), Ttl::LEAF_DEFAULT);
        assert_eq!("15y".parse::<Ttl>().unwrap(), Ttl::CA_DEFAULT);
        assert_eq!("90d".parse::<Ttl>().unwrap().as_secs(), 90 * 86_400);
        assert_eq!("3600s".parse::<Ttl>().unwrap().as_secs(), 3_600);
        assert_eq!(
            "5".parse::<Ttl>().unwrap_err().to_string(),
            "lifetime \"5\" has no unit: add y, d, h, m or s (5d is 5 days)"
        );
        assert_eq!("2h".parse::<Ttl>().unwrap().to_string(), "2h");
        assert_eq!("90m".parse::<Ttl>().unwrap().to_string(), "90m");
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "y",
            "5w",
            "-1d",
            "0d",
            "1.5y",
            "99999999999999999999y",
            "10000y",
        ] {
            assert!(bad.parse::<Ttl>().is_err(), "{bad:?} accepted");
        }
    }
}
