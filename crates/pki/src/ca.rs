//! The issuing authority: creating a CA, loading one, signing leaf certificates and CRLs.
//!
//! Issuance is an explicit pipeline split between crates: the caller builds a [`LeafSpec`]
//! (validated names, lifetime), the store allocates the serial, [`CertificateAuthority::issue`]
//! signs, the store records. The profile is Puppet Server's (see DESIGN.md, "Certificate
//! profile"); serial and both validity dates are always set explicitly, because rcgen's
//! defaults (a hash-derived serial, a 1975 notBefore) are wrong for a CA.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, RevokedCertParams,
    SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use crate::inspect;
use crate::{AltName, AltNames, CertName, CertRequest, Error, PrivateKey, Ttl};

/// Puppet backdates every certificate by a day so that clocks a little behind still accept it
/// (`certificate_authority.clj`, `not-before = now - 1 day`).
pub(crate) const BACKDATE: Duration = Duration::days(1);

/// What a new CA looks like.
#[derive(Debug, Clone)]
pub struct CaSpec {
    /// The CA's common name, e.g. `Puppet CA: puppet.example.net`.
    pub common_name: String,
    /// Lifetime of the CA certificate.
    pub ttl: Ttl,
}

/// What a leaf certificate looks like, apart from its key and serial.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// The certname; becomes `CN=<name>` and `DNS:<name>`.
    pub name: CertName,
    /// All subjectAltNames (always containing `DNS:<name>`).
    pub alt_names: AltNames,
    /// Lifetime from now.
    pub ttl: Ttl,
}

impl LeafSpec {
    /// A spec for `name` with extra alt names.
    pub fn new(name: CertName, extra: impl IntoIterator<Item = AltName>, ttl: Ttl) -> Self {
        let alt_names = AltNames::new(&name, extra);
        LeafSpec {
            name,
            alt_names,
            ttl,
        }
    }
}

/// A certificate just signed, with what the inventory needs.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// The certname it was issued for.
    pub name: CertName,
    /// Its serial number.
    pub serial: u64,
    /// notBefore, whole seconds.
    pub not_before: OffsetDateTime,
    /// notAfter, whole seconds.
    pub not_after: OffsetDateTime,
    /// The subject DN in OpenSSL's one-line form, as Puppet's inventory holds it (`/CN=x`).
    pub subject: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The certificate, PEM.
    pub pem: String,
}

/// One revoked certificate in a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// The revoked serial.
    pub serial: u64,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// Why.
    pub reason: crate::Reason,
}

/// What a CRL looks like.
#[derive(Debug, Clone)]
pub struct CrlSpec {
    /// The CRL number (monotonically increasing).
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// The revoked certificates.
    pub revoked: Vec<CrlEntry>,
}

/// How a two-level CA looks, beside its [`CaSpec`].
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// The root's common name, e.g. `Puppet Root CA: 5f2a...`.
    pub root_name: String,
    /// Puppet's profile: the Netscape Comment and authorityKeyIdentifier on both
    /// certificates, and no path length on the intermediate.
    pub puppet: bool,
}

/// A two-level CA just made by [`CertificateAuthority::create_chain`].
#[derive(Debug)]
pub struct NewChain {
    /// The intermediate, which signs; its bundle is the intermediate then the root.
    pub ca: CertificateAuthority,
    /// The root certificate, PEM.
    pub root_pem: String,
    /// The root's empty CRL (number 0, valid until the root expires), PEM.
    pub root_crl: String,
    /// The root's private key, PKCS#8 PEM.
    pub root_key_pem: String,
}

