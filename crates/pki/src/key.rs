//! Private keys: generation (ECDSA P-256/P-384, Ed25519) and loading of every form Puppet
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
}

impl KeyType {
    /// The names accepted by `FromStr`, in the order `--help` lists them.
    pub const NAMES: &'static [&'static str] = &["ec-p256", "ec-p384", "ed25519"];

    fn algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyType::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

impl FromStr for KeyType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "ec-p256" => Ok(KeyType::EcP256),
            "ec-p384" => Ok(KeyType::EcP384),
            "ed25519" => Ok(KeyType::Ed25519),
            s if s.starts_with("rsa") => Err(Error::UnsupportedKey {
                reason: format!(
                    "generating {s} keys needs the `rsa-keygen` build feature; use ec-p256, ec-p384 or ed25519"
                ),
            }),
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
        KeyPair::generate_for(kind.algorithm())
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
        self.pair.serialize_pem()
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
    fn rsa_generation_names_the_feature() {
        let err = "rsa-4096".parse::<KeyType>().unwrap_err().to_string();
        assert!(err.contains("rsa-keygen"), "{err}");
    }
}
