//! `verify`: does a certificate chain to the CA, carry the names a client will ask for, and
//! stand unrevoked? The same checks a TLS client makes (rustls' WebPKI verifier), one file.

use std::sync::Arc;

use clusterca_pki::{inspect, AltName, Serial, Timestamp};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};
use serde::Serialize;
use time::OffsetDateTime;

use crate::Error;

/// What to verify against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The trusted CA certificates, DER (a bundle: every one is a trust anchor).
    pub ca: Vec<Vec<u8>>,
    /// CRLs, DER. Empty: revocation is not checked. Otherwise the CRL of the certificate's
    /// issuer must be among them (an unknown status is a failure) and current.
    pub crls: Vec<Vec<u8>>,
    /// The names (DNS or IP) the certificate must be valid for.
    pub names: Vec<AltName>,
}

/// One name's result.
#[derive(Debug, Clone, Serialize)]
pub struct NameResult {
    /// The name, as given (`DNS:x` or `IP:a`).
    pub name: String,
    /// Whether the chain, the validity period, the name and (with CRLs) revocation all hold.
    pub verified: bool,
    /// Why not, in rustls' words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result for one certificate.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The leaf's subject.
    pub subject: String,
    /// The leaf's serial.
    pub serial_number: Serial,
    /// The leaf's notAfter.
    pub not_after: Timestamp,
    /// Intermediates given after the leaf in the same file.
    pub intermediates: usize,
    /// Whether revocation was checked (CRLs given).
    pub revocation_checked: bool,
    /// One result per name.
    pub names: Vec<NameResult>,
    /// True when every name verified.
    pub verified: bool,
}

