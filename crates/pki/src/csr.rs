//! Certificate signing requests and the signing policy.
//!
//! Policy (DESIGN.md, "CSR policy"): the CSR's signature must verify; alt names beyond
//! `DNS:<certname>` are refused unless an allowed pattern matches them; wildcard alt names,
//! `CA:TRUE`, Puppet's authorization extensions (`1.3.6.1.4.1.34380.1.3.*`, `pp_cli_auth`
//! among them) and unknown extensions are refused; Puppet's `pp_*` extensions under
//! `.34380.1.1.*` (ppRegCertExt) and `.34380.1.2.*` (ppPrivCertExt) are copied into the
//! certificate, as Puppet Server does (`certificate_authority.clj`, `validate-extensions!`).
//! Extensions are read from the one extensionRequest attribute, whose one value holds them
//! all; a CSR that asks for extensions anywhere else (a msExtReq attribute, a second
//! extensionRequest attribute or value) is refused, so nothing asked for goes unseen.

use std::net::IpAddr;

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::inspect::looks_like_pem;
use crate::{AltName, CertName, Error};

const PP_REG: &str = "1.3.6.1.4.1.34380.1.1.";
/// Microsoft's extension request attribute.
const MS_EXT_REQ: &str = "1.3.6.1.4.1.311.2.1.14";

/// Whether an attribute's value, a DER `SET` as x509-parser keeps it (the header and the first
/// value it parsed), holds that one value and nothing more.
fn one_set_value(value: &[u8]) -> bool {
    let Some((&0x31, rest)) = value.split_first() else {
        return false;
    };
    let Some((&first, rest)) = rest.split_first() else {
        return false;
    };
    let (declared, content) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return false;
        }
        let (len, content) = rest.split_at(n);
        (
            len.iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            content,
        )
    };
    declared == content.len()
}
const PP_PRIV: &str = "1.3.6.1.4.1.34380.1.2.";
const PP_AUTH: &str = "1.3.6.1.4.1.34380.1.3.";

/// An extension to copy from the request into the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedExtension {
    /// OID arcs.
    pub oid: Vec<u64>,
    /// Critical flag.
    pub critical: bool,
    /// The extension value (DER).
    pub value: Vec<u8>,
}

/// A parsed CSR whose signature verified.
#[derive(Debug, Clone)]
pub struct CertRequest {
    /// The subject's common name.
    pub common_name: Option<String>,
    /// Requested alt names (DNS and IP).
    pub alt_names: Vec<AltName>,
    /// Puppet `pp_*` extensions to copy.
    pub copied: Vec<CopiedExtension>,
    /// What policy must refuse whatever the allow-list says (CA:TRUE, authorization or unknown
    /// extensions, unsupported alt name types), one reason each.
    pub refusals: Vec<String>,
    /// SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    /// The request as PEM.
    pub pem: String,
    /// It asks for `pp_cli_auth` (CA admin rights): never autosigned, refused by the policy.
    pub asks_cli_auth: bool,
}

fn bad(reason: impl ToString) -> Error {
    Error::Malformed {
        what: "certificate request",
        reason: reason.to_string(),
    }
}