/// A CA certificate (or bundle, issuing CA first) with the key that signs for it.
pub struct CertificateAuthority {
    chain_pem: String,
    pub(crate) cert_der: Vec<u8>,
    pub(crate) subject: String,
    key_id: Option<Vec<u8>>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    pub(crate) issuer: Issuer<'static, KeyPair>,
    /// The AlgorithmIdentifier the key signs with, found at the first renewal.
    pub(crate) signature_algorithm: std::sync::OnceLock<Vec<u8>>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// `now + ttl`, refused (never a panic) when it would pass 9999-12-31, the last date an X.509
/// GeneralizedTime carries.
pub fn valid_until(now: OffsetDateTime, ttl: Ttl) -> Result<OffsetDateTime, Error> {
    let last = time::macros::datetime!(9999-12-31 23:59:59 UTC);
    now.checked_add(ttl.duration())
        .filter(|t| *t <= last)
        .ok_or(Error::TtlTooLong {
            secs: ttl.as_secs(),
        })
}

impl CertificateAuthority {
    /// A new self-signed CA with `key`, serial 1, valid from a day ago for `spec.ttl`.
    pub fn create(spec: &CaSpec, key: PrivateKey, now: OffsetDateTime) -> Result<Self, Error> {
        let params = ca_params(&spec.common_name, spec.ttl, 1, now, None, false)?;
        let cert = params.self_signed(key.pair()).map_err(Error::signing)?;
        Self::load(cert.pem().as_bytes(), key)
    }

    /// A new two-level CA, as `puppetserver ca setup` makes one: a self-signed root (serial 1,
    /// `chain.root_name`, `root_key`) and the CA it signs (serial 2, `spec`, `key`), both valid
    /// from a day ago for `spec.ttl`, each with an empty CRL (number 0). The returned CA signs
    /// as the intermediate; its bundle is the intermediate then the root.
    pub fn create_chain(
        spec: &CaSpec,
        chain: &ChainSpec,
        root_key: PrivateKey,
        key: PrivateKey,
        now: OffsetDateTime,
    ) -> Result<NewChain, Error> {
        let params = ca_params(&chain.root_name, spec.ttl, 1, now, None, chain.puppet)?;
        let root_pem = params
            .self_signed(root_key.pair())
            .map_err(Error::signing)?
            .pem();
        let root = Self::load(root_pem.as_bytes(), root_key)?;
        // Puppet's intermediate has no path length; ours may sign leaves only.
        let path_len = if chain.puppet { None } else { Some(0) };
        let params = ca_params(&spec.common_name, spec.ttl, 2, now, path_len, chain.puppet)?;
        let cert = params
            .signed_by(key.pair(), &root.issuer)
            .map_err(Error::signing)?;
        let ca = Self::load(format!("{}{root_pem}", cert.pem()).as_bytes(), key)?;
        let root_crl = root.crl(&CrlSpec {
            number: 0,
            this_update: now,
            next_update: root.not_after,
            revoked: Vec::new(),
        })?;
        Ok(NewChain {
            ca,
            root_pem,
            root_crl,
            root_key_pem: root.key_pem(),
        })
    }

    /// A CA from its certificate (PEM bundle, issuing CA first) and its key. Refuses a first
    /// certificate that is not a CA (basicConstraints CA:TRUE) or whose key is not `key`.
    pub fn load(chain_pem: &[u8], key: PrivateKey) -> Result<Self, Error> {
        let chain = inspect::certificates(chain_pem)?;
        let first = chain.first().ok_or_else(|| Error::Malformed {
            what: "CA certificate",
            reason: "no CERTIFICATE block".into(),
        })?;
        let info = inspect::certificate_info(first, OffsetDateTime::now_utc())?;
        if !info.basic_constraints.as_ref().is_some_and(|bc| bc.ca) {
            return Err(Error::CaMismatch {
                reason: format!("{} is not a CA certificate (no CA:TRUE)", info.subject),
            });
        }
        if !info.key_usage.is_empty() && !info.key_usage.iter().any(|u| u == "keyCertSign") {
            return Err(Error::CaMismatch {
                reason: format!(
                    "{} may not sign certificates (keyUsage {} lacks keyCertSign)",
                    info.subject,
                    info.key_usage.join(",")
                ),
            });
        }
        reproducible_subject(first).map_err(|reason| Error::CaMismatch {
            reason: format!(
                "the subject of {} cannot be copied byte for byte into issued certificates: {reason}",
                info.subject
            ),
        })?;
        if info.spki_der != key.spki_der() {
            return Err(Error::CaMismatch {
                reason: format!(
                    "the private key does not match the CA certificate {}",
                    info.subject
                ),
            });
        }
        let der = CertificateDer::from(first.clone());
        let pair = key.into_pair();
        let issuer = Issuer::from_ca_cert_der(&der, pair).map_err(|e| Error::CaMismatch {
            reason: format!("cannot sign as {}: {e}", info.subject),
        })?;
        Ok(CertificateAuthority {
            chain_pem: String::from_utf8_lossy(chain_pem).into_owned(),
            cert_der: first.clone(),
            subject: info.subject_oneline,
            key_id: info.subject_key_id,
            not_before: info.not_before_time.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            not_after: info.not_after_time.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            issuer,
            signature_algorithm: std::sync::OnceLock::new(),
        })
    }