/// Verifies `chain` (the leaf first, then any intermediates) as a TLS client of each name
/// would, at `now`.
pub fn verify(
    chain: &[Vec<u8>],
    opts: &VerifyOptions,
    now: OffsetDateTime,
) -> Result<VerifyReport, Error> {
    let Some((leaf_der, rest)) = chain.split_first() else {
        return Err(Error::Ca(clusterca_pki::Error::CaMismatch {
            reason: "no certificate to verify".into(),
        }));
    };
    let leaf = inspect::certificate_info(leaf_der, now).map_err(Error::Ca)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    for der in &opts.ca {
        roots.add(CertificateDer::from(der.clone())).map_err(|e| {
            Error::Ca(clusterca_pki::Error::CaMismatch {
                reason: e.to_string(),
            })
        })?;
    }
    let mut builder = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider);
    if !opts.crls.is_empty() {
        builder = builder
            .with_crls(
                newest_crls(&opts.crls)
                    .into_iter()
                    .map(|d| CertificateRevocationListDer::from(d.to_vec())),
            )
            // The leaf's own issuer's CRL decides; a CRL past its nextUpdate is no answer.
            .only_check_end_entity_revocation()
            .enforce_revocation_expiration();
    }
    let verifier = builder.build().map_err(|e| Error::Tls(e.to_string()))?;
    let leaf_cert = CertificateDer::from(leaf_der.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = rest
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(now.unix_timestamp()).unwrap_or(0),
    ));
    // What a TLS client built on OpenSSL (a Puppet agent) also refuses and WebPKI does not
    // look at: a CA certificate out of its validity at the top of the chain, and a leaf
    // whose keyUsage allows no TLS server use.
    let beyond_webpki = anchors_current(chain, &opts.ca, now).and(server_key_usage(&leaf));
    let names: Vec<NameResult> = opts
        .names
        .iter()
        .map(|name| {
            let server_name = match name {
                AltName::Dns(d) => ServerName::try_from(d.clone()).map_err(|e| e.to_string()),
                AltName::Ip(ip) => Ok(ServerName::IpAddress((*ip).into())),
            };
            let result = server_name
                .and_then(|sn| {
                    verifier
                        .verify_server_cert(&leaf_cert, &intermediates, &sn, &[], at)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
                .and(beyond_webpki.clone());
            NameResult {
                name: name.to_string(),
                verified: result.is_ok(),
                error: result.err(),
            }
        })
        .collect();
    Ok(VerifyReport {
        subject: leaf.subject,
        serial_number: leaf.serial_number,
        not_after: Timestamp(leaf.not_after_time.unwrap_or(now)),
        intermediates: rest.len(),
        revocation_checked: !opts.crls.is_empty(),
        verified: !names.is_empty() && names.iter().all(|n| n.verified),
        names,
    })
}

/// Of several CRLs of one issuer, the newest (highest CRL number, then latest thisUpdate):
/// WebPKI takes the first that names the issuer, which may be an older one without a
/// revocation a newer one holds. CRLs that do not parse are passed on as they are (WebPKI
/// refuses them itself).
fn newest_crls(crls: &[Vec<u8>]) -> Vec<&[u8]> {
    use std::collections::BTreeMap;
    let mut newest: BTreeMap<String, (u128, Option<OffsetDateTime>, &[u8])> = BTreeMap::new();
    let mut unparsed = Vec::new();
    for der in crls {
        let Ok(info) = inspect::crl_info(der) else {
            unparsed.push(der.as_slice());
            continue;
        };
        let number = info
            .crl_number
            .as_deref()
            .and_then(|n| n.parse::<u128>().ok())
            .unwrap_or(0);
        let this_update = time::OffsetDateTime::parse(
            &info.this_update,
            &time::format_description::well_known::Rfc3339,
        )
        .ok();
        let key = (number, this_update);
        match newest.get(&info.issuer) {
            Some((n, t, _)) if (*n, *t) >= key => {}
            _ => {
                newest.insert(info.issuer, (number, this_update, der.as_slice()));
            }
        }
    }
    newest
        .into_values()
        .map(|(_, _, d)| d)
        .chain(unparsed)
        .collect()
}

/// The CA certificates the chain ends at are within their validity: for the issuer of the
/// last certificate of `chain`, at least one certificate of `ca` with that subject is current
/// (after `renew --ca` the bundle holds the new one and the old, expired one, both with the
/// same key), and so on up to a self-signed one. WebPKI does not check a trust anchor's dates;
/// OpenSSL, and so Puppet's agents, do.
fn anchors_current(chain: &[Vec<u8>], ca: &[Vec<u8>], now: OffsetDateTime) -> Result<(), String> {
    let names = |der: &[u8]| inspect::raw_names(der).ok();
    let cas: Vec<(Vec<u8>, Vec<u8>, inspect::CertInfo)> = ca
        .iter()
        .filter_map(|d| {
            let (issuer, subject) = names(d)?;
            Some((issuer, subject, inspect::certificate_info(d, now).ok()?))
        })
        .collect();
    let Some((mut wanted, _)) = chain.last().and_then(|d| names(d)) else {
        return Ok(());
    };
    // Bounded: each step goes one CA up; a bundle has few.
    for _ in 0..=cas.len() {
        let candidates: Vec<&(Vec<u8>, Vec<u8>, inspect::CertInfo)> =
            cas.iter().filter(|(_, s, _)| *s == wanted).collect();
        let Some(first) = candidates.first() else {
            // Not in the bundle: WebPKI has said whether the chain reaches it.
            return Ok(());
        };
        let current = candidates.iter().find(|(_, _, i)| {
            i.not_before_time.is_some_and(|t| t <= now)
                && i.not_after_time.is_some_and(|t| now <= t)
        });
        let Some((issuer, subject, _)) = current else {
            let i = &first.2;
            return Err(format!(
                "the CA certificate {} is not valid now (valid {} to {})",
                i.subject, i.not_before, i.not_after
            ));
        };
        if issuer == subject {
            return Ok(());
        }
        wanted = issuer.clone();
    }
    Ok(())
}

/// A leaf with keyUsage must allow digitalSignature or keyEncipherment to serve TLS, as
/// OpenSSL's `sslserver` purpose requires.
fn server_key_usage(leaf: &inspect::CertInfo) -> Result<(), String> {
    let has = |u: &str| leaf.key_usage.iter().any(|k| k == u);
    if leaf.key_usage.is_empty() || has("digitalSignature") || has("keyEncipherment") {
        Ok(())
    } else {
        Err(format!(
            "its keyUsage ({}) allows no TLS server use (digitalSignature or keyEncipherment)",
            leaf.key_usage.join(", ")
        ))
    }
}
