//! Certnames and subjectAltNames, validated once at the edge.
//!
//! A [`CertName`] is the only value from which a path under `signed/` or `requests/` is ever
//! built, so its rules are strict: Puppet's (lowercase; `puppet/lib/puppet/ssl/base.rb`
//! `VALID_CERTNAME` and the server's "Certificate names must be lower case") narrowed to the
//! characters a DNS name or file name can safely hold, `[a-z0-9._-]`, with no leading or
//! trailing dot and no `..`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::Error;

/// A validated certname: lowercase `[a-z0-9._-]`, 1 to 255 bytes, no leading or trailing
/// dot, no `..`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CertName(String);

impl CertName {
    /// The certname as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CertName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::InvalidCertName {
            name: s.to_owned(),
            reason: reason.to_owned(),
        };
        if s.is_empty() {
            return Err(bad("a certname cannot be empty"));
        }
        // The longest file name built from a certname is a certificate's temporary file,
        // `.NAME.pem.tmp.PID.N` (41 bytes besides NAME at most): 200 keeps it under 255.
        if s.len() > MAX_CERTNAME {
            return Err(bad("a certname is at most 200 bytes"));
        }
        if s.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(bad("certificate names must be lower case"));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-'))
        {
            return Err(bad(&format!(
                "character {c:?} is not allowed (only a-z, 0-9, '.', '_' and '-')"
            )));
        }
        if s.starts_with('.') || s.ends_with('.') {
            return Err(bad("a certname cannot start or end with '.'"));
        }
        if s.contains("..") {
            return Err(bad("a certname cannot contain '..'"));
        }
        Ok(CertName(s.to_owned()))
    }
}

/// The longest certname, in bytes.
pub const MAX_CERTNAME: usize = 200;

impl CertName {
    /// Refuses a certname that is not a valid DNS name (labels of 1 to 63 letters, digits and
    /// inner hyphens: no `_`, no leading or trailing `-`). A certname may be more (Puppet
    /// allows `_`), but one that goes into a certificate becomes its `DNS:` alt name, where
    /// clients reject the rest: checked before any serial is taken.
    pub fn check_dns(&self) -> Result<(), Error> {
        validate_dns(self.as_str())
            .map(|_| ())
            .map_err(|reason| Error::InvalidCertName {
                name: self.as_str().to_owned(),
                reason: format!("{reason}; a certname becomes the certificate's DNS alt name"),
            })
    }
}

impl fmt::Display for CertName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One subjectAltName: a DNS name (lowercased; `*.` wildcard only as the whole first label)
/// or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AltName {
    /// `DNS:name`.
    Dns(String),
    /// `IP:address`, IPv4 or IPv6.
    Ip(IpAddr),
}

impl AltName {
    /// True for a DNS name whose first label is `*`.
    pub fn is_wildcard(&self) -> bool {
        matches!(self, AltName::Dns(n) if n.starts_with("*."))
    }

    /// The DNS alt name of a certname (valid as one only when [`CertName::check_dns`] says so).
    pub fn from_certname(name: &CertName) -> Self {
        AltName::Dns(name.as_str().to_owned())
    }
}

impl FromStr for AltName {
    type Err = Error;

    /// `DNS:name`, `IP:addr` (prefixes case-insensitive), or a bare value: an IP address if it
    /// parses as one, otherwise a DNS name.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: String| Error::InvalidAltName {
            name: s.to_owned(),
            reason,
        };
        let (kind, value) = match s.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("dns") => ("dns", v),
            Some((k, v)) if k.eq_ignore_ascii_case("ip") => ("ip", v),
            // A bare IPv6 address has colons too.
            _ if s.parse::<IpAddr>().is_ok() => ("ip", s),
            Some((k, _)) if !k.contains('.') => {
                return Err(bad(format!(
                    "unknown type {} (use DNS:name or IP:address)",
                    crate::quote(k)
                )))
            }
            _ => ("dns", s),
        };
        if kind == "ip" {
            return value.parse::<IpAddr>().map(AltName::Ip).map_err(|_| {
                bad(format!(
                    "{} is not an IPv4 or IPv6 address",
                    crate::quote(value)
                ))
            });
        }
        validate_dns(value).map(AltName::Dns).map_err(bad)
    }
}

