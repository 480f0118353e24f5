//! Inspection of certificates, CSRs, CRLs and keys, PEM or DER, into plain serialisable
//! values. `show` renders these; `list` and the store read certificates through them.
//!
//! The JSON form of these types is part of clusterca's contract (`clusterca show --format
//! json`): field names are stable and documented in `docs/json.md`.

use rustls_pki_types::pem::{PemObject, SectionKind};
use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo, X509Name};

use crate::{fingerprint_sha256, Error, PrivateKey};

/// One object found in the input.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Object {
    /// An X.509 certificate.
    Certificate(Box<CertInfo>),
    /// A PKCS#10 certificate signing request.
    Csr(CsrInfo),
    /// A certificate revocation list.
    Crl(CrlInfo),
    /// A private key.
    PrivateKey(PrivateKeyInfo),
    /// A public key (SubjectPublicKeyInfo).
    PublicKey(KeyInfo),
}

/// A public key's algorithm and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// `RSA`, `ECDSA`, `Ed25519`, or the algorithm OID.
    pub algorithm: String,
    /// Key size in bits (the curve size for ECDSA).
    pub bits: u32,
    /// The named curve for ECDSA keys (`P-256`, `P-384`, `P-521`).
    pub curve: Option<String>,
    /// The SubjectPublicKeyInfo, DER; compared to match keys and certificates.
    #[serde(skip)]
    pub spki_der: Vec<u8>,
}

/// basicConstraints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BasicConstraintsInfo {
    /// cA.
    pub ca: bool,
    /// pathLenConstraint.
    pub path_len: Option<u32>,
    /// Whether the extension is marked critical.
    pub critical: bool,
}

/// What a certificate says.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// Subject DN, RFC 4514 style (`CN=puppet.example.net`).
    pub subject: String,
    /// Subject DN in OpenSSL's one-line form (`/CN=puppet.example.net`), as Puppet's
    /// inventory holds it.
    pub subject_oneline: String,
    /// Issuer DN, RFC 4514 style.
    pub issuer: String,
    /// Serial number (docs/json.md: `{"hex": "0x0002", "decimal": "2"}`).
    pub serial_number: crate::Serial,
    /// Serial number, uppercase hex (even number of digits), as rules key on it.
    #[serde(skip)]
    pub serial_hex: String,
    /// Serial number, decimal (a string: serials may exceed 64 bits).
    #[serde(skip)]
    pub serial_decimal: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// Seconds from the time of inspection to notAfter (negative when expired).
    pub seconds_left: i64,
    /// All subjectAltNames as `DNS:x`, `IP:a`, `URI:u`, `email:e`.
    pub subject_alt_names: Vec<String>,
    /// The DNS names among them, without prefix (Puppet's `dns_alt_names`).
    pub dns_alt_names: Vec<String>,
    /// The public key.
    pub public_key: KeyInfo,
    /// Signature algorithm name (`ecdsa-with-SHA256`, `sha256WithRSAEncryption`, ...).
    pub signature_algorithm: String,
    /// basicConstraints, when present.
    pub basic_constraints: Option<BasicConstraintsInfo>,
    /// keyUsage bits by OpenSSL's names (`digitalSignature`, `keyCertSign`, ...).
    pub key_usage: Vec<String>,
    /// extendedKeyUsage by name (`serverAuth`, `clientAuth`, ...) or OID.
    pub extended_key_usage: Vec<String>,
    /// subjectKeyIdentifier, colon hex.
    pub subject_key_identifier: Option<String>,
    /// SHA-256 fingerprint, uppercase colon hex (Puppet's form).
    pub fingerprint: String,
    /// Whether the CRL of the CA that issued it revokes it: `None` when no such CA was at
    /// hand (filled in by callers that have one; parsing alone leaves it `None`).
    pub revoked: Option<bool>,
    /// The raw subjectKeyIdentifier.
    #[serde(skip)]
    pub subject_key_id: Option<Vec<u8>>,
    /// SubjectPublicKeyInfo DER.
    #[serde(skip)]
    pub spki_der: Vec<u8>,
    /// The issuer name's DER, as it stands in the certificate.
    #[serde(skip)]
    pub issuer_raw: Vec<u8>,
    /// The subject name's DER, as it stands in the certificate.
    #[serde(skip)]
    pub subject_raw: Vec<u8>,
    /// notAfter as a time.
    #[serde(skip)]
    pub not_after_time: Option<OffsetDateTime>,
    /// notBefore as a time.
    #[serde(skip)]
    pub not_before_time: Option<OffsetDateTime>,
}