    /// The CA certificate bundle as PEM (what `ca_crt.pem` holds).
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The issuing CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The issuing CA certificate's notBefore and notAfter.
    pub fn validity(&self) -> (OffsetDateTime, OffsetDateTime) {
        (self.not_before, self.not_after)
    }

    /// The CA's public key as DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        use rcgen::PublicKeyData;
        self.issuer.key().subject_public_key_info()
    }

    /// The CA's subject in one-line form (`/CN=Puppet CA: x`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The CA's private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        crate::key::pkcs8_pem(self.issuer.key())
    }

    /// The CA's public key, PEM (what `ca_pub.pem` holds).
    pub fn public_key_pem(&self) -> String {
        self.issuer.key().public_key_pem()
    }

    /// Signs a leaf certificate for `key` with Puppet's profile.
    pub fn issue(
        &self,
        spec: &LeafSpec,
        key: &PrivateKey,
        serial: u64,
        now: OffsetDateTime,
    ) -> Result<IssuedCert, Error> {
        let params = leaf_params(spec, serial, now, key.is_rsa())?;
        let cert = params
            .signed_by(key.pair(), &self.issuer)
            .map_err(Error::signing)?;
        Ok(issued(spec, serial, &params, &cert))
    }

    /// Signs a certificate for the key in a request that passed policy, with Puppet's
    /// profile plus the request's `pp_*` extensions.
    pub fn sign_request(
        &self,
        spec: &LeafSpec,
        req: &CertRequest,
        serial: u64,
        now: OffsetDateTime,
    ) -> Result<IssuedCert, Error> {
        let public = rcgen::SubjectPublicKeyInfo::from_der(&req.spki_der).map_err(|e| {
            Error::UnsupportedKey {
                reason: format!("the request's public key: {e}"),
            }
        })?;
        let rsa = inspect::spki_info(&req.spki_der)?.algorithm == "RSA";
        let mut params = leaf_params(spec, serial, now, rsa)?;
        for ext in &req.copied {
            let mut custom = rcgen::CustomExtension::from_oid_content(&ext.oid, ext.value.clone());
            custom.set_criticality(ext.critical);
            params.custom_extensions.push(custom);
        }
        let cert = params
            .signed_by(&public, &self.issuer)
            .map_err(Error::signing)?;
        Ok(issued(spec, serial, &params, &cert))
    }

    /// Proves this CA can issue: signs a throwaway certificate for a fresh key and checks that
    /// its issuer DN is byte for byte the CA's subject and its signature verifies with the CA's
    /// public key. Nothing is recorded; serial 1 is never used by a leaf.
    pub fn self_test(&self, now: OffsetDateTime) -> Result<(), Error> {
        let name: CertName = "clusterca-self-test.invalid".parse()?;
        let spec = LeafSpec::new(name, [], Ttl::from_secs(3_600));
        let key = PrivateKey::generate(crate::KeyType::EcP256)?;
        let probe = self.issue(&spec, &key, 1, now)?;
        let (issuer_raw, _) = inspect::raw_names(&probe.der)?;
        let (_, subject_raw) = inspect::raw_names(&self.cert_der)?;
        if issuer_raw != subject_raw {
            return Err(Error::CaMismatch {
                reason: format!(
                    "certificates signed as {} would name a different issuer ({} bytes instead of {})",
                    self.subject,
                    issuer_raw.len(),
                    subject_raw.len()
                ),
            });
        }
        if !inspect::signed_by(&probe.der, &self.spki_der())? {
            return Err(Error::CaMismatch {
                reason: format!(
                    "a test certificate signed as {} does not verify",
                    self.subject
                ),
            });
        }
        Ok(())
    }

    /// Signs a CRL (version 2, with the CA's AKI and a CRL number), each entry with its
    /// reason (Puppet writes keyCompromise for every one).
    pub fn crl(&self, spec: &CrlSpec) -> Result<String, Error> {
        let params = CertificateRevocationListParams {
            this_update: whole_seconds(spec.this_update),
            next_update: whole_seconds(spec.next_update),
            crl_number: SerialNumber::from(spec.number),
            issuing_distribution_point: None,
            revoked_certs: spec
                .revoked
                .iter()
                .map(|e| RevokedCertParams {
                    serial_number: SerialNumber::from(e.serial),
                    revocation_time: whole_seconds(e.revoked_at),
                    reason_code: Some(e.reason.to_rcgen()),
                    invalidity_date: None,
                })
                .collect(),
            // The CRL's AKI must equal the CA's SKI, whatever method made that.
            key_identifier_method: match &self.key_id {
                Some(id) => rcgen::KeyIdMethod::PreSpecified(id.clone()),
                None => rcgen::KeyIdMethod::Sha256,
            },
        };
        params
            .signed_by(&self.issuer)
            .and_then(|crl| crl.pem())
            .map_err(Error::signing)
    }
}

