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
    let Some(leaf_der) = chain.first() else {
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
                opts.crls
                    .iter()
                    .map(|d| CertificateRevocationListDer::from(d.clone())),
            )
            // The leaf's own issuer's CRL decides; a CRL past its nextUpdate is no answer.
            .only_check_end_entity_revocation()
            .enforce_revocation_expiration();
    }
    let verifier = builder.build().map_err(|e| Error::Tls(e.to_string()))?;
    let leaf_cert = CertificateDer::from(leaf_der.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(now.unix_timestamp()).unwrap_or(0),
    ));
    let names: Vec<NameResult> = opts
        .names
        .iter()
        .map(|name| {
            let server_name = match name {
                AltName::Dns(d) => ServerName::try_from(d.clone()).map_err(|e| e.to_string()),
                AltName::Ip(ip) => Ok(ServerName::IpAddress((*ip).into())),
            };
            let result = server_name.and_then(|sn| {
                verifier
                    .verify_server_cert(&leaf_cert, &intermediates, &sn, &[], at)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
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
        intermediates: chain.len() - 1,
        revocation_checked: !opts.crls.is_empty(),
        verified: !names.is_empty() && names.iter().all(|n| n.verified),
        names,
    })
}
