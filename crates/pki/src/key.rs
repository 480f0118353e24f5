//! Private keys: generation (ECDSA P-256/P-384, Ed25519, RSA 2048/3072/4096) and loading of every form Puppet
//! and OpenSSL write (PKCS#8, PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`; PEM or DER).

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, PublicKeyData};
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::der::{pkcs8_wrap, OID_EC_PUBLIC_KEY, OID_P256, OID_P384, OID_RSA_ENCRYPTION};
use crate::Error;

/// The kind of key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on NIST P-256 with SHA-256 (the default).
    EcP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcP384,
    /// Ed25519.
    Ed25519,
    /// RSA, 2048 bits.
    Rsa2048,
    /// RSA, 3072 bits.
    Rsa3072,
    /// RSA, 4096 bits: Puppet's default, the one key type Puppet Server can sign with.
    Rsa4096,
}

impl KeyType {
    /// The names accepted by `FromStr`, in the order `--help` lists them.
    pub const NAMES: &'static [&'static str] = &[
        "ec-p256", "ec-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096",
    ];

    /// The type of a key like `info` (what `renew --rekey` makes by default), when clusterca
    /// can make one (not RSA of another size).
    pub fn like(info: &crate::inspect::KeyInfo) -> Option<KeyType> {
        match (info.algorithm.as_str(), info.curve.as_deref(), info.bits) {
            ("ECDSA", Some("P-256"), _) => Some(KeyType::EcP256),
            ("ECDSA", Some("P-384"), _) => Some(KeyType::EcP384),
            ("Ed25519", _, _) => Some(KeyType::Ed25519),
            ("RSA", _, 2048) => Some(KeyType::Rsa2048),
            ("RSA", _, 3072) => Some(KeyType::Rsa3072),
            ("RSA", _, 4096) => Some(KeyType::Rsa4096),
            _ => None,
        }
    }

    /// True for the RSA types.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    fn generate(self) -> Result<KeyPair, rcgen::Error> {
        fn rsa(size: rcgen::RsaKeySize) -> Result<KeyPair, rcgen::Error> {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size)
        }
        let alg = match self {
            KeyType::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
            KeyType::Rsa2048 => return rsa(rcgen::RsaKeySize::_2048),
            KeyType::Rsa3072 => return rsa(rcgen::RsaKeySize::_3072),
            KeyType::Rsa4096 => return rsa(rcgen::RsaKeySize::_4096),
        };
        KeyPair::generate_for(alg)
    }
}

impl FromStr for KeyType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "ec-p256" => Ok(KeyType::EcP256),
            "ec-p384" => Ok(KeyType::EcP384),
            "ed25519" => Ok(KeyType::Ed25519),
            "rsa-2048" => Ok(KeyType::Rsa2048),
            "rsa-3072" => Ok(KeyType::Rsa3072),
            "rsa-4096" => Ok(KeyType::Rsa4096),
            _ => Err(Error::UnsupportedKey {
                reason: format!("unknown key type {s:?} (use {})", Self::NAMES.join(", ")),
            }),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::EcP256 => "ec-p256",
            KeyType::EcP384 => "ec-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        })
    }
}

/// A private key usable for signing. Its `Debug` never shows the secret.
pub struct PrivateKey {
    pub(crate) pair: KeyPair,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.pair.algorithm())
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// A fresh key of `kind` from the system's random source.
    pub fn generate(kind: KeyType) -> Result<Self, Error> {
        kind.generate()
            .map(|pair| PrivateKey { pair })
            .map_err(Error::signing)
    }

    /// The first private key in PEM text, or DER bytes of PKCS#8, PKCS#1 or SEC1.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if crate::inspect::looks_like_pem(bytes) {
            for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
                let (kind, der) = section.map_err(|e| Error::Malformed {
                    what: "PEM",
                    reason: e.to_string(),
                })?;
                if let Some(key) = Self::from_section(kind, &der) {
                    return key;
                }
            }
            return Err(Error::Malformed {
                what: "private key",
                reason: "no PRIVATE KEY block in the PEM".into(),
            });
        }
        Self::from_der(bytes)
    }

    /// A key from DER bytes, trying PKCS#8, then PKCS#1, then SEC1.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        [
            SectionKind::PrivateKey,
            SectionKind::RsaPrivateKey,
            SectionKind::EcPrivateKey,
        ]
        .into_iter()
        .find_map(|kind| Self::from_section(kind, der).and_then(Result::ok))
        .ok_or_else(|| Error::Malformed {
            what: "private key",
            reason: "not a PKCS#8, PKCS#1 or SEC1 key of a supported algorithm".into(),
        })
    }

    /// A key from one PEM section; `None` when the section is not a private key.
    pub(crate) fn from_section(kind: SectionKind, der: &[u8]) -> Option<Result<Self, Error>> {
        // ring loads PKCS#8 only: wrap the other forms (RFC 5208 section 5).
        let candidates = match kind {
            SectionKind::PrivateKey => vec![der.to_vec()],
            SectionKind::RsaPrivateKey => {
                let alg = [OID_RSA_ENCRYPTION, &[0x05, 0x00]].concat();
                vec![pkcs8_wrap(&alg, der)]
            }
            SectionKind::EcPrivateKey => [OID_P256, OID_P384]
                .iter()
                .map(|curve| pkcs8_wrap(&[OID_EC_PUBLIC_KEY, curve].concat(), der))
                .collect(),
            _ => return None,
        };
        let loaded = candidates.into_iter().find_map(|pkcs8| {
            let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8));
            KeyPair::try_from(&der).ok()
        });
        Some(loaded.map(|pair| PrivateKey { pair }).ok_or_else(|| {
            Error::Malformed {
                what: "private key",
                reason: "unsupported algorithm or corrupt key (supported: ECDSA P-256/P-384, Ed25519, RSA 2048-8192)".into(),
            }
        }))
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pem(&self) -> String {
        pkcs8_pem(&self.pair)
    }

    /// The public key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> String {
        self.pair.public_key_pem()
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        self.pair.subject_public_key_info()
    }

    /// True for an RSA key (leaf certificates for RSA keys also get keyEncipherment).
    pub fn is_rsa(&self) -> bool {
        self.pair.algorithm() == &rcgen::PKCS_RSA_SHA256
    }

    pub(crate) fn pair(&self) -> &KeyPair {
        &self.pair
    }
}