/// Whether rcgen re-encodes this certificate's subject exactly when it names it as issuer:
/// one attribute per RDN, no attribute type twice, and string types rcgen keeps.
fn reproducible_subject(der: &[u8]) -> Result<(), String> {
    use std::collections::HashSet;
    use x509_parser::der_parser::asn1_rs::Tag;
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|e| format!("cannot parse: {e}"))?;
    let mut seen = HashSet::new();
    for rdn in cert.subject().iter() {
        let attrs: Vec<_> = rdn.iter().collect();
        let [attr] = attrs.as_slice() else {
            return Err(format!(
                "a multi-valued RDN ({} attributes in one set)",
                attrs.len()
            ));
        };
        let oid = attr.attr_type().to_id_string();
        if !seen.insert(oid.clone()) {
            return Err(format!("attribute {oid} appears more than once"));
        }
        let tag = attr.attr_value().header.tag();
        if ![
            Tag::PrintableString,
            Tag::Utf8String,
            Tag::Ia5String,
            Tag::T61String,
            Tag::BmpString,
            Tag::UniversalString,
        ]
        .contains(&tag)
        {
            return Err(format!("attribute {oid} is encoded as {tag}"));
        }
    }
    Ok(())
}

/// Netscape Comment (2.16.840.1.113730.1.13), which Puppet puts in every certificate it makes.
const OID_NETSCAPE_COMMENT: &[u64] = &[2, 16, 840, 1, 113_730, 1, 13];
const PUPPET_COMMENT: &str = "Puppet Server Internal Certificate";