/// What a CSR says.
#[derive(Debug, Clone, Serialize)]
pub struct CsrInfo {
    /// Subject DN, RFC 4514 style.
    pub subject: String,
    /// Requested subjectAltNames.
    pub subject_alt_names: Vec<String>,
    /// The DNS names among them, without prefix.
    pub dns_alt_names: Vec<String>,
    /// The public key.
    pub public_key: KeyInfo,
    /// Signature algorithm name.
    pub signature_algorithm: String,
    /// Whether the CSR's self-signature verifies.
    pub signature_valid: bool,
    /// OIDs of all requested extensions.
    pub requested_extensions: Vec<String>,
    /// SHA-256 fingerprint of the CSR DER.
    pub fingerprint: String,
    /// The CSR, DER.
    #[serde(skip)]
    pub der: Vec<u8>,
}

/// One revoked certificate in a CRL.
#[derive(Debug, Clone, Serialize)]
pub struct RevokedInfo {
    /// Serial number.
    pub serial_number: crate::Serial,
    /// Serial, uppercase hex.
    #[serde(skip)]
    pub serial_hex: String,
    /// Serial, decimal.
    #[serde(skip)]
    pub serial_decimal: String,
    /// Revocation time, RFC 3339.
    pub revoked_at: String,
    /// Reason code name, when given (`keyCompromise`, `superseded`, ...).
    pub reason: Option<String>,
    /// The reason code, when given.
    #[serde(skip)]
    pub reason_code: Option<u8>,
    /// Revocation time.
    #[serde(skip)]
    pub revoked_at_time: Option<OffsetDateTime>,
}

/// What a CRL says.
#[derive(Debug, Clone, Serialize)]
pub struct CrlInfo {
    /// Issuer DN, RFC 4514 style.
    pub issuer: String,
    /// thisUpdate, RFC 3339.
    pub this_update: String,
    /// nextUpdate, RFC 3339, when present.
    pub next_update: Option<String>,
    /// The CRL number, decimal.
    pub crl_number: Option<String>,
    /// Signature algorithm name.
    pub signature_algorithm: String,
    /// The revoked certificates.
    pub revoked: Vec<RevokedInfo>,
    /// nextUpdate as a time.
    #[serde(skip)]
    pub next_update_time: Option<OffsetDateTime>,
}

/// What a private key file holds (never the secret itself).
#[derive(Debug, Clone, Serialize)]
pub struct PrivateKeyInfo {
    /// `pkcs8`, `pkcs1` or `sec1`.
    pub format: String,
    /// The public half.
    pub public_key: KeyInfo,
    /// Whether it matches the certificate it was compared with, if any.
    pub matches_certificate: Option<bool>,
}

/// True when `bytes` hold a PEM block rather than DER.
pub fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn malformed(what: &'static str, reason: impl ToString) -> Error {
    Error::Malformed {
        what,
        reason: reason.to_string(),
    }
}

pub(crate) fn pem_sections(bytes: &[u8]) -> Result<Vec<(SectionKind, Vec<u8>)>, Error> {
    <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes)
        .map(|s| {
            s.map_err(|e| match e {
                rustls_pki_types::pem::Error::MissingSectionEnd { end_marker } => malformed(
                    "PEM",
                    format!(
                        "truncated: no -----END {}----- line",
                        String::from_utf8_lossy(&end_marker)
                            .trim_start_matches("-----END ")
                            .trim_end_matches('-')
                    ),
                ),
                other => malformed("PEM", other),
            })
        })
        .collect()
}

/// The certificates (DER) in PEM text or one DER certificate.
pub fn certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    if let Some(der) = one_certificate_block(bytes) {
        return Ok(vec![der]);
    }
    if looks_like_pem(bytes) {
        certificates_by_full_reader(bytes)
    } else {
        certificate_info(bytes, OffsetDateTime::now_utc())?;
        Ok(vec![bytes.to_vec()])
    }
}

/// [`certificates`] without its fast path for one plain block: every PEM text through the
/// full, constant-time reader. For the fuzzer, which checks that both read the same.
#[doc(hidden)]
pub fn certificates_by_full_reader(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    Ok(pem_sections(bytes)?
        .into_iter()
        .filter(|(k, _)| *k == SectionKind::Certificate)
        .map(|(_, der)| der)
        .collect())
}

