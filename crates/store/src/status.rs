//! Certificate statuses in the shape of Puppet's `certificate_status` JSON, shared by `list`
//! and the CA HTTP API.

use clusterca_pki::inspect::{self, Object};
use clusterca_pki::CertName;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::Error;
use crate::{inventory, layout, Store};

/// Where a certname stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CertState {
    /// A CSR waits in `requests/`.
    Requested,
    /// A certificate is in `signed/`.
    Signed,
    /// The certificate in `signed/` is on the CA's CRL.
    Revoked,
    /// The certificate in `signed/` is past its notAfter (clusterca's views; Puppet's API
    /// says `signed`, see [`CertStatus::puppet_view`]).
    Expired,
}

impl CertState {
    /// The state's name, as JSON spells it.
    pub fn name(self) -> &'static str {
        match self {
            CertState::Requested => "requested",
            CertState::Signed => "signed",
            CertState::Revoked => "revoked",
            CertState::Expired => "expired",
        }
    }
}

/// Puppet's `fingerprints` object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fingerprints {
    /// SHA-1, colon hex.
    #[serde(rename = "SHA1")]
    pub sha1: String,
    /// SHA-256, colon hex.
    #[serde(rename = "SHA256")]
    pub sha256: String,
    /// SHA-512, colon hex.
    #[serde(rename = "SHA512")]
    pub sha512: String,
    /// The default: SHA-256.
    pub default: String,
}

/// One certname's status, field for field as Puppet Server's `certificate_status`.
#[derive(Debug, Clone, Serialize)]
pub struct CertStatus {
    /// The certname.
    pub name: String,
    /// `requested`, `signed` or `revoked`.
    pub state: CertState,
    /// DNS subjectAltNames, without prefix.
    pub dns_alt_names: Vec<String>,
    /// All subjectAltNames, IP addresses first (as Puppet orders them).
    pub subject_alt_names: Vec<String>,
    /// Puppet authorization extensions (not issued by clusterca yet: always empty).
    pub authorization_extensions: EmptyObject,
    /// SHA-256 fingerprint, colon hex.
    pub fingerprint: String,
    /// All fingerprints.
    pub fingerprints: Fingerprints,
    /// Serial number (certificates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<u64>,
    /// notBefore (certificates only), serialized in the inventory's time format as Puppet's
    /// API gives it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "puppet_time"
    )]
    pub not_before: Option<OffsetDateTime>,
    /// notAfter (certificates only), serialized as `not_before`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "puppet_time"
    )]
    pub not_after: Option<OffsetDateTime>,
    /// Seconds from now to notAfter, negative once expired (certificates only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_left: Option<i64>,
}

impl CertStatus {
    /// The status as Puppet Server reports it: an expired certificate is `signed`.
    pub fn puppet_view(mut self) -> Self {
        if self.state == CertState::Expired {
            self.state = CertState::Signed;
        }
        self.seconds_left = None;
        self
    }
}

/// Puppet's API form of a time (`2031-11-28T22:51:55UTC`, as in `inventory.txt`).
fn puppet_time<S: serde::Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&inventory::format_time(*t)),
        None => s.serialize_none(),
    }
}

/// An empty JSON object (`{}`), so this crate needs no JSON library.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

fn fingerprints(der: &[u8]) -> Fingerprints {
    let [sha1, sha256, sha512] = clusterca_pki::fingerprints(der);
    Fingerprints {
        sha1,
        default: sha256.clone(),
        sha256,
        sha512,
    }
}

fn ips_first(mut names: Vec<String>) -> Vec<String> {
    names.sort_by_key(|n| !n.starts_with("IP:"));
    names
}

/// Certnames named by `*.pem` files in the store's `sub` (`signed` or `requests`; invalid
/// names skipped).
pub(crate) fn names_in(store: &Store, sub: &str) -> Result<Vec<CertName>, Error> {
    let Some(dir) = store.sub_if_present(sub)? else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for file in dir.names()? {
        if let Some(name) = file
            .to_str()
            .and_then(|f| f.strip_suffix(".pem"))
            .and_then(|n| n.parse::<CertName>().ok())
        {
            names.push(name);
        }
    }
    Ok(names)
}

/// How much [`collect`] describes of each certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Everything, fingerprints included (JSON, the CA API).
    Full,
    /// No fingerprints (left empty) and no `not_before`: what a text listing shows.
    Brief,
}

pub(crate) fn collect(
    store: &Store,
    now: OffsetDateTime,
    detail: Detail,
) -> Result<Vec<CertStatus>, Error> {
    use rayon::prelude::*;
    let revoked = store.revoked_serials()?;
    let signed = store.sub_if_present(layout::SIGNED)?;
    let names = match &signed {
        Some(_) => names_in(store, layout::SIGNED)?,
        None => Vec::new(),
    };
    // Read, parsed and described in parallel: a CA of 100,000 is two cores' work.
    let mut out = names
        .par_iter()
        .filter_map(|name| signed.as_ref().map(|dir| (name, dir)))
        .map(|(name, dir)| {
            let file = layout::pem(name);
            let der = crate::read_cert_der(dir, &file)?;
            let brief = inspect::certificate_brief(&der).map_err(|source| Error::Pki {
                path: dir.join(&file),
                source,
            })?;
            let seconds_left = (brief.not_after - now).whole_seconds();
            let state = if revoked.contains(&brief.serial_decimal) {
                CertState::Revoked
            } else if seconds_left <= 0 {
                CertState::Expired
            } else {
                CertState::Signed
            };
            let (fingerprint, fingerprints) = match detail {
                Detail::Full => {
                    let f = fingerprints(&der);
                    (f.sha256.clone(), f)
                }
                Detail::Brief => (String::new(), Fingerprints::default()),
            };
            Ok(CertStatus {
                name: name.to_string(),
                state,
                dns_alt_names: brief.dns_alt_names,
                subject_alt_names: ips_first(brief.subject_alt_names),
                authorization_extensions: EmptyObject,
                fingerprint,
                fingerprints,
                serial_number: brief.serial_decimal.parse().ok(),
                // A text listing shows only the end.
                not_before: (detail == Detail::Full).then_some(brief.not_before),
                not_after: Some(brief.not_after),
                seconds_left: Some(seconds_left),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    for name in names_in(store, layout::REQUESTS)? {
        let path = store.request_shown(&name);
        let Some(bytes) = store.read_request(&name)? else {
            continue;
        };
        let objects = inspect::parse(&bytes, now).map_err(|source| Error::Pki {
            path: path.clone(),
            source,
        })?;
        let Some(Object::Csr(csr)) = objects.into_iter().next() else {
            return Err(Error::Corrupt {
                path,
                line: None,
                reason: "not a certificate request".into(),
            });
        };
        out.push(CertStatus {
            name: name.to_string(),
            state: CertState::Requested,
            dns_alt_names: csr.dns_alt_names,
            subject_alt_names: ips_first(csr.subject_alt_names),
            authorization_extensions: EmptyObject,
            fingerprint: csr.fingerprint,
            fingerprints: fingerprints(&csr.der),
            serial_number: None,
            not_before: None,
            not_after: None,
            seconds_left: None,
        });
    }
    out.par_sort_unstable_by(|a, b| a.name.cmp(&b.name).then(a.state.cmp(&b.state)));
    Ok(out)
}
