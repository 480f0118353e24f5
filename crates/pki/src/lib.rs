//! clusterca-pki: the certificate side of clusterca.
//!
//! Validated names ([`CertName`], [`AltName`], [`AltNames`]), keys ([`PrivateKey`],
//! [`KeyType`]), lifetimes ([`Ttl`]), the issuing authority ([`CertificateAuthority`]) and
//! inspection of certificates, CSRs, CRLs and keys ([`inspect`]). This crate knows nothing of
//! files or the network: it turns bytes into validated values and values into DER/PEM.
#![deny(missing_docs)]

mod ca;
mod csr;
mod der;
mod error;
mod finding;
pub mod inspect;
mod key;
mod name;
mod reason;
mod reissue;
mod report;
mod ttl;

pub use ca::{
    valid_until, CaSpec, CertificateAuthority, ChainSpec, CrlEntry, CrlSpec, IssuedCert, LeafSpec,
    NewChain,
};
pub use csr::{AltNamePolicy, CertRequest, CopiedExtension};
pub use error::Error;
pub use finding::{Finding, Rule, Severity};
pub use key::{pem_encode, KeyType, PrivateKey};
pub use name::{AltName, AltNames, CertName};
pub use reason::{reason_name, Reason};
pub use reissue::Renewal;
pub use report::{rfc3339, Serial, Timestamp};
pub use ttl::Ttl;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The Unicode bidirectional formatting characters (embeddings, overrides, isolates and the
/// two marks): printed raw they reorder the rest of a line (`U+202E` makes `txt.exe` look like
/// `exe.txt`), so every message and listing escapes them like control characters.
pub fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// Quotes untrusted text for an error message: escaped like a Rust string (control and
/// bidirectional characters included) and cut to at most 80 bytes of content.
pub fn quote(text: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::from("\"");
    let mut cut = false;
    for c in text.chars() {
        let escaped: String = match c {
            c if is_bidi(c) || c == '\u{2028}' || c == '\u{2029}' => {
                format!("\\u{{{:x}}}", c as u32)
            }
            c => c.escape_debug().collect(),
        };
        if out.len() - 1 + escaped.len() > MAX {
            cut = true;
            break;
        }
        out.push_str(&escaped);
    }
    out.push('"');
    if cut {
        out.push_str("...");
    }
    out
}

/// A character that must not reach a terminal or a log raw: a control character (C0, DEL,
/// and the C1 set, `U+009B` being a one-byte CSI), a bidirectional formatting character, or a
/// line or paragraph separator (`U+2028`, `U+2029`).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || is_bidi(c) || c == '\u{2028}' || c == '\u{2029}'
}

/// JSON text with every [`is_unsafe_char`] that serde_json leaves raw (the C1 controls, the
/// bidirectional characters, the line separators) written as a `\uXXXX` escape: the same
/// JSON value, but one that cannot rewrite a terminal line when printed or logged.
pub fn json_escape_bidi(json: String) -> String {
    if !json.chars().any(is_unsafe_char) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        // C0 controls are escaped by serde_json already (and cannot be raw in valid JSON).
        if is_unsafe_char(c) && u32::from(c) >= 0x20 {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// SHA-256 fingerprint of DER bytes in Puppet's form: uppercase hex pairs joined by colons.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    colon_hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der).as_ref())
}

/// SHA-1, SHA-256 and SHA-512 fingerprints of DER bytes, colon hex (Puppet's
/// `fingerprints` object). SHA-1 here identifies, it does not secure.
pub fn fingerprints(der: &[u8]) -> [String; 3] {
    use aws_lc_rs::digest::{digest, SHA1_FOR_LEGACY_USE_ONLY, SHA256, SHA512};
    [&SHA1_FOR_LEGACY_USE_ONLY, &SHA256, &SHA512].map(|alg| colon_hex(digest(alg, der).as_ref()))
}

/// `bytes` random bytes from the system's source, as lowercase hex (Puppet's root CA names
/// carry 7 of them: `Puppet Root CA: 5f2a...`).
pub fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| Error::Signing {
        reason: "the system's random source failed".into(),
    })?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Uppercase hex pairs joined by colons (`AB:CD:01`).
pub fn colon_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        // A nibble indexes the 16 digits: in range.
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether the cryptography runs in AWS-LC's FIPS module (a build with the `fips` feature).
pub fn fips_mode() -> bool {
    aws_lc_rs::try_fips_mode().is_ok()
}

#[cfg(test)]
mod provider_tests {
    /// The `fips` feature puts every operation in AWS-LC's FIPS module, self-tests passed;
    /// the default build does not.
    #[test]
    fn fips_mode_is_the_feature() {
        assert_eq!(super::fips_mode(), cfg!(feature = "fips"));
        // And it still signs: a CA and a leaf (RSA, which FIPS keeps).
        let key = crate::PrivateKey::generate(crate::KeyType::Rsa2048).unwrap();
        let ca = crate::CertificateAuthority::create(
            &crate::CaSpec {
                common_name: "FIPS CA".into(),
                ttl: crate::Ttl::from_secs(86_400),
            },
            key,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        let spec = crate::LeafSpec::new(
            "a.example.net".parse().unwrap(),
            [],
            crate::Ttl::from_secs(3_600),
        );
        let leaf_key = crate::PrivateKey::generate(crate::KeyType::EcP256).unwrap();
        let leaf = ca
            .issue(&spec, &leaf_key, 2, time::OffsetDateTime::now_utc())
            .unwrap();
        assert!(crate::inspect::signed_by(&leaf.der, &ca.spki_der()).unwrap());
    }
}