/// The parameters of a CA certificate: basicConstraints (critical, CA:TRUE, `path_len`) and
/// keyUsage keyCertSign and cRLSign (critical); with `puppet`, also Puppet's Netscape Comment
/// and an authorityKeyIdentifier, as `puppetserver ca setup` writes them.
fn ca_params(
    common_name: &str,
    ttl: Ttl,
    serial: u64,
    now: OffsetDateTime,
    path_len: Option<u8>,
    puppet: bool,
) -> Result<CertificateParams, Error> {
    if let Some(c) = common_name
        .chars()
        .find(|c| c.is_control() || crate::is_bidi(*c))
    {
        return Err(Error::CaMismatch {
            reason: format!(
                "CA name {} holds the control character U+{:04X} (a name is one line of text)",
                crate::quote(common_name),
                c as u32
            ),
        });
    }
    if common_name.trim().is_empty() || common_name.len() > 64 {
        return Err(Error::CaMismatch {
            reason: format!(
                "CA name {} must be 1 to 64 characters (X.520 ub-common-name)",
                crate::quote(common_name)
            ),
        });
    }
    let now = whole_seconds(now);
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.serial_number = Some(SerialNumber::from(serial));
    params.not_before = now - BACKDATE;
    params.not_after = valid_until(now, ttl)?;
    params.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    if puppet {
        let comment = [
            &[0x16, PUPPET_COMMENT.len() as u8],
            PUPPET_COMMENT.as_bytes(),
        ]
        .concat();
        params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                OID_NETSCAPE_COMMENT,
                comment,
            ));
        params.use_authority_key_identifier_extension = true;
    }
    Ok(params)
}

/// The parameters of a leaf certificate with Puppet's profile.
fn leaf_params(
    spec: &LeafSpec,
    serial: u64,
    now: OffsetDateTime,
    rsa: bool,
) -> Result<CertificateParams, Error> {
    let now = whole_seconds(now);
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, spec.name.as_str());
    params.subject_alt_names = spec
        .alt_names
        .iter()
        .map(|n| match n {
            AltName::Dns(d) => d
                .clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(Error::signing),
            AltName::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        })
        .collect::<Result<_, _>>()?;
    params.serial_number = Some(SerialNumber::from(serial));
    params.not_before = now - BACKDATE;
    params.not_after = valid_until(now, spec.ttl)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if rsa {
        params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn issued(
    spec: &LeafSpec,
    serial: u64,
    params: &CertificateParams,
    cert: &rcgen::Certificate,
) -> IssuedCert {
    IssuedCert {
        name: spec.name.clone(),
        serial,
        not_before: params.not_before,
        not_after: params.not_after,
        subject: format!("/CN={}", spec.name),
        der: cert.der().to_vec(),
        pem: cert.pem(),
    }
}

impl PrivateKey {
    pub(crate) fn into_pair(self) -> KeyPair {
        self.pair
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_past_9999_is_an_error_not_a_panic() {
        let now = time::macros::datetime!(2026-11-30 00:00 UTC);
        for secs in [u64::MAX, 300_000_000_000, i64::MAX as u64] {
            assert_eq!(
                valid_until(now, Ttl::from_secs(secs)),
                Err(Error::TtlTooLong { secs })
            );
        }
        let last = valid_until(now, Ttl::from_secs(3_600)).unwrap();
        assert_eq!(last, time::macros::datetime!(2026-11-30 01:00 UTC));
        // Through issuing: refused, nothing signed.
        let key = PrivateKey::generate(crate::KeyType::EcP256).unwrap();
        let ca = CertificateAuthority::create(
            &CaSpec {
                common_name: "Test CA".into(),
                ttl: Ttl::from_secs(86_400),
            },
            key,
            now,
        )
        .unwrap();
        let spec = LeafSpec::new(
            "a.example.net".parse().unwrap(),
            [],
            Ttl::from_secs(u64::MAX),
        );
        let leaf_key = PrivateKey::generate(crate::KeyType::EcP256).unwrap();
        assert!(matches!(
            ca.issue(&spec, &leaf_key, 2, now),
            Err(Error::TtlTooLong { .. })
        ));
    }

    #[test]
    fn a_ca_name_is_one_line_without_bidi_controls() {
        for name in ["Puppet CA\n0x0002 x", "CA\u{202e}x", "tab\there"] {
            let key = PrivateKey::generate(crate::KeyType::EcP256).unwrap();
            let spec = CaSpec {
                common_name: name.into(),
                ttl: Ttl::from_secs(86_400),
            };
            let err = CertificateAuthority::create(&spec, key, OffsetDateTime::now_utc())
                .unwrap_err()
                .to_string();
            assert!(err.contains("control character"), "{name:?}: {err}");
        }
    }
}