/// The DER of `bytes` when they are exactly one `CERTIFICATE` block (as clusterca and Puppet
/// write each file of `signed/`): its lines of canonical, padded base64, `\n` or `\r\n`
/// line ends, nothing before or after but one line end. `None` for anything else, which
/// [`pem_sections`] then reads (and explains). A certificate is public, so this decodes it
/// with the `base64` crate's fast decoder; the constant-time one of `pem_sections` (made for
/// keys) was a tenth of `list --all`.
fn one_certificate_block(bytes: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let body = bytes.strip_prefix(BEGIN)?;
    let body = body
        .strip_suffix(b"\r\n")
        .or_else(|| body.strip_suffix(b"\n"))
        .unwrap_or(body)
        .strip_suffix(END)?;
    let mut text = Vec::with_capacity(body.len());
    for &b in body {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => text.push(b),
            b'\r' | b'\n' => {}
            _ => return None,
        }
    }
    base64::engine::general_purpose::STANDARD.decode(&text).ok()
}

/// Every object in `bytes` (PEM with any number of blocks, or one DER object), described as
/// of `now`.
pub fn parse(bytes: &[u8], now: OffsetDateTime) -> Result<Vec<Object>, Error> {
    Ok(parse_with_der(bytes, now)?
        .into_iter()
        .map(|(o, _)| o)
        .collect())
}

/// Like [`parse`], each object with its DER, for callers that verify signatures or compare
/// names byte for byte. Private keys come with an empty DER: key material never leaves here.
pub fn parse_with_der(bytes: &[u8], now: OffsetDateTime) -> Result<Vec<(Object, Vec<u8>)>, Error> {
    parse_with_der_keys(bytes, now, KeyPublic::Derive)
}

/// Where the public key of a private key found by [`parse_with_der_keys`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPublic {
    /// Derived from the private key, which the crypto library loads (and so checks).
    Derive,
    /// Read from the key file where it stores one (RSA's modulus and exponent; the public
    /// point of an EC key, RFC 5915), derived only where it does not: `audit`'s key match,
    /// which compares public keys and need not load every private key.
    Stored,
}

/// [`parse_with_der`], with the public keys of private keys taken as `public` says.
pub fn parse_with_der_keys(
    bytes: &[u8],
    now: OffsetDateTime,
    public: KeyPublic,
) -> Result<Vec<(Object, Vec<u8>)>, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed("input", "it is empty"));
    }
    let keep = |o: Object, der: Vec<u8>| match o {
        Object::PrivateKey(_) => (o, Vec::new()),
        _ => (o, der),
    };
    if looks_like_pem(bytes) {
        let sections = pem_sections(bytes)?;
        let mut objects = Vec::with_capacity(sections.len());
        for (kind, der) in sections {
            if let Some(o) = section_object(kind, &der, now, public)? {
                objects.push(keep(o, der));
            }
        }
        if objects.is_empty() {
            return Err(malformed(
                "PEM",
                "no certificate, CSR, CRL or key block in it",
            ));
        }
        return Ok(objects);
    }
    // DER: whichever structure parses completely.
    [
        SectionKind::Certificate,
        SectionKind::Csr,
        SectionKind::Crl,
        SectionKind::PrivateKey,
        SectionKind::PublicKey,
    ]
    .into_iter()
    .find_map(|kind| section_object(kind, bytes, now, public).ok().flatten())
    .map(|o| vec![keep(o, bytes.to_vec())])
    .ok_or_else(|| {
        malformed(
            "input",
            "neither PEM nor a DER certificate, CSR, CRL or key",
        )
    })
}