impl CertRequest {
    /// Parses one CSR (PEM or DER) and verifies its self-signature.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let der = if looks_like_pem(bytes) {
            one_pem_block(bytes)?;
            use rustls_pki_types::pem::PemObject;
            rustls_pki_types::CertificateSigningRequestDer::from_pem_slice(bytes)
                .map_err(|e| bad(format!("no CERTIFICATE REQUEST block ({e})")))?
                .as_ref()
                .to_vec()
        } else {
            bytes.to_vec()
        };
        let (rest, csr) = X509CertificationRequest::from_der(&der).map_err(bad)?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the request"));
        }
        let info = &csr.certification_request_info;
        supported_key(info.subject_pki.raw)?;
        // Under the fuzzer (cargo-fuzz's --cfg fuzzing) a mutated request still reaches the
        // policy below instead of stopping at its broken signature.
        if !cfg!(fuzzing) {
            csr.verify_signature()
                .map_err(|_| bad("its signature does not verify"))?;
        }
        let common_name = info
            .subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned);
        let mut alt_names = Vec::new();
        let mut copied = Vec::new();
        let mut refusals = Vec::new();
        let mut asks_cli_auth = false;
        let mut seen = std::collections::HashSet::new();
        let mut requests = 0;
        for attr in info.iter_attributes() {
            let oid = attr.oid.to_id_string();
            if oid == MS_EXT_REQ {
                // Extensions asked for where clusterca does not read them (Puppet reads
                // msExtReq too): refused, so nothing asked for goes unseen.
                refusals.push(format!(
                    "it asks for extensions in a msExtReq attribute ({MS_EXT_REQ}), which is not accepted"
                ));
                continue;
            }
            let x509_parser::cri_attributes::ParsedCriAttribute::ExtensionRequest(req) =
                attr.parsed_attribute()
            else {
                continue;
            };
            requests += 1;
            if requests > 1 || !one_set_value(attr.value) {
                refusals
                    .push("it asks for extensions in more than one extensionRequest value".into());
            }
            for ext in &req.extensions {
                let oid = ext.oid.to_id_string();
                // RFC 5280 4.2: an extension appears at most once (Python's cryptography
                // refuses to load a certificate with one twice).
                if !seen.insert(oid.clone()) {
                    refusals.push(format!("extension {oid} appears twice"));
                    continue;
                }
                match ext.parsed_extension() {
                    ParsedExtension::SubjectAlternativeName(san) => {
                        for n in &san.general_names {
                            match n {
                                GeneralName::DNSName(d) => match d.parse::<AltName>() {
                                    Ok(a) => alt_names.push(a),
                                    Err(e) => refusals.push(e.to_string()),
                                },
                                GeneralName::IPAddress(b) => match ip(b) {
                                    Some(a) => alt_names.push(AltName::Ip(a)),
                                    None => refusals.push("a malformed IP alt name".into()),
                                },
                                other => refusals.push(format!(
                                    "alt name {} is not DNS or IP",
                                    crate::quote(&format!("{other:?}"))
                                )),
                            }
                        }
                    }
                    ParsedExtension::BasicConstraints(bc) if bc.ca => {
                        refusals.push("it asks for CA:TRUE".into());
                    }
                    // Our profile sets these itself; what the request says is ignored.
                    ParsedExtension::BasicConstraints(_)
                    | ParsedExtension::KeyUsage(_)
                    | ParsedExtension::ExtendedKeyUsage(_)
                    | ParsedExtension::SubjectKeyIdentifier(_) => {}
                    _ if oid.starts_with(PP_AUTH) => {
                        let cli_auth = oid == crate::inspect::PP_CLI_AUTH;
                        asks_cli_auth |= cli_auth;
                        refusals.push(format!(
                            "authorization extension {oid}{} is not accepted from a request",
                            if cli_auth { " (pp_cli_auth)" } else { "" }
                        ));
                    }
                    // Copied as asked, a critical one would make OpenSSL (and Puppet's agent)
                    // reject the certificate, which no one knows how to process: refused.
                    _ if (oid.starts_with(PP_REG) || oid.starts_with(PP_PRIV)) && ext.critical => {
                        refusals.push(format!(
                            "extension {oid} is marked critical (pp_* extensions are accepted only as non-critical)"
                        ));
                    }
                    _ if oid.starts_with(PP_REG) || oid.starts_with(PP_PRIV) => {
                        copied.push(CopiedExtension {
                            oid: ext
                                .oid
                                .iter()
                                .map(|arcs| arcs.collect())
                                .unwrap_or_default(),
                            critical: ext.critical,
                            value: ext.value.to_vec(),
                        });
                    }
                    _ => refusals.push(format!("extension {oid} is not allowed")),
                }
            }
        }
        Ok(CertRequest {
            common_name,
            alt_names,
            copied,
            refusals,
            spki_der: info.subject_pki.raw.to_vec(),
            pem: crate::pem_encode("CERTIFICATE REQUEST", &der),
            asks_cli_auth,
        })
    }
}

/// Refuses PEM text that is not exactly one block with nothing but whitespace around it (two
/// requests in one file, or junk after one, would otherwise be accepted silently).
fn one_pem_block(bytes: &[u8]) -> Result<(), Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("PEM that is not text"))?;
    let blocks = text.matches("-----BEGIN ").count();
    if blocks != 1 {
        return Err(bad(format!(
            "{blocks} PEM blocks; one file holds exactly one CERTIFICATE REQUEST"
        )));
    }
    let (before, block) = text.split_once("-----BEGIN ").unwrap_or_default();
    let after = block
        .split_once("-----END ")
        .and_then(|(_, end)| end.split_once("-----"))
        .map_or("", |(_, rest)| rest);
    if !before.trim().is_empty() || !after.trim().is_empty() {
        return Err(bad(
            "text around the CERTIFICATE REQUEST block; a request file holds only the block",
        ));
    }
    Ok(())
}

