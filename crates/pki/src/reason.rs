//! CRL revocation reasons (RFC 5280, 5.3.1), by the names `openssl` and Puppet use.

use std::fmt;
use std::str::FromStr;

/// Why a certificate was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(into = "String")]
pub enum Reason {
    /// `unspecified` (0).
    Unspecified,
    /// `keyCompromise` (1): Puppet's reason for every revocation, and the default.
    KeyCompromise,
    /// `affiliationChanged` (3).
    AffiliationChanged,
    /// `superseded` (4): replaced by a renewed certificate.
    Superseded,
    /// `cessationOfOperation` (5).
    CessationOfOperation,
}

impl Reason {
    /// Every reason `revoke --reason` takes.
    pub const ALL: [Reason; 5] = [
        Reason::KeyCompromise,
        Reason::Superseded,
        Reason::CessationOfOperation,
        Reason::AffiliationChanged,
        Reason::Unspecified,
    ];

    /// The name, as `openssl crl -text` and `openssl ca -crl_reason` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
        }
    }

    /// The CRLReason code.
    pub fn code(self) -> u8 {
        match self {
            Reason::Unspecified => 0,
            Reason::KeyCompromise => 1,
            Reason::AffiliationChanged => 3,
            Reason::Superseded => 4,
            Reason::CessationOfOperation => 5,
        }
    }

    /// The reason of a code, when it is one clusterca writes.
    pub fn from_code(code: u8) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    pub(crate) fn to_rcgen(self) -> rcgen::RevocationReason {
        use rcgen::RevocationReason as R;
        match self {
            Reason::Unspecified => R::Unspecified,
            Reason::KeyCompromise => R::KeyCompromise,
            Reason::AffiliationChanged => R::AffiliationChanged,
            Reason::Superseded => R::Superseded,
            Reason::CessationOfOperation => R::CessationOfOperation,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Reason> for String {
    fn from(r: Reason) -> String {
        r.name().to_owned()
    }
}

impl FromStr for Reason {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reason::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| crate::Error::InvalidReason {
                value: s.to_owned(),
            })
    }
}

/// The name of any CRLReason code (RFC 5280), for reading CRLs others wrote.
pub fn reason_name(code: u8) -> String {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => return format!("reason {code}"),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for r in Reason::ALL {
            assert_eq!(r.name().parse::<Reason>().unwrap(), r);
            assert_eq!(Reason::from_code(r.code()), Some(r));
            assert_eq!(reason_name(r.code()), r.name());
        }
        assert_eq!("SUPERSEDED".parse::<Reason>().unwrap(), Reason::Superseded);
        let e = "removeFromCRL".parse::<Reason>().unwrap_err().to_string();
        assert!(
            e.contains("removeFromCRL") && e.contains("keyCompromise"),
            "{e}"
        );
    }
}