fn section_object(
    kind: SectionKind,
    der: &[u8],
    now: OffsetDateTime,
    public: KeyPublic,
) -> Result<Option<Object>, Error> {
    Ok(Some(match kind {
        SectionKind::Certificate => Object::Certificate(Box::new(certificate_info(der, now)?)),
        SectionKind::Csr => Object::Csr(csr_info(der)?),
        SectionKind::Crl => Object::Crl(crl_info(der)?),
        SectionKind::PublicKey => {
            let (rest, spki) =
                SubjectPublicKeyInfo::from_der(der).map_err(|e| malformed("public key", e))?;
            if !rest.is_empty() {
                return Err(malformed("public key", "trailing bytes"));
            }
            Object::PublicKey(key_info(&spki))
        }
        SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
            let pkcs8 = kind == SectionKind::PrivateKey;
            let stored = match (public, kind) {
                (KeyPublic::Derive, _) => None,
                (KeyPublic::Stored, SectionKind::RsaPrivateKey) => {
                    crate::der::rsa_spki_of_private(der, false)
                }
                (KeyPublic::Stored, SectionKind::EcPrivateKey) => {
                    crate::der::ec_spki_of_private(der, false)
                }
                (KeyPublic::Stored, _) => crate::der::ec_spki_of_private(der, true)
                    .or_else(|| crate::der::rsa_spki_of_private(der, true)),
            };
            let spki = match stored {
                Some(spki) => spki,
                None => match PrivateKey::from_section(kind, der) {
                    Some(Ok(k)) => k.spki_der(),
                    // An RSA key the crypto library refuses (under 2048 bits) is still
                    // described, so that it is reported as weak rather than as unreadable.
                    Some(Err(e)) => crate::der::rsa_spki_of_private(der, pkcs8)
                        .filter(|spki| spki_info(spki).is_ok_and(|k| k.bits < 2048))
                        .ok_or(e)?,
                    None => return Ok(None),
                },
            };
            let format = match kind {
                SectionKind::PrivateKey => "pkcs8",
                SectionKind::RsaPrivateKey => "pkcs1",
                _ => "sec1",
            };
            Object::PrivateKey(PrivateKeyInfo {
                format: format.into(),
                public_key: spki_info(&spki)?,
                matches_certificate: None,
            })
        }
        _ => return Ok(None),
    }))
}

/// Describes DER SubjectPublicKeyInfo bytes.
pub fn spki_info(spki_der: &[u8]) -> Result<KeyInfo, Error> {
    let (_, spki) =
        SubjectPublicKeyInfo::from_der(spki_der).map_err(|e| malformed("public key", e))?;
    Ok(key_info(&spki))
}

fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
    let oid = spki.algorithm.algorithm.to_id_string();
    let parsed = spki.parsed().ok();
    let bits = parsed.as_ref().map_or(0, |k| k.key_size()) as u32;
    let (algorithm, bits, curve) = match (oid.as_str(), parsed) {
        (_, Some(PublicKey::RSA(_))) => ("RSA".to_owned(), bits, None),
        ("1.2.840.10045.2.1", _) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|c| c.to_id_string());
            let (name, size) = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => ("P-256".to_owned(), 256),
                Some("1.3.132.0.34") => ("P-384".to_owned(), 384),
                Some("1.3.132.0.35") => ("P-521".to_owned(), 521),
                Some("1.3.132.0.10") => ("secp256k1".to_owned(), 256),
                Some("1.3.36.3.3.2.8.1.1.7") => ("brainpoolP256r1".to_owned(), 256),
                Some("1.3.36.3.3.2.8.1.1.11") => ("brainpoolP384r1".to_owned(), 384),
                Some("1.3.36.3.3.2.8.1.1.13") => ("brainpoolP512r1".to_owned(), 512),
                other => (other.unwrap_or("unknown").to_owned(), bits),
            };
            ("ECDSA".to_owned(), size, Some(name))
        }
        ("1.3.101.112", _) => ("Ed25519".to_owned(), 256, None),
        ("1.3.101.113", _) => ("Ed448".to_owned(), 456, None),
        ("1.2.840.10040.4.1", _) => ("DSA".to_owned(), bits, None),
        (other, _) => (other.to_owned(), bits, None),
    };
    KeyInfo {
        algorithm,
        bits,
        curve,
        spki_der: spki.raw.to_vec(),
    }
}

use crate::report::rfc3339;

fn sig_name(alg: &AlgorithmIdentifier<'_>) -> String {
    let oid = &alg.algorithm;
    let registry = x509_parser::objects::oid_registry();
    match oid.to_id_string().as_str() {
        // Not in x509-parser's registry; named so that SHA-1 is recognisable.
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1".to_owned(),
        "1.2.840.10040.4.3" => "dsa-with-SHA1".to_owned(),
        id => x509_parser::objects::oid2sn(oid, registry)
            .map(str::to_owned)
            .unwrap_or_else(|_| id.to_owned()),
    }
}