/// Refuses a request whose key clusterca does not sign for, naming it.
fn supported_key(spki_der: &[u8]) -> Result<(), Error> {
    let key = crate::inspect::spki_info(spki_der)?;
    let (ok, name) = match (key.algorithm.as_str(), key.curve.as_deref()) {
        ("RSA", _) => (
            (2048..=8192).contains(&key.bits),
            format!("RSA-{}", key.bits),
        ),
        ("ECDSA", Some(c @ ("P-256" | "P-384"))) => (true, c.to_owned()),
        ("ECDSA", Some(c)) => (false, c.to_owned()),
        ("Ed25519", _) => (true, "Ed25519".to_owned()),
        (other, _) => (false, other.to_owned()),
    };
    if !ok {
        return Err(bad(format!(
            "its key is {name}; supported: RSA 2048 to 8192 bits, ECDSA P-256 or P-384, Ed25519"
        )));
    }
    // The key must also be in the form a certificate carries it in (what signing will do
    // with it): not, say, Ed25519 with parameters or RSA without its NULL. Refused here, a
    // request whose key cannot be signed never reaches a batch.
    rcgen::SubjectPublicKeyInfo::from_der(spki_der).map_err(|e| {
        bad(format!(
            "its {name} key is not encoded as certificates carry it ({e}); its algorithm parameters are wrong"
        ))
    })?;
    Ok(())
}

impl CertRequest {
    /// Refuses a request whose CN is not `name`, in the words of Puppet's
    /// `PUT certificate_request` ("Instance name ... does not match requested key ...").
    pub fn check_name(&self, name: &CertName) -> Result<(), Error> {
        match &self.common_name {
            Some(cn) if cn == name.as_str() => Ok(()),
            cn => Err(Error::NameMismatch {
                instance: cn.clone().unwrap_or_default(),
                key: name.to_string(),
            }),
        }
    }
}

fn ip(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Which alt names beyond `DNS:<certname>` may be signed: exact names (`smartproxy.example.net`),
/// domain patterns (`*.example.net`, any name under the domain) and addresses (`IP:192.0.2.10`).
#[derive(Debug, Clone, Default)]
pub struct AltNamePolicy {
    patterns: Vec<String>,
}

impl AltNamePolicy {
    /// A policy allowing `patterns` (lowercased; `DNS:` prefixes dropped).
    pub fn new(patterns: impl IntoIterator<Item = String>) -> Self {
        AltNamePolicy {
            patterns: patterns
                .into_iter()
                .map(|p| {
                    let p = p.trim().to_ascii_lowercase();
                    p.strip_prefix("dns:").map(str::to_owned).unwrap_or(p)
                })
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }

    fn allows(&self, name: &AltName) -> bool {
        self.patterns.iter().any(|p| match name {
            AltName::Ip(ip) => p
                .strip_prefix("ip:")
                .is_some_and(|a| a.parse::<IpAddr>().ok() == Some(*ip)),
            AltName::Dns(d) => match p.strip_prefix("*.") {
                Some(domain) => {
                    d.len() > domain.len() + 1
                        && d.ends_with(domain)
                        && d[..d.len() - domain.len()].ends_with('.')
                }
                None => p == d,
            },
        })
    }

    /// Checks `req` filed under `name`: the whole policy of the module documentation.
    /// The error names the offending alt name, extension or mismatch.
    pub fn check(&self, name: &CertName, req: &CertRequest) -> Result<(), Error> {
        let refuse = |reason: String| Error::Refused {
            name: name.to_string(),
            reason,
        };
        req.check_name(name)?;
        if let Some(r) = req.refusals.first() {
            return Err(refuse(r.clone()));
        }
        let own = AltName::from_certname(name);
        for alt in &req.alt_names {
            if *alt == own {
                continue;
            }
            if alt.is_wildcard() {
                return Err(refuse(format!("wildcard alt name {alt} is not signed")));
            }
            if !self.allows(alt) {
                return Err(refuse(format!(
                    "alt name {alt} is not among the alt names this CA allows"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exact_names_domains_and_addresses() {
        let p = AltNamePolicy::new(
            [
                "DNS:SmartProxy.example.net",
                "*.pool.example.net",
                "IP:192.0.2.10",
            ]
            .map(String::from),
        );
        let a = |s: &str| s.parse::<AltName>().unwrap();
        assert!(p.allows(&a("smartproxy.example.net")));
        assert!(p.allows(&a("web1.pool.example.net")));
        assert!(p.allows(&a("a.b.pool.example.net")));
        assert!(p.allows(&a("IP:192.0.2.10")));
        assert!(!p.allows(&a("pool.example.net")));
        assert!(!p.allows(&a("evilpool.example.net")));
        assert!(!p.allows(&a("other.example.net")));
        assert!(!p.allows(&a("IP:192.0.2.11")));
    }
}