/// Checks a DNS name (RFC 1035 preferred syntax, with a leading `*` label allowed) and
/// returns it lowercased.
fn validate_dns(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("a DNS name cannot be empty".into());
    }
    if name.len() > 253 {
        return Err("a DNS name is at most 253 bytes".into());
    }
    let lower = name.to_ascii_lowercase();
    for (i, label) in lower.split('.').enumerate() {
        if label == "*" && i == 0 && lower.len() > 2 {
            continue;
        }
        if label.is_empty() {
            return Err("empty label (leading, trailing or doubled '.')".into());
        }
        if label.len() > 63 {
            return Err(format!(
                "label {} is longer than 63 bytes",
                crate::quote(label)
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("character {c:?} is not allowed in a DNS name"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "label {} starts or ends with '-'",
                crate::quote(label)
            ));
        }
    }
    Ok(lower)
}

impl fmt::Display for AltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AltName::Dns(n) => write!(f, "DNS:{n}"),
            AltName::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

/// The subjectAltNames of one certificate: normalised (lowercase, de-duplicated, DNS names
/// sorted then IP addresses sorted, as Puppet's agent orders `dns_alt_names`) and always
/// containing `DNS:<certname>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AltNames(Vec<AltName>);

impl AltNames {
    /// The alt names of a certificate for `certname` with `extra` names besides it.
    pub fn new(certname: &CertName, extra: impl IntoIterator<Item = AltName>) -> Self {
        let mut names: Vec<AltName> = extra.into_iter().collect();
        names.push(AltName::from_certname(certname));
        names.sort();
        names.dedup();
        AltNames(names)
    }

    /// The names in order.
    pub fn iter(&self) -> std::slice::Iter<'_, AltName> {
        self.0.iter()
    }

    /// The first wildcard name, if any.
    pub fn wildcard(&self) -> Option<&AltName> {
        self.0.iter().find(|n| n.is_wildcard())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certname_rules() {
        for ok in ["puppet.example.net", "a", "node_1-x.example", "0.example"] {
            assert_eq!(ok.parse::<CertName>().unwrap().as_str(), ok);
        }
        let cases = [
            ("", "empty"),
            ("../etc", "'/'"),
            ("UPPER.example.net", "lower case"),
            ("a..b", "'..'"),
            (".hidden", "start or end"),
            ("trail.", "start or end"),
            ("a b", "' '"),
            ("a/b", "'/'"),
            ("caf\u{e9}", "'\u{e9}'"),
        ];
        for (input, want) in cases {
            let err = input.parse::<CertName>().unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
        }
        assert!("x".repeat(MAX_CERTNAME + 1).parse::<CertName>().is_err());
        assert!("x".repeat(MAX_CERTNAME).parse::<CertName>().is_ok());
        // Valid certnames (Puppet allows `_`) that are no DNS name cannot be issued.
        for (input, want) in [
            ("under_score", "'_'"),
            ("-lead.example.net", "starts or ends with '-'"),
            (&format!("{}.net", "a".repeat(64)), "longer than 63 bytes"),
        ] {
            let name: CertName = input.parse().unwrap();
            let err = name.check_dns().unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
        }
        "puppet.example.net"
            .parse::<CertName>()
            .unwrap()
            .check_dns()
            .unwrap();
    }

    #[test]
    fn alt_name_forms() {
        let p = |s: &str| s.parse::<AltName>();
        assert_eq!(p("DNS:Puppet").unwrap(), AltName::Dns("puppet".into()));
        assert_eq!(p("puppet").unwrap(), AltName::Dns("puppet".into()));
        assert_eq!(p("IP:10.0.0.1").unwrap().to_string(), "IP:10.0.0.1");
        assert_eq!(p("ip:::1").unwrap().to_string(), "IP:::1");
        assert_eq!(p("fe80::1").unwrap().to_string(), "IP:fe80::1");
        assert_eq!(p("192.0.2.7").unwrap().to_string(), "IP:192.0.2.7");
        assert!(p("*.example.net").unwrap().is_wildcard());
        for bad in [
            "IP:999.1.1.1",
            "DNS:a b",
            "DNS:",
            "DNS:a..b",
            "DNS:-a.b",
            "URI:x",
            "DNS:a.*.b",
            "*",
        ] {
            assert!(p(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn alt_names_always_hold_the_certname_sorted_and_deduplicated() {
        let name: CertName = "proxy01.example.net".parse().unwrap();
        let extra = [
            "IP:10.0.0.2",
            "smartproxy.example.net",
            "DNS:PROXY01.example.net",
        ]
        .map(|s| s.parse::<AltName>().unwrap());
        let names = AltNames::new(&name, extra);
        let shown: Vec<String> = names.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "DNS:proxy01.example.net",
                "DNS:smartproxy.example.net",
                "IP:10.0.0.2"
            ]
        );
    }
}