/// The DN in OpenSSL's one-line form, `/CN=x/O=y`, as Puppet writes it into `inventory.txt`.
pub fn slash_dn(name: &X509Name<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let mut out = String::new();
    for attr in name.iter_attributes() {
        let key = x509_parser::objects::oid2abbrev(attr.attr_type(), registry)
            .map(str::to_owned)
            .unwrap_or_else(|_| attr.attr_type().to_id_string());
        let value = attr
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|_| crate::colon_hex(attr.attr_value().data));
        out.push('/');
        out.push_str(&key);
        out.push('=');
        out.push_str(&value);
    }
    out
}

fn general_names(names: &[GeneralName<'_>]) -> (Vec<String>, Vec<String>) {
    let mut all = Vec::new();
    let mut dns = Vec::new();
    for n in names {
        all.push(match n {
            GeneralName::DNSName(d) => {
                dns.push((*d).to_owned());
                format!("DNS:{d}")
            }
            GeneralName::IPAddress(b) => match b.len() {
                4 => format!(
                    "IP:{}",
                    std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())
                ),
                16 => format!(
                    "IP:{}",
                    std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())
                ),
                _ => format!("IP:{}", crate::colon_hex(b)),
            },
            GeneralName::URI(u) => format!("URI:{u}"),
            GeneralName::RFC822Name(e) => format!("email:{e}"),
            GeneralName::DirectoryName(d) => format!("DirName:{d}"),
            other => format!("othername:{other:?}"),
        });
    }
    (all, dns)
}

fn serial_strings(serial: &x509_parser::num_bigint::BigUint) -> (String, String) {
    let mut hex = serial.to_str_radix(16).to_uppercase();
    if hex.len() % 2 == 1 {
        hex.insert(0, '0');
    }
    (hex, serial.to_string())
}

/// The serial number and SubjectPublicKeyInfo (DER) of the first certificate in `bytes` (PEM
/// or DER), without describing the rest: the cheap read the store's serial rule and its
/// key-match checks make of every file in `signed/`. The serial is `None` when it does not
/// fit 64 bits.
pub fn serial_and_spki(bytes: &[u8]) -> Result<(Option<u64>, Vec<u8>), Error> {
    let first = if looks_like_pem(bytes) {
        pem_sections(bytes)?
            .into_iter()
            .find(|(k, _)| *k == SectionKind::Certificate)
            .map(|(_, der)| der)
            .ok_or_else(|| malformed("certificate", "no CERTIFICATE block"))?
    } else {
        bytes.to_vec()
    };
    let (_, cert) = X509Certificate::from_der(&first).map_err(|e| malformed("certificate", e))?;
    let serial = u64::try_from(&cert.tbs_certificate.serial).ok();
    Ok((serial, cert.public_key().raw.to_vec()))
}

/// Describes one DER certificate as of `now`. Trailing bytes are an error.
pub fn certificate_info(der: &[u8], now: OffsetDateTime) -> Result<CertInfo, Error> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| malformed("certificate", e))?;
    if !rest.is_empty() {
        return Err(malformed(
            "certificate",
            "trailing bytes after the certificate",
        ));
    }
    describe_certificate(&cert, der, now)
}