/// ring writes Ed25519 keys as PKCS#8 v2 (RFC 5958, with the public key), which OpenSSL
/// 3.0 refuses to load ("unsupported"); the v1 form (RFC 8410 section 7) is read everywhere.
/// After the outer SEQUENCE header: version 1, id-Ed25519, and the seed's two headers.
const ED25519_V2_BODY: [u8; 14] = [
    0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
const ED25519_V1_PREFIX: [u8; 16] = [
    0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A key pair as PKCS#8 PEM, Ed25519 in the v1 form every TLS stack reads.
pub(crate) fn pkcs8_pem(pair: &KeyPair) -> String {
    let der = pair.serialized_der();
    match der
        .get(2..)
        .and_then(|d| d.strip_prefix(&ED25519_V2_BODY[..]))
    {
        Some(rest) if der[0] == 0x30 && rest.len() >= 32 => {
            let v1 = [&ED25519_V1_PREFIX[..], &rest[..32]].concat();
            pem_encode("PRIVATE KEY", &v1)
        }
        _ => pair.serialize_pem(),
    }
}

/// PEM armour around DER (RFC 7468): base64 in 64-column lines.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_through_pem() {
        for kind in [KeyType::EcP256, KeyType::EcP384, KeyType::Ed25519] {
            let key = PrivateKey::generate(kind).unwrap();
            let back = PrivateKey::from_bytes(key.to_pem().as_bytes()).unwrap();
            assert_eq!(key.spki_der(), back.spki_der(), "{kind}");
            assert!(!format!("{key:?}").contains("PRIVATE"));
        }
    }

    #[test]
    fn ed25519_keys_are_written_as_pkcs8_v1() {
        let key = PrivateKey::generate(KeyType::Ed25519).unwrap();
        let pem = key.to_pem();
        let der: Vec<u8> = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .secret_pkcs8_der()
            .to_vec();
        assert_eq!(der.len(), 48);
        assert_eq!(der[..16], ED25519_V1_PREFIX);
        assert_eq!(
            PrivateKey::from_bytes(pem.as_bytes()).unwrap().spki_der(),
            key.spki_der()
        );
    }

    #[test]
    fn pem_encoding_matches_base64_padding_rules() {
        assert_eq!(
            pem_encode("X", b"ab"),
            "-----BEGIN X-----\nYWI=\n-----END X-----\n"
        );
        assert_eq!(
            pem_encode("X", b"abc"),
            "-----BEGIN X-----\nYWJj\n-----END X-----\n"
        );
        assert_eq!(
            pem_encode("X", b"a"),
            "-----BEGIN X-----\nYQ==\n-----END X-----\n"
        );
    }

    #[test]
    fn every_named_type_generates_a_key_that_loads_back() {
        for name in KeyType::NAMES {
            let kind: KeyType = name.parse().unwrap();
            assert_eq!(kind.to_string(), *name);
            let key = PrivateKey::generate(kind).unwrap();
            assert_eq!(key.is_rsa(), kind.is_rsa(), "{name}");
            let again = PrivateKey::from_bytes(key.to_pem().as_bytes()).unwrap();
            assert_eq!(again.spki_der(), key.spki_der(), "{name}");
        }
        let err = "rsa4096".parse::<KeyType>().unwrap_err().to_string();
        assert!(err.contains("unknown key type"), "{err}");
    }
}