fn describe_certificate(
    cert: &X509Certificate<'_>,
    der: &[u8],
    now: OffsetDateTime,
) -> Result<CertInfo, Error> {
    let bad = |e: x509_parser::error::X509Error| malformed("certificate", e);
    let (all, dns) = match cert.subject_alternative_name().map_err(bad)? {
        Some(san) => general_names(&san.value.general_names),
        None => (Vec::new(), Vec::new()),
    };
    let basic_constraints = cert
        .basic_constraints()
        .map_err(bad)?
        .map(|bc| BasicConstraintsInfo {
            ca: bc.value.ca,
            path_len: bc.value.path_len_constraint,
            critical: bc.critical,
        });
    let mut key_usage = Vec::new();
    if let Some(ku) = cert.key_usage().map_err(bad)? {
        let ku = ku.value;
        for (set, name) in [
            (ku.digital_signature(), "digitalSignature"),
            (ku.non_repudiation(), "nonRepudiation"),
            (ku.key_encipherment(), "keyEncipherment"),
            (ku.data_encipherment(), "dataEncipherment"),
            (ku.key_agreement(), "keyAgreement"),
            (ku.key_cert_sign(), "keyCertSign"),
            (ku.crl_sign(), "cRLSign"),
            (ku.encipher_only(), "encipherOnly"),
            (ku.decipher_only(), "decipherOnly"),
        ] {
            if set {
                key_usage.push(name.to_owned());
            }
        }
    }
    let mut extended_key_usage = Vec::new();
    if let Some(eku) = cert.extended_key_usage().map_err(bad)? {
        let e = eku.value;
        for (set, name) in [
            (e.any, "anyExtendedKeyUsage"),
            (e.server_auth, "serverAuth"),
            (e.client_auth, "clientAuth"),
            (e.code_signing, "codeSigning"),
            (e.email_protection, "emailProtection"),
            (e.time_stamping, "timeStamping"),
            (e.ocsp_signing, "OCSPSigning"),
        ] {
            if set {
                extended_key_usage.push(name.to_owned());
            }
        }
        extended_key_usage.extend(e.other.iter().map(|o| o.to_id_string()));
    }
    let subject_key_id = cert
        .iter_extensions()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        });
    let validity = cert.validity();
    let not_before = validity.not_before.to_datetime();
    let not_after = validity.not_after.to_datetime();
    let (serial_hex, serial_decimal) = serial_strings(&cert.tbs_certificate.serial);
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        subject_oneline: slash_dn(cert.subject()),
        issuer: cert.issuer().to_string(),
        serial_number: crate::Serial::from(&cert.tbs_certificate.serial),
        serial_hex,
        serial_decimal,
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        seconds_left: (not_after - now).whole_seconds(),
        subject_alt_names: all,
        dns_alt_names: dns,
        public_key: key_info(cert.public_key()),
        signature_algorithm: sig_name(&cert.signature_algorithm),
        basic_constraints,
        key_usage,
        extended_key_usage,
        subject_key_identifier: subject_key_id.as_deref().map(crate::colon_hex),
        fingerprint: fingerprint_sha256(der),
        revoked: None,
        subject_key_id,
        spki_der: cert.public_key().raw.to_vec(),
        issuer_raw: cert.issuer().as_raw().to_vec(),
        subject_raw: cert.subject().as_raw().to_vec(),
        not_after_time: Some(not_after),
        not_before_time: Some(not_before),
    })
}

/// What a listing of many certificates shows of each: less than [`CertInfo`] (no
/// fingerprints, names as text or key details), for `list` of a CA of 100,000.
#[derive(Debug, Clone)]
pub struct CertBrief {
    /// Serial number, decimal.
    pub serial_decimal: String,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// Every subjectAltName, prefixed (`DNS:`, `IP:`, ...).
    pub subject_alt_names: Vec<String>,
    /// The DNS subjectAltNames, without prefix.
    pub dns_alt_names: Vec<String>,
}

/// The [`CertBrief`] of the certificate `der`.
pub fn certificate_brief(der: &[u8]) -> Result<CertBrief, Error> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| malformed("certificate", e))?;
    if !rest.is_empty() {
        return Err(malformed(
            "certificate",
            "trailing bytes after the certificate",
        ));
    }
    let (subject_alt_names, dns_alt_names) = match cert
        .subject_alternative_name()
        .map_err(|e| malformed("certificate", e))?
    {
        Some(san) => general_names(&san.value.general_names),
        None => (Vec::new(), Vec::new()),
    };
    let validity = cert.validity();
    Ok(CertBrief {
        serial_decimal: serial_strings(&cert.tbs_certificate.serial).1,
        not_before: validity.not_before.to_datetime(),
        not_after: validity.not_after.to_datetime(),
        subject_alt_names,
        dns_alt_names,
    })
}

/// What `check` reads of each certificate of a CA: less than [`CertInfo`] (no fingerprints,
/// alt names or extensions), for a CA of 100,000.
#[derive(Debug, Clone)]
pub struct CertSummary {
    /// Subject, RFC 4514-ish as `x509-parser` prints it.
    pub subject: String,
    /// Subject in Puppet's one-line form (`/CN=...`).
    pub subject_oneline: String,
    /// Issuer, as `subject`.
    pub issuer: String,
    /// Serial number, upper-case hex, even length.
    pub serial_hex: String,
    /// Serial number, decimal.
    pub serial_decimal: String,
    /// notBefore.
    pub not_before_time: Option<OffsetDateTime>,
    /// notAfter.
    pub not_after_time: Option<OffsetDateTime>,
}

/// The [`CertSummary`] of the certificate `der` and, given `issuer_spki_der`, whether it
/// carries a valid signature by that key: one parse for both.
pub fn certificate_summary_signed_by(
    der: &[u8],
    issuer_spki_der: Option<&[u8]>,
) -> Result<(CertSummary, Option<bool>), Error> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| malformed("certificate", e))?;
    if !rest.is_empty() {
        return Err(malformed(
            "certificate",
            "trailing bytes after the certificate",
        ));
    }
    let (serial_hex, serial_decimal) = serial_strings(&cert.tbs_certificate.serial);
    let validity = cert.validity();
    let summary = CertSummary {
        subject: cert.subject().to_string(),
        subject_oneline: slash_dn(cert.subject()),
        issuer: cert.issuer().to_string(),
        serial_hex,
        serial_decimal,
        not_before_time: Some(validity.not_before.to_datetime()),
        not_after_time: Some(validity.not_after.to_datetime()),
    };
    let signed = match issuer_spki_der {
        None => None,
        Some(spki) => {
            let (_, spki) =
                SubjectPublicKeyInfo::from_der(spki).map_err(|e| malformed("public key", e))?;
            Some(cert.verify_signature(Some(&spki)).is_ok())
        }
    };
    Ok((summary, signed))
}

/// Whether the certificate `der` carries a valid signature by the key in `issuer_spki_der`.
/// `Err` when the certificate does not parse.
pub fn signed_by(der: &[u8], issuer_spki_der: &[u8]) -> Result<bool, Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| malformed("certificate", e))?;
    let (_, spki) =
        SubjectPublicKeyInfo::from_der(issuer_spki_der).map_err(|e| malformed("public key", e))?;
    Ok(cert.verify_signature(Some(&spki)).is_ok())
}

/// The DER of a certificate's issuer and subject names, as they stand in it.
pub fn raw_names(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| malformed("certificate", e))?;
    Ok((
        cert.issuer().as_raw().to_vec(),
        cert.subject().as_raw().to_vec(),
    ))
}

/// Whether the CRL `der` carries a valid signature by the key in `issuer_spki_der`.
pub fn crl_signed_by(der: &[u8], issuer_spki_der: &[u8]) -> Result<bool, Error> {
    let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| malformed("CRL", e))?;
    let (_, spki) =
        SubjectPublicKeyInfo::from_der(issuer_spki_der).map_err(|e| malformed("public key", e))?;
    Ok(crl.verify_signature(&spki).is_ok())
}

/// The CRLs (DER) in PEM text, in order.
pub fn crls(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    Ok(pem_sections(bytes)?
        .into_iter()
        .filter(|(k, _)| *k == SectionKind::Crl)
        .map(|(_, der)| der)
        .collect())
}

fn csr_info(der: &[u8]) -> Result<CsrInfo, Error> {
    let (rest, csr) = X509CertificationRequest::from_der(der).map_err(|e| malformed("CSR", e))?;
    if !rest.is_empty() {
        return Err(malformed("CSR", "trailing bytes after the request"));
    }
    let mut requested_extensions = Vec::new();
    let (mut all, mut dns) = (Vec::new(), Vec::new());
    if let Some(exts) = csr.requested_extensions() {
        for ext in exts {
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                (all, dns) = general_names(&san.general_names);
            }
        }
    }
    for attr in csr.certification_request_info.iter_attributes() {
        if let x509_parser::cri_attributes::ParsedCriAttribute::ExtensionRequest(req) =
            attr.parsed_attribute()
        {
            requested_extensions.extend(req.extensions.iter().map(|e| e.oid.to_id_string()));
        }
    }
    let info = &csr.certification_request_info;
    Ok(CsrInfo {
        subject: info.subject.to_string(),
        subject_alt_names: all,
        dns_alt_names: dns,
        public_key: key_info(&info.subject_pki),
        signature_algorithm: sig_name(&csr.signature_algorithm),
        signature_valid: csr.verify_signature().is_ok(),
        requested_extensions,
        fingerprint: fingerprint_sha256(der),
        der: der.to_vec(),
    })
}

/// Describes one DER CRL. Trailing bytes are an error.
pub fn crl_info(der: &[u8]) -> Result<CrlInfo, Error> {
    let (rest, crl) = CertificateRevocationList::from_der(der).map_err(|e| malformed("CRL", e))?;
    if !rest.is_empty() {
        return Err(malformed("CRL", "trailing bytes after the CRL"));
    }
    let revoked = crl
        .iter_revoked_certificates()
        .map(|r| {
            let (serial_hex, serial_decimal) = serial_strings(r.serial());
            RevokedInfo {
                serial_number: crate::Serial::from(r.serial()),
                serial_hex,
                serial_decimal,
                revoked_at: rfc3339(r.revocation_date.to_datetime()),
                reason: r.reason_code().map(|(_, code)| crate::reason_name(code.0)),
                reason_code: r.reason_code().map(|(_, code)| code.0),
                revoked_at_time: Some(r.revocation_date.to_datetime()),
            }
        })
        .collect();
    Ok(CrlInfo {
        issuer: crl.issuer().to_string(),
        this_update: rfc3339(crl.last_update().to_datetime()),
        next_update: crl.next_update().map(|t| rfc3339(t.to_datetime())),
        crl_number: crl.crl_number().map(ToString::to_string),
        signature_algorithm: sig_name(&crl.signature_algorithm),
        revoked,
        next_update_time: crl.next_update().map(|t| t.to_datetime()),
    })
}

/// Puppet's `pp_cli_auth` extension (`1.3.6.1.4.1.34380.1.3.39`), which marks a CA admin.
pub const PP_CLI_AUTH: &str = "1.3.6.1.4.1.34380.1.3.39";

/// Who a client certificate names, as the CA server's authorization sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The subject's common name.
    pub name: Option<String>,
    /// It carries `pp_cli_auth` with the value "true" (what Puppet's default auth.conf asks
    /// of an admin).
    pub cli_auth: bool,
    /// The serial as [`RevokedInfo::serial_hex`] writes it, to match against a CRL.
    pub serial_hex: String,
}

/// Reads a client certificate's [`ClientIdentity`].
pub fn client_identity(der: &[u8]) -> Result<ClientIdentity, Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| malformed("certificate", e))?;
    let name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned);
    let cli_auth = cert.extensions().iter().any(|e| {
        e.oid.to_id_string() == PP_CLI_AUTH && {
            // A DER string (UTF8String, or another string type) holding "true".
            let v = e.value;
            v.len() >= 2 && &v[2..] == b"true"
        }
    });
    Ok(ClientIdentity {
        name,
        cli_auth,
        serial_hex: serial_strings(&cert.serial).0,
    })
}

#[cfg(test)]
mod fast_pem_tests {
    use super::{certificates, one_certificate_block, pem_sections};

    /// A certificate as Puppet Server wrote it into `signed/`.
    const PUPPET: &str =
        include_str!("../../../fixtures/puppetserver/ca/signed/admin.example.net.pem");

    fn slow(pem: &[u8]) -> Vec<Vec<u8>> {
        pem_sections(pem)
            .unwrap()
            .into_iter()
            .map(|(_, der)| der)
            .collect()
    }

    #[test]
    fn the_fast_decoder_reads_what_the_constant_time_one_reads() {
        let pem = PUPPET.as_bytes();
        assert_eq!(one_certificate_block(pem), Some(slow(pem).remove(0)));
        let crlf = PUPPET.replace('\n', "\r\n");
        assert_eq!(
            one_certificate_block(crlf.as_bytes()),
            Some(slow(pem).remove(0))
        );
        let no_newline = PUPPET.trim_end();
        assert_eq!(
            one_certificate_block(no_newline.as_bytes()),
            Some(slow(pem).remove(0))
        );
    }

    #[test]
    fn anything_but_one_plain_block_is_left_to_the_full_reader() {
        let two = format!("{PUPPET}{PUPPET}");
        let junk_after = format!("{PUPPET}junk\n");
        let text_before = format!("Certificate:\n{PUPPET}");
        let space = PUPPET.replacen('\n', " \n", 2);
        let key = PUPPET.replace("CERTIFICATE", "PRIVATE KEY");
        // Non-canonical base64: a padded last group whose unused bits are set ('O' is 001110).
        assert!(PUPPET.contains("WiOQ\n-----END"));
        let bits = PUPPET
            .replace("WiOQ\n-----END", "WiO=\n-----END")
            .into_bytes();
        for case in [
            two.as_bytes(),
            junk_after.as_bytes(),
            text_before.as_bytes(),
            space.as_bytes(),
            key.as_bytes(),
            &bits,
        ] {
            assert_eq!(
                one_certificate_block(case),
                None,
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        // ...and `certificates` reads them as before.
        assert_eq!(certificates(two.as_bytes()).unwrap().len(), 2);
        assert_eq!(
            certificates(junk_after.as_bytes()).unwrap(),
            slow(PUPPET.as_bytes())
        );
    }
}
